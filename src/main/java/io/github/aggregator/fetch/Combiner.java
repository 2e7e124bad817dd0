package io.github.aggregator.fetch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Builds a combined source's data, {@code {"part-a": <data>, "part-b": <data>}}, from the latest snapshots of its
 * parts, then applies its transform. There is no combination until every part has been fetched once: a service that
 * just started does not serve (or warn about) a combination missing a part that is merely slower to answer. A part
 * whose fetches have all failed so far appears as {@code null}. The result is stale (a {@link FetchResult.Partial})
 * while any part is stale.
 */
public final class Combiner {
    private Combiner() {}

    /**
     * @param combined a combined source
     * @param latest the latest snapshot of a source id
     * @return the combination, or empty while a part has not been fetched yet or no part has data
     */
    public static Optional<FetchResult> combine(SourceConfig combined, Function<String, Optional<Snapshot>> latest) {
        ObjectNode data = Json.MAPPER.createObjectNode();
        List<String> problems = new ArrayList<>();
        boolean any = false;
        for (String part : combined.combine()) {
            Optional<Snapshot> s = latest.apply(part);
            if (s.isEmpty()) {
                return Optional.empty(); // its first fetch is still to come
            }
            if (s.get().hasData()) {
                any = true;
                data.set(part, s.get().data());
            } else {
                data.putNull(part);
            }
            if (s.get().stale()) {
                problems.add(part + ": "
                        + (s.get().error() == null ? "stale" : s.get().error()));
            }
        }
        if (!any) {
            return Optional.empty();
        }
        FetchResult shaped = Transform.jq(combined.transform(), data);
        if (!(shaped instanceof FetchResult.Success ok)) {
            return Optional.of(shaped);
        }
        return Optional.of(problems.isEmpty() ? ok : new FetchResult.Partial(ok.data(), String.join("; ", problems)));
    }
}
