package io.github.aggregator.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.cluster.RedisTransport;
import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.fetch.auth.Tokens;
import io.github.aggregator.fetch.budget.Budgets;
import io.github.aggregator.fetch.budget.LocalLedger;
import io.github.aggregator.flow.Pipeline;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import java.io.PrintStream;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The {@code refresh} command: fetch every enabled upstream source (or one) once, hand the results to the transport —
 * Redis when clustered, so every instance delivers the changes — print one JSON line per source and a summary, and
 * exit. For platforms without background CPU: a scheduler runs this instead of the service polling.
 *
 * <p>In a cluster a source whose lease another instance holds is left to it ("skipped"); the command claims the
 * others for the duration of its fetch, so it never races a running instance.
 */
final class OneShotRefresh {
    private final ConfigFile config;
    private final Clock clock;
    private final PrintStream out;
    private final PrintStream err;

    OneShotRefresh(ConfigFile config, Clock clock, PrintStream out, PrintStream err) {
        this.config = config;
        this.clock = clock;
        this.out = out;
        this.err = err;
    }

    /**
     * Runs the refresh of {@code only} (null: every enabled upstream source; see {@link SourceRegistry#targets} for how
     * an instance of a parametrised source is named with {@code params}).
     *
     * @return the exit code: 0 when every fetch succeeded (or was left to another instance), 1 otherwise, 2 when
     *     {@code only} is not a refreshable source
     */
    int run(String only, Map<String, String> params) throws InterruptedException {
        SourceRegistry registry = new SourceRegistry(config.aggregator());
        List<SourceConfig> targets;
        switch (registry.targets(only, params, false)) {
            case SourceRegistry.NotChosen n -> {
                err.println("aggregator: refresh: " + n.reason());
                return 2;
            }
            case SourceRegistry.Chosen c -> targets = c.sources();
        }
        SnapshotStore store = new SnapshotStore(config.aggregator().historySize());
        Map<String, Result> results = new LinkedHashMap<>();
        try (Pipeline pipeline = new Pipeline(registry, store, Aggregator.transport(config, store), clock);
                ExecutorService fetches = Executors.newVirtualThreadPerTaskExecutor()) {
            // the shared state first, so versions continue from the cluster's
            pipeline.transport().start(registry.inForce(), id -> true);
            // the budgets count here too: in Redis with the running instances when clustered
            Budgets budgets = new Budgets(
                    pipeline.transport() instanceof RedisTransport redis ? redis.ledger(clock) : new LocalLedger(clock),
                    config.aggregator().budgets());
            Map<String, Future<Result>> running = new LinkedHashMap<>();
            for (SourceConfig s : targets) {
                running.put(s.id(), fetches.submit(() -> refresh(pipeline, store, s, budgets)));
            }
            for (Map.Entry<String, Future<Result>> e : running.entrySet()) {
                try {
                    results.put(e.getKey(), e.getValue().get());
                } catch (java.util.concurrent.ExecutionException ex) {
                    results.put(
                            e.getKey(),
                            Result.failed("internal error: "
                                    + ex.getCause().getClass().getSimpleName()));
                }
            }
            String cluster = pipeline.transport().clusterState().orElse(null);
            for (SourceConfig s : targets) {
                Result r = results.get(s.id());
                ObjectNode line = Json.MAPPER.createObjectNode();
                line.put("id", s.id());
                line.put("result", r.result());
                if (r.error() != null) {
                    line.put("error", r.error());
                }
                if (r.snapshot() != null && r.snapshot().hasData()) {
                    line.put("version", r.snapshot().version());
                    if (cluster == null) {
                        line.set("data", r.snapshot().data()); // nobody else will see it: show it
                    }
                }
                out.println(Json.text(line));
            }
            long failed = results.values().stream()
                    .filter(r -> r.result().equals("failed"))
                    .count();
            Map<String, Long> counts = new LinkedHashMap<>();
            results.values().forEach(r -> counts.merge(r.result(), 1L, Long::sum));
            err.println("aggregator: refresh: " + targets.size() + " source(s): "
                    + String.join(
                            ", ",
                            counts.entrySet().stream()
                                    .map(e -> e.getValue() + " " + e.getKey())
                                    .toList())
                    + (cluster == null ? "" : "; cluster " + cluster));
            return failed == 0 ? 0 : 1;
        }
    }

    private Result refresh(Pipeline pipeline, SnapshotStore store, SourceConfig s, Budgets budgets) {
        if (s.url().getScheme() == null) {
            return Result.failed("a path URL names the running service; use POST /api/refresh on it instead");
        }
        if (!pipeline.transport().mayProduce(s.id())) {
            return new Result("skipped", "another instance of the cluster polls this source", null);
        }
        long before = store.latest(s.id()).map(Snapshot::version).orElse(0L);
        FetchResult result = new Fetcher(
                        s, config.aggregator().userAgent(), () -> null, clock, new Tokens(clock), budgets.gate(s))
                .fetch();
        if (result instanceof FetchResult.Deferred d) {
            return new Result("deferred", "the request budget allows none before " + d.notBefore(), null);
        }
        Optional<Snapshot> now = pipeline.record(s, result, clock.instant());
        if (now.isEmpty()) {
            return new Result("skipped", "another instance of the cluster took this source over", null);
        }
        Snapshot snap = now.get();
        if (result instanceof FetchResult.Failure f) {
            return new Result("failed", f.reason(), snap);
        }
        return new Result(snap.version() > before ? "changed" : "unchanged", null, snap);
    }

    private record Result(String result, String error, Snapshot snapshot) {
        static Result failed(String error) {
            return new Result("failed", error, null);
        }
    }
}
