package io.github.aggregator.app;

import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.fetch.Jq;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.stream.Frames;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.webserver.http.HttpRouting;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.Map;

/**
 * Start-up work moved off the path to the first response: while the main thread reads the config and starts the web
 * server, two background threads initialize what the server, the first fetch and the first answer need. Measured with
 * the AOT cache, this is what brings the first answer from about 600 to about 500 ms: jq's builtin functions alone
 * (jackson-jq compiles its jq-defined ones from source) took 80-130 ms on the path, through the first recombination of
 * a combined source. With no spare core it costs nothing extra, since whichever thread gets to a class first
 * initializes it once. Best effort: a failure is logged at DEBUG and the work is then simply done on first use.
 */
final class Warmup {
    private static final System.Logger LOG = System.getLogger(Warmup.class.getName());

    private Warmup() {}

    /** Starts the warm-up threads (daemons: they never delay exit). */
    static void start() {
        // two chains, each in the order the service needs it: the HTTP side (Helidon's config machinery and its service
        // registry, bootstrapped by the first routing builder, while the config file is read; then the web client,
        // once the server listens) and
        // the data side (jq's builtin functions, needed at the first fetch of a part of a combined source, and
        // JSON encoding and hashing of a snapshot, at the first answer)
        thread("warmup-http", () -> {
            Config.just(ConfigSources.create(Map.of()));
            HttpRouting.builder();
            Fetcher.preload();
        });
        thread("warmup-data", () -> {
            Jq.preload();
            var data = Json.MAPPER.createObjectNode().put("warmup", true);
            Instant now = Instant.now();
            Frames.envelopeBytes(new Snapshot("warmup", 1, now, now, false, null, data, Json.hash(data)));
        });
    }

    private static void thread(String name, Runnable work) {
        Thread t = new Thread(
                () -> {
                    try {
                        work.run();
                    } catch (RuntimeException | LinkageError e) {
                        LOG.log(Level.DEBUG, name + " skipped: " + e.getClass().getSimpleName());
                    }
                },
                name);
        t.setDaemon(true);
        t.start();
    }
}
