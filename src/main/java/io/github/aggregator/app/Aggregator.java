package io.github.aggregator.app;

import io.github.aggregator.cache.DurableStore;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.cluster.RedisTransport;
import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.fetch.auth.Tokens;
import io.github.aggregator.fetch.budget.Budgets;
import io.github.aggregator.fetch.budget.LocalLedger;
import io.github.aggregator.flow.Pipeline;
import io.github.aggregator.http.AdminService;
import io.github.aggregator.http.ConnectionLimits;
import io.github.aggregator.http.Cors;
import io.github.aggregator.http.DemoService;
import io.github.aggregator.http.EventsService;
import io.github.aggregator.http.Guard;
import io.github.aggregator.http.HealthService;
import io.github.aggregator.http.MetricsService;
import io.github.aggregator.http.PollService;
import io.github.aggregator.http.Routes;
import io.github.aggregator.observe.Health;
import io.github.aggregator.observe.Metrics;
import io.github.aggregator.observe.StartupTrace;
import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.Instances;
import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.source.SourceTemplate;
import io.github.aggregator.stream.FieldViews;
import io.github.aggregator.stream.Hub;
import io.github.aggregator.stream.LocalTransport;
import io.github.aggregator.stream.Transport;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/** One running service: config, poller, store, hub and web server wired together. */
public final class Aggregator implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Aggregator.class.getName());
    /** How long shutdown waits for open streams to write their final comment. */
    static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(3);
    /** How often the config file is checked for changes. */
    static final Duration WATCH_PERIOD = Duration.ofMillis(500);

    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Hub hub;
    private final FieldViews views;
    private final Pipeline pipeline;
    private final Transport transport;
    private final Poller poller;
    private final WebServer server;
    private final Consumer<HttpRouting.Builder> routing;
    private final ConnectionLimits limits;
    private final ConfigWatcher watcher;
    private final Metrics metrics = new Metrics();
    private final Health health = new Health();
    private final Tokens tokens; // OAuth2 tokens, shared by the sources with the same endpoint and credentials
    private final Budgets budgets; // the shared request budgets, counted here or (clustered) in Redis
    private ConfigFile current; // guarded by this
    private volatile boolean listening;
    private volatile boolean closed;

    private Aggregator(ConfigFile config, Clock clock, Map<String, String> env, Scheduler time) {
        this.current = config;
        this.tokens = new Tokens(time);
        this.registry = new SourceRegistry(config.aggregator());
        this.store = new SnapshotStore(
                config.aggregator().historySize(), config.aggregator().historyMaxAge(), clock);
        // the durable store is opened and read while the web server is built; polling starts once it is in place
        AtomicReference<Set<String>> restored = new AtomicReference<>(Set.of());
        Thread restoring = Thread.ofPlatform()
                .name("store-open")
                .start(() -> restored.set(DurableStart.open(config, store, registry.enabled(), registry::allows)));
        this.hub = new Hub(
                config.aggregator().subscriberQueue(),
                config.aggregator().maxSubscribers(),
                config.aggregator().maxSubscribersPerClient(),
                metrics,
                time); // heartbeats on the injected clock
        this.views = new FieldViews(store, hub, config.aggregator().historySize());
        this.transport = transport(config, store);
        this.pipeline = new Pipeline(registry, store, transport, clock);
        this.budgets = new Budgets(
                transport instanceof RedisTransport redis ? redis.ledger(time) : new LocalLedger(time),
                config.aggregator().budgets());
        // this service's own base URI, known once the server listens; a fetch of a path-URL source waits for it
        CompletableFuture<URI> self = new CompletableFuture<>();
        this.poller = new Poller(
                time,
                registry,
                s -> new Fetcher(
                        s,
                        registry.config().userAgent(),
                        self::join,
                        time,
                        tokens,
                        budgets.gate(s)), // Retry-After on the poller's clock
                (source, result, at) -> pipeline.record(source, result, at),
                id -> views.subscribers(id) > 0,
                transport::mayProduce,
                ThreadLocalRandom.current(),
                metrics,
                budgets);
        pipeline.listen((s, newVersion) -> {
            if (newVersion) {
                metrics.changed(InstanceId.base(s.id()));
            }
            hub.deliver(s);
            views.received(s);
            poller.observed(s.id());
        });
        // the instances the combined sources name exist from the start, so the cluster shares them from its first
        // claim; they poll on demand, woken when a combination built from them is read or subscribed
        registry.combinedInstances().forEach(name -> registry.lookup(name, Map.of()));
        HealthChecks.register(health, registry, store, poller, transport, () -> closed, () -> listening, this::port);
        // the shared state is read while the web server starts (the first cold start's two slowest steps overlap); a
        // request that comes before it arrives waits for it as for a first fetch (coldWait), never for the upstream
        Thread joining = Thread.ofPlatform()
                .name("cluster-join")
                .start(() -> transport.start(registry.inForce(), this::polledHere));
        ServerSettings settings = ServerSettings.of(config.server(), config.serverTree());
        this.limits = settings.limits();
        Guard guard = new Guard(config.access(), config.adminToken(), clock);
        this.routing = r -> Routes.routing(
                r,
                limits,
                new Cors(config.cors()),
                new HealthService(health),
                new MetricsService(registry, store, hub, metrics).budgets(budgets),
                new PollService(registry, store, poller, hub, clock, time, guard, this::notes)
                        .select(views)
                        .counting(metrics),
                new EventsService(registry, views, hub, poller, guard, time, limits),
                new DemoService(clock),
                config.adminToken() == null
                        ? null
                        : new AdminService(registry, store, poller, transport::mayProduce, config.adminToken()));
        this.server = settings.builder()
                .shutdownHook(false)
                .directHandlers(Routes.directHandlers())
                .routing(routing)
                .build();
        StartupTrace.mark("server built");
        try {
            restoring.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // an instance whose snapshot and history were restored exists again (idle until read), so that it keeps them
        restored.get().stream().filter(InstanceId::isInstance).forEach(name -> registry.lookup(name, Map.of()));
        registry.instances().wire(this::instanceLive, this::created, this::evicted);
        // polling is scheduled before the server listens, so that the first request finds every source scheduled (and
        // can start its first fetch at once); fetches run on their own threads, a path-URL source's waits for the
        // server
        StartupTrace.mark("store opened");
        // a restored source keeps its schedule: first fetched one interval after the fetchedAt it was restored with
        poller.start(
                registry.inForce(),
                id -> store.latest(id)
                        .filter(Snapshot::restored)
                        .map(Snapshot::fetchedAt)
                        .orElse(null));
        try {
            Listener.start(server);
        } catch (RuntimeException e) {
            poller.close();
            pipeline.close();
            store.durable().ifPresent(DurableStore::close);
            self.completeExceptionally(e);
            throw e;
        }
        self.complete(URI.create((server.hasTls() ? "https" : "http") + "://127.0.0.1:" + server.port()));
        StartupTrace.mark("listening");
        try {
            joining.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        transport.retain(registry.inForce()); // with any instance a request made while the cluster was joined
        listening = true;
        this.watcher = new ConfigWatcher(config.file(), env, WATCH_PERIOD, this::apply);
        LOG.log(Level.INFO, StartLine.of(config, server, registry.enabled()));
    }

    /** Registers every route of this service on {@code r}, as its server was built; tests read the routes from it. */
    public void routing(HttpRouting.Builder r) {
        routing.accept(r);
    }

    /**
     * Starts the service on {@code config}; returns once it listens. The config file is watched: {@code env} is what
     * its {@code ${VAR}}s are read from again on each change.
     */
    public static Aggregator start(ConfigFile config, Clock clock, Map<String, String> env) {
        return start(config, clock, env, Scheduler.system(clock, "poller-timer"));
    }

    /**
     * {@link #start(ConfigFile, Clock, Map)} with {@code time} deciding polling, backoff, Retry-After, idle, heartbeats and write
     * timeouts (a test passes a clock it advances); closed with the service. {@code clock} stays the clock of what
     * the service shows and checks (cache headers, tokens, the demo upstreams).
     */
    public static Aggregator start(ConfigFile config, Clock clock, Map<String, String> env, Scheduler time) {
        return new Aggregator(config, clock, env, time);
    }

    /** {@link #start(ConfigFile, Clock, Map)} with the process environment. */
    public static Aggregator start(ConfigFile config, Clock clock) {
        return start(config, clock, System.getenv());
    }

    /** The transport {@code config} asks for: Redis when a cluster is configured, else this process alone. */
    static Transport transport(ConfigFile config, SnapshotStore store) {
        return config.cluster() == null
                ? new LocalTransport()
                : new RedisTransport(
                        config.cluster(), store, config.aggregator().historySize());
    }

    /** Top-level facts for {@code GET /api/sources}: cluster state, and the error of a config edit not in force. */
    private Map<String, String> notes() {
        Map<String, String> notes = new LinkedHashMap<>();
        transport.clusterState().ifPresent(c -> notes.put("cluster", c));
        String error = watcher == null ? null : watcher.error();
        if (error != null) {
            notes.put("configError", error);
        }
        return notes;
    }

    /**
     * Puts a new valid config in force without a restart: added sources start polling, removed (or disabled) ones
     * stop and their subscribers get {@code removed}, edited ones restart polling with the new settings; unchanged
     * ones keep their schedule. Every source kept keeps its snapshots, versions and subscribers. Settings read only at
     * start are reported as needing a restart.
     */
    private synchronized void apply(ConfigFile next) {
        if (closed) {
            return;
        }
        Map<String, SourceConfig> before = byId(current.aggregator().enabledSources());
        Map<String, SourceConfig> after = byId(next.aggregator().enabledSources());
        List<String> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        before.keySet().stream().filter(id -> !after.containsKey(id)).forEach(removed::add);
        after.forEach((id, s) -> {
            if (!before.containsKey(id)) {
                added.add(id);
            } else if (!before.get(id).equals(s)) {
                changed.add(id);
            }
        });
        registry.replace(next.aggregator());
        budgets.configure(next.aggregator().budgets());
        Instances.Reconciled instances = registry.instances().reconcile(templatesById(next));
        registry.combinedInstances().forEach(name -> registry.lookup(name, Map.of()));
        List<SourceConfig> kept = registry.inForce();
        transport.retain(kept);
        for (String id : removed) {
            poller.stop(id);
            hub.remove(id, "source removed from the config");
            views.removed(id, "source removed from the config");
        }
        for (SourceConfig s : instances.removed()) {
            poller.stop(s.id());
            hub.remove(s.id(), "instance no longer allowed by the config");
            views.removed(s.id(), "instance no longer allowed by the config"); // streams of its fields end too
            removed.add(s.id());
        }
        store.retain(kept.stream().map(SourceConfig::id).toList());
        for (String id : changed) {
            poller.stop(id);
        }
        for (SourceConfig s : instances.changed()) {
            poller.stop(s.id());
            changed.add(s.id());
        }
        List<SourceConfig> starting = new ArrayList<>(instances.changed());
        added.forEach(id -> starting.add(after.get(id)));
        changed.forEach(id -> starting.add(after.get(id)));
        poller.start(starting);
        starting.stream().filter(SourceConfig::combined).forEach(pipeline::recombine);
        List<String> restart = StartOnlySettings.changed(current, next);
        current = next;
        LOG.log(
                Level.INFO,
                "config: reloaded " + next.file() + ": added " + added + ", removed " + removed + ", changed " + changed
                        + (restart.isEmpty() ? "" : "; takes effect after a restart: " + String.join(", ", restart)));
    }

    private static Map<String, SourceTemplate> templatesById(ConfigFile config) {
        Map<String, SourceTemplate> out = new LinkedHashMap<>();
        config.aggregator().templates().forEach(t -> out.put(t.id(), t));
        return out;
    }

    /**
     * Whether instance {@code id} may not be evicted now: it is read or subscribed, or a combined source in force
     * names it (such an instance is kept for as long as the combination is in the config).
     */
    private boolean instanceLive(String id) {
        return views.subscribers(id) > 0
                || poller.state(id).map(Poller.State::active).orElse(false)
                || !registry.dependents(id).isEmpty();
    }

    /** A new instance: kept by the store (durably where there is a store), shared by the cluster, polled on demand. */
    private void created(SourceConfig instance) {
        List<SourceConfig> all = registry.inForce();
        store.retain(all.stream().map(SourceConfig::id).toList());
        transport.retain(all);
        poller.start(List.of(instance));
    }

    /** An idle instance evicted to make room: it stops polling and its data goes. */
    private void evicted(SourceConfig instance) {
        poller.stop(instance.id());
        hub.remove(instance.id(), "instance evicted");
        views.removed(instance.id(), "instance evicted");
        List<SourceConfig> all = registry.inForce();
        store.retain(all.stream().map(SourceConfig::id).toList());
        transport.retain(all);
        LOG.log(Level.DEBUG, "source " + instance.id() + ": evicted (least recently used idle instance)");
    }

    private static Map<String, SourceConfig> byId(List<SourceConfig> sources) {
        Map<String, SourceConfig> out = new LinkedHashMap<>();
        sources.forEach(s -> out.put(s.id(), s));
        return out;
    }

    /** The server's per-connection limits, which also see each HTTP/1.1 connection's socket (diagnostics; tests). */
    public ConnectionLimits connections() {
        return limits;
    }

    /** The checks behind {@code /observe/health}, to add more (see {@link HealthChecks#register}). */
    public Health health() {
        return health;
    }

    /** The web server's settings in force, Helidon's defaults and this service's included. */
    io.helidon.webserver.WebServerConfig serverSettings() {
        return server.prototype();
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
        watcher.close();
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
        store.durable().ifPresent(d -> d.close(SHUTDOWN_GRACE)); // writes what is still marked
        server.stop();
        limits.close();
    }
}
