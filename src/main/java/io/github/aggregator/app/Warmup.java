package io.github.aggregator.app;

import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.fetch.Jq;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceTemplate;
import io.github.aggregator.stream.Frames;
import io.helidon.webserver.http.HttpRouting;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Start-up work moved off the path to the first response: while the main thread reads the config and starts the web
 * server, background threads initialize what the server, the first fetch and the first answer need. With no spare
 * core it costs nothing extra, since whichever thread gets to a class first initializes it once; but on a small
 * machine every thread here competes with the main thread and the JIT compilers, so only what the first answer needs
 * is done here, and nothing the shipped config does not use (jq's builtin functions only for a transform that calls
 * a function; a TLS context only for an {@code https} source). Best effort: a failure is logged at DEBUG and the work
 * is then simply done on first use.
 */
final class Warmup {
    private static final System.Logger LOG = System.getLogger(Warmup.class.getName());

    private Warmup() {}

    /** Starts the warm-up threads that need no config (daemons: they never delay exit). */
    static void start() {
        // the HTTP side: Helidon's service registry, bootstrapped by the first routing builder, while the config file
        // is read (Helidon's config machinery is not started here: a server section that names only its address is
        // built without it, see ServerSettings)
        thread("warmup-http", HttpRouting::builder);
        // the data side: reading JSON (the first fetch's body; Jackson's parser initializes BigDecimal, whose static
        // initializer alone takes tens of milliseconds on JDK 25), then encoding and hashing a snapshot (the first
        // answer)
        thread("warmup-data", () -> {
            try {
                Json.MAPPER.readTree("{\"warmup\":[1,2.5,\"x\",true,null]}".getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            var data = Json.MAPPER.createObjectNode().put("warmup", true);
            Instant now = Instant.now();
            Frames.envelopeBytes(new Snapshot("warmup", 1, now, now, false, null, data, Json.hash(data)));
        });
    }

    /**
     * Starts the warm-up that depends on {@code config}: the web clients of its sources' first fetches, and jq's
     * builtin functions when one of its transforms may call a function (see {@link Jq#mayCallFunctions}).
     */
    static void configured(ConfigFile config) {
        List<SourceConfig> sources = config.aggregator().enabledSources();
        List<String> transforms = new ArrayList<>();
        sources.stream().map(SourceConfig::transform).filter(Objects::nonNull).forEach(transforms::add);
        config.aggregator().templates().stream()
                .map(SourceTemplate::base)
                .map(SourceConfig::transform)
                .filter(Objects::nonNull)
                .forEach(transforms::add);
        thread("warmup-fetch", () -> {
            Fetcher.preload(sources);
            if (transforms.stream().anyMatch(Jq::mayCallFunctions)) {
                Jq.preload();
            }
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
