package io.github.aggregator.app;

import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.source.Jq;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.stream.Frames;
import io.helidon.webserver.http.HttpRouting;
import java.lang.System.Logger.Level;
import java.time.Instant;

/**
 * Start-up work moved off the path to the first response: on a background thread, while the main thread reads the
 * config and starts the web server, it initializes what the server, the first fetch and the first answer need
 * (Helidon's service registry, the web client, jq's builtin functions, JSON encoding and hashing of a snapshot). With a spare core that work is done by the time it
 * is needed; without one it costs nothing extra, since whichever thread gets there first does it once. Best effort: a
 * failure is logged at DEBUG and the work is then simply done on first use.
 */
final class Warmup {
    private static final System.Logger LOG = System.getLogger(Warmup.class.getName());

    private Warmup() {}

    /** Starts the warm-up thread (a daemon: it never delays exit). */
    static void start() {
        Thread t = new Thread(Warmup::run, "warmup");
        t.setDaemon(true);
        t.start();
    }

    private static void run() {
        try {
            // in the order the main thread needs them: Helidon's service registry (bootstrapped by the first routing
            // builder) while the config is read, the web client once the server listens, jq's builtins at the first
            // fetch of a part of a combined source, JSON encoding and hashing at the first answer
            HttpRouting.builder();
            Fetcher.preload();
            Jq.preload();
            var data = Json.MAPPER.createObjectNode().put("warmup", true);
            Instant now = Instant.now();
            Frames.envelopeBytes(new Snapshot("warmup", 1, now, now, false, null, data, Json.hash(data)));
        } catch (RuntimeException | LinkageError e) {
            LOG.log(Level.DEBUG, "warm-up skipped: " + e.getClass().getSimpleName());
        }
    }
}
