package io.github.aggregator.app;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.http.AdminService;
import io.github.aggregator.http.DemoService;
import io.github.aggregator.http.EventsService;
import io.github.aggregator.http.PollService;
import io.github.aggregator.http.Routes;
import io.github.aggregator.source.ConfigFile;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.Hub;
import io.github.aggregator.stream.Transport;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.webserver.WebServer;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** One running service: config, poller, store, hub and web server wired together. */
public final class Aggregator implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Aggregator.class.getName());
    /** How long shutdown waits for open streams to write their final comment. */
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(3);

    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Hub hub;
    private final Pipeline pipeline;
    private final Transport transport;
    private final Poller poller;
    private final WebServer server;
    private volatile boolean closed;

    private Aggregator(ConfigFile config, Clock clock) {
        this.registry = new SourceRegistry(config.aggregator());
        this.store = new SnapshotStore(config.aggregator().historySize());
        this.hub = new Hub(
                config.aggregator().subscriberQueue(),
                config.aggregator().maxSubscribers(),
                config.aggregator().maxSubscribersPerClient());
        Poller[] polling = new Poller[1];
        this.pipeline = new Pipeline(config, registry, store, clock, s -> {
            hub.deliver(s);
            polling[0].observed(s.id());
        });
        this.transport = pipeline.transport();
        URI[] self = new URI[1];
        String userAgent = config.aggregator().userAgent();
        this.poller = new Poller(
                clock,
                registry,
                s -> new Fetcher(s, userAgent, () -> self[0], clock),
                (source, result, at) -> pipeline.record(source, result, at),
                id -> hub.subscribers(id) > 0,
                transport::mayProduce,
                ThreadLocalRandom.current());
        polling[0] = this.poller;
        // shared state first, so the first request is answered from it without an upstream call
        transport.start(registry.enabled(), this::polledHere);
        Config serverConfig = Config.just(ConfigSources.create(config.server()));
        this.server = WebServer.builder()
                .config(serverConfig.get("server"))
                .shutdownHook(false)
                .directHandlers(Routes.directHandlers())
                .routing(r -> Routes.routing(
                        r,
                        new PollService(registry, store, poller, hub, clock, transport::clusterState),
                        new EventsService(registry, store, hub, poller),
                        new DemoService(clock),
                        config.adminToken() == null
                                ? null
                                : new AdminService(
                                        registry, store, poller, transport::mayProduce, config.adminToken())))
                .build();
        server.start();
        self[0] = URI.create((server.hasTls() ? "https" : "http") + "://127.0.0.1:" + server.port());
        poller.start(registry.enabled());
    }

    /** Starts the service on {@code config}; returns once it listens. */
    public static Aggregator start(ConfigFile config, Clock clock) {
        return new Aggregator(config, clock);
    }

    /** The port the server listens on. */
    public int port() {
        return server.port();
    }

    /** Whether this instance polls {@code id} now (an idle on-demand source is polled nowhere until read). */
    private boolean polledHere(String id) {
        return registry.find(id)
                .map(s -> s.combined()
                        || poller.state(id).map(Poller.State::active).orElse(false))
                .orElse(false);
    }

    /** Ends every stream with a final comment, stops polling and stops the server. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        hub.close("server shutting down");
        try {
            // let each stream write its final comment before the server closes the connections
            if (!hub.awaitEmpty(SHUTDOWN_GRACE)) {
                LOG.log(Level.INFO, "shutdown: " + hub.total() + " stream(s) did not end within " + SHUTDOWN_GRACE);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        poller.close();
        pipeline.close(); // gives up this instance's leases
        server.stop();
    }
}
