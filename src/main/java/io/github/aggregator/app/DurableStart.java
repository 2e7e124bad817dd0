package io.github.aggregator.app;

import io.github.aggregator.cache.DurableStore;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.observe.Health;
import io.github.aggregator.source.SourceConfig;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Puts the durable store beneath the snapshot store at start, and shows its state in {@code /observe/health}. A single
 * instance uses it unless {@code dataDir} is empty; the cluster mode does not (Redis holds the shared state there, and
 * a local copy could only hold versions the cluster has moved past).
 */
final class DurableStart {
    private static final System.Logger LOG = System.getLogger(DurableStart.class.getName());

    private DurableStart() {}

    /**
     * Opens the store and restores what it holds for {@code sources} and for the instances {@code instances} accepts;
     * never throws, logs one line.
     *
     * @return the ids restored (empty without a store)
     */
    static Set<String> open(
            ConfigFile config, SnapshotStore store, List<SourceConfig> sources, Predicate<String> instances) {
        Path dir = config.aggregator().dataDir();
        if (dir == null) {
            LOG.log(Level.INFO, "store: off (dataDir is empty): versions and history last as long as the process");
            return Set.of();
        }
        if (config.cluster() != null) {
            LOG.log(Level.DEBUG, "store: not used in the cluster mode; Redis holds the shared state");
            return Set.of();
        }
        long start = System.nanoTime();
        try {
            DurableStore durable = DurableStore.open(dir, config.aggregator().storeRetry());
            Set<String> restored =
                    store.attach(durable, sources.stream().map(SourceConfig::id).toList(), instances);
            if (durable.problem() == null) {
                // a first start (nothing to restore) keeps the log to its one start line
                LOG.log(
                        restored.isEmpty() ? Level.DEBUG : Level.INFO,
                        "store: " + durable.file() + ": restored " + restored.size() + " source(s) in "
                                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
            }
            return restored;
        } catch (RuntimeException | LinkageError e) {
            // the store is a help, never a condition: without it the service runs in memory
            LOG.log(Level.WARNING, "store: could not be started (" + e + "); running in memory only");
            return Set.of();
        }
    }

    /** A readiness check that is always UP: its details say whether the store writes or the service runs in memory. */
    static void healthCheck(Health health, SnapshotStore store) {
        health.readiness("store", () -> {
            Map<String, Object> details = new LinkedHashMap<>();
            store.durable()
                    .ifPresentOrElse(
                            d -> {
                                details.put("state", d.problem() == null ? "ok" : "memory only");
                                if (d.problem() != null) {
                                    details.put("problem", d.problem());
                                }
                                details.put("bytes", d.bytes());
                            },
                            () -> details.put("state", "off"));
            return Health.Result.up(details);
        });
    }
}
