package io.github.aggregator.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * {@code GET /api/sources/{id}/history}: the versions of one source still retained ({@code historySize}), oldest
 * first, each with its {@code version}, {@code changedAt} and {@code data}; the dashboard draws its charts from it and
 * then follows the stream. Token sources answer only a caller whose token covers them.
 */
public final class HistoryService implements HttpService {
    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Guard guard;

    public HistoryService(SourceRegistry registry, SnapshotStore store, Guard guard) {
        this.registry = registry;
        this.store = store;
        this.guard = guard;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/{id}/history", this::history);
    }

    private void history(ServerRequest req, ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        Optional<SourceConfig> source = registry.find(id);
        if (source.isEmpty()) {
            Problem.send(req, res, Status.NOT_FOUND_404, "no source with id \"" + Problem.echo(id) + "\"");
            return;
        }
        boolean token = source.get().access() == SourceConfig.Access.TOKEN;
        if (token && !guard.admit(req, res, guard.caller(req), List.of(source.get()))) {
            return;
        }
        Deque<Snapshot> versions = new ArrayDeque<>();
        Optional<Snapshot> latest = store.latest(id).filter(Snapshot::hasData);
        if (latest.isPresent()) {
            versions.add(latest.get());
            int max = registry.config().historySize();
            List<Snapshot> older = store.history(id);
            for (int i = older.size() - 1; i >= 0 && versions.size() < max; i--) {
                if (older.get(i).version() < latest.get().version()) {
                    versions.addFirst(older.get(i));
                }
            }
        }
        ObjectNode body = Json.MAPPER.createObjectNode().put("id", id);
        ArrayNode list = body.putArray("versions");
        for (Snapshot s : versions) {
            list.addObject()
                    .put("version", s.version())
                    .put("changedAt", s.changedAt().toString())
                    .set("data", s.data());
        }
        res.header(HeaderNames.CACHE_CONTROL, (token ? "private, " : "") + "no-cache");
        JsonBody.send(req, res, Json.bytes(body));
    }
}
