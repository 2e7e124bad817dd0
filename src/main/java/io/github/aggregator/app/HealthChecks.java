package io.github.aggregator.app;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.observe.Health;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.Transport;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The built-in checks behind {@code /observe/health}. This is the place to add more: a part wired by {@link
 * Aggregator} registers its own named check, e.g. the cluster mode's readiness check that is DOWN until Redis was
 * reached, or an UP result with a {@code "cluster": "degraded"} detail. See {@link Health} for what a check may do.
 */
final class HealthChecks {
    private HealthChecks() {}

    /**
     * @param closed whether shutdown has begun
     * @param listening whether the web server listens
     * @param port the port it listens on, read once it does
     */
    static void register(
            Health health,
            SourceRegistry registry,
            SnapshotStore store,
            Poller poller,
            Transport transport,
            BooleanSupplier closed,
            BooleanSupplier listening,
            IntSupplier port) {
        // live: the process is worth keeping as long as it still schedules fetches
        health.liveness("poller", () -> poller.running() ? Health.Result.up() : Health.Result.down("poller stopped"));
        // ready: config loaded (it is, or there would be no instance) and the server listening, until shutdown begins
        health.readiness("server", () -> {
            if (closed.getAsBoolean()) {
                return Health.Result.down("shutting down");
            }
            return listening.getAsBoolean()
                    ? Health.Result.up(Map.of("port", port.getAsInt()))
                    : Health.Result.down("starting");
        });
        // clustered: ready once Redis was reached (a new instance has the shared data then); an instance that loses
        // Redis later stays ready, serving and polling alone, with "degraded" as detail
        transport
                .clusterState()
                .ifPresent(initial -> health.readiness("cluster", () -> {
                    String state = transport.clusterState().orElse("ok");
                    if (!transport.joinedOnce()) {
                        return Health.Result.down("Redis not reached yet");
                    }
                    return Health.Result.up(Map.of("cluster", state));
                }));
        // stale upstreams do not make the instance unready: it serves their last good data, marked stale
        health.readiness("sources", () -> {
            int enabled = 0;
            int withData = 0;
            int stale = 0;
            for (SourceConfig s : registry.enabled()) {
                enabled++;
                Optional<Snapshot> latest = store.latest(s.id());
                withData += latest.filter(Snapshot::hasData).isPresent() ? 1 : 0;
                stale += latest.filter(Snapshot::stale).isPresent() ? 1 : 0;
            }
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("enabled", enabled);
            details.put("withData", withData);
            details.put("stale", stale);
            return Health.Result.up(details);
        });
        // the durable store never makes the instance unready either: without it the service runs in memory
        DurableStart.healthCheck(health, store);
    }
}
