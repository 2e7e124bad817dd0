package io.github.aggregator.app;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.Combiner;
import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.http.AdminService;
import io.github.aggregator.http.DemoService;
import io.github.aggregator.http.EventsService;
import io.github.aggregator.http.HealthService;
import io.github.aggregator.http.MetricsService;
import io.github.aggregator.http.PollService;
import io.github.aggregator.http.Routes;
import io.github.aggregator.observe.Health;
import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.ConfigFile;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.Hub;
import io.github.aggregator.stream.LocalTransport;
import io.github.aggregator.stream.Transport;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.webserver.WebServer;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/** One running service: config, poller, store, hub and web server wired together. */
public final class Aggregator implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Aggregator.class.getName());
    /** How long shutdown waits for open streams to write their final comment. */
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(3);

    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Hub hub;
    private final Transport transport;
    private final Poller poller;
    private final WebServer server;
    private final Metrics metrics = new Metrics();
    private final Health health = new Health();
    private final ConcurrentHashMap<String, Object> combineLocks = new ConcurrentHashMap<>();
    private volatile boolean listening;
    private volatile boolean closed;

    private Aggregator(ConfigFile config, Clock clock) {
        this.registry = new SourceRegistry(config.aggregator());
        this.store = new SnapshotStore(config.aggregator().historySize());
        this.hub = new Hub(
                config.aggregator().subscriberQueue(),
                config.aggregator().maxSubscribers(),
                config.aggregator().maxSubscribersPerClient(),
                metrics);
        this.transport = new LocalTransport();
        transport.onSnapshot(s -> {
            store.offer(s);
            hub.deliver(s);
        });
        // this service's own base URI, known once the server listens; a fetch of a path-URL source waits for it
        CompletableFuture<URI> self = new CompletableFuture<>();
        String userAgent = config.aggregator().userAgent();
        this.poller = new Poller(
                clock,
                registry,
                s -> new Fetcher(s, userAgent, self::join, clock),
                this::record,
                id -> hub.subscribers(id) > 0,
                ThreadLocalRandom.current(),
                metrics);
        registerHealthChecks();
        Config serverConfig = Config.just(ConfigSources.create(config.server()));
        this.server = WebServer.builder()
                .config(serverConfig.get("server"))
                .shutdownHook(false)
                .directHandlers(Routes.directHandlers())
                .routing(r -> Routes.routing(
                        // before Routes' catch-all 404
                        r.register("/observe/health", new HealthService(health))
                                .register("/observe/metrics", new MetricsService(registry, store, hub, metrics)),
                        new PollService(registry, store, poller, hub, clock),
                        new EventsService(registry, store, hub, poller),
                        new DemoService(clock),
                        config.adminToken() == null
                                ? null
                                : new AdminService(registry, store, poller, config.adminToken())))
                .build();
        // polling starts before the server listens, so that the first request finds every source scheduled (and can
        // start its first fetch at once); fetches run on their own threads, a path-URL source's waits for the server
        poller.start(registry.enabled());
        try {
            server.start();
        } catch (RuntimeException e) {
            poller.close();
            self.completeExceptionally(e);
            throw e;
        }
        self.complete(URI.create((server.hasTls() ? "https" : "http") + "://127.0.0.1:" + server.port()));
        listening = true;
    }

    /** Starts the service on {@code config}; returns once it listens. */
    public static Aggregator start(ConfigFile config, Clock clock) {
        return new Aggregator(config, clock);
    }

    /**
     * The built-in checks behind {@code /observe/health}. This is the place to add more: a part wired here registers
     * its own named check on {@link #health}, e.g. the cluster mode's {@code health.readiness("redis", ...)} that is
     * DOWN while Redis is unreachable, or an UP result with a {@code "cluster": "degraded"} detail. See {@link Health}
     * for what a check may do.
     */
    private void registerHealthChecks() {
        // live: the process is worth keeping as long as it still schedules fetches
        health.liveness("poller", () -> poller.running() ? Health.Result.up() : Health.Result.down("poller stopped"));
        // ready: config loaded (it is, or there would be no instance) and the server listening, until shutdown begins
        health.readiness("server", () -> {
            if (closed) {
                return Health.Result.down("shutting down");
            }
            return listening ? Health.Result.up(Map.of("port", server.port())) : Health.Result.down("starting");
        });
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
    }

    /** The checks behind {@code /observe/health}, to add more (see {@link #registerHealthChecks}). */
    public Health health() {
        return health;
    }

    /** The port the server listens on. */
    public int port() {
        return server.port();
    }

    /** Stores a result, tells every instance, then rebuilds the combined sources that use this one. */
    private void record(SourceConfig source, FetchResult result, Instant at) {
        record(source, result, at, 0);
    }

    private void record(SourceConfig source, FetchResult result, Instant at, int depth) {
        Optional<Snapshot> before = store.latest(source.id());
        Snapshot now = store.record(source.id(), result, at);
        if (now.version() > before.map(Snapshot::version).orElse(0L)) {
            metrics.changed(source.id());
        }
        boolean wasStale = before.map(Snapshot::stale).orElse(false);
        if (now.stale() && !wasStale) {
            LOG.log(Level.WARNING, "source " + source.id() + ": serving last good data, " + now.error());
        } else if (!now.stale() && wasStale) {
            LOG.log(Level.INFO, "source " + source.id() + ": recovered at version " + now.version());
        }
        transport.publish(now);
        if (depth < 64) {
            for (SourceConfig combined : registry.dependents(source.id())) {
                // parts are fetched concurrently: one recombination at a time, each reading the parts' latest
                // state inside the lock, so the last one stored reflects every part stored before it
                synchronized (combineLocks.computeIfAbsent(combined.id(), k -> new Object())) {
                    Combiner.combine(combined, store::latest).ifPresent(r -> record(combined, r, at, depth + 1));
                }
            }
        }
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
        transport.close();
        server.stop();
    }
}
