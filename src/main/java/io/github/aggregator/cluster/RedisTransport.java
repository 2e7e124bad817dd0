package io.github.aggregator.cluster;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.budget.Ledger;
import io.github.aggregator.fetch.budget.LocalLedger;
import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.stream.Transport;
import java.lang.System.Logger.Level;
import java.time.InstantSource;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Clustered fan-out over a shared Redis, standalone or a Redis Cluster (detected at the first contact). Each source
 * is produced by the one instance holding its lease; that instance writes the snapshot (latest and history, with a
 * TTL) to Redis and publishes it on one channel; every instance receives it, stores it in its own Caffeine copy and
 * delivers it to its own subscribers. A new instance reads the shared state at start, so it serves data at once
 * without calling the upstream.
 *
 * <p>When Redis cannot be reached (at start or later; in a cluster also while a slot has no primary, during a
 * failover) the instance is <em>degraded</em>: it logs one warning, keeps serving what it has, produces every source
 * itself and delivers locally. A background check notices Redis coming back, pushes any newer local versions,
 * reloads the shared state and rejoins, so versions only move forward.
 *
 * <p>Thread-safe. Redis credentials are never logged.
 */
public final class RedisTransport implements Transport {
    private static final System.Logger LOG = System.getLogger(RedisTransport.class.getName());

    private final ClusterConfig config;
    private final SnapshotStore store;
    private final String instance;
    private final Connector connector;
    private final SharedSnapshots shared;
    private final Leases leases;
    private final Subscription subscription;
    private final ScheduledExecutorService keeper;
    private volatile Consumer<Snapshot> receiver = s -> {};
    private volatile Map<String, SourceConfig> sources = Map.of();
    private volatile Predicate<String> active = id -> true;
    private volatile boolean degraded;
    private volatile boolean closed;
    private volatile boolean joinedOnce;
    private final CountDownLatch startDone = new CountDownLatch(1);

    /**
     * Connects lazily: nothing here waits for Redis, and an unreachable Redis only makes the instance degraded.
     *
     * @param store this instance's copy, read when rejoining to push versions made while Redis was away
     * @param historySize versions of each source kept in Redis for resume
     */
    public RedisTransport(ClusterConfig config, SnapshotStore store, int historySize) {
        this(config, store, historySize, InstantSource.system());
    }

    /** As above, with the clock that times retries of refused claims. */
    RedisTransport(ClusterConfig config, SnapshotStore store, int historySize, InstantSource clock) {
        this.config = config;
        this.store = store;
        byte[] id = new byte[6];
        ThreadLocalRandom.current().nextBytes(id);
        this.instance = HexFormat.of().formatHex(id);
        this.connector = new Connector(config, instance);
        this.shared = new SharedSnapshots(instance, historySize, config.ttl());
        this.leases = new Leases(instance, clock);
        this.subscription = new Subscription(
                connector, m -> shared.received(m, receiver), this::catchUp, this::degrade, () -> degraded);
        this.keeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cluster-keeper");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The request budgets counted in this cluster's Redis, across every instance; while Redis cannot be reached, in
     * this instance on {@code clock}, at once while this transport is degraded (no check waits for Redis then).
     */
    public Ledger ledger(InstantSource clock) {
        return new RedisLedger(connector, instance, new LocalLedger(clock), () -> degraded || closed, this::degrade);
    }

    @Override
    public void onSnapshot(Consumer<Snapshot> receiver) {
        this.receiver = receiver;
    }

    @Override
    public void start(Collection<SourceConfig> all, Predicate<String> active) {
        this.active = active;
        retain(all);
        boolean reachable = false;
        try {
            connector.link().client().ping();
            reachable = true;
        } catch (RuntimeException e) {
            degrade(e);
        }
        startDone.countDown(); // claims may go ahead: each claim reads its source's shared state first
        if (reachable) {
            try {
                loadAll();
                joinedOnce = true;
                LOG.log(Level.INFO, "cluster: joined via " + connector.where() + " as instance " + instance);
            } catch (RuntimeException e) {
                degrade(e);
            }
        }
        subscription.start();
        long period = Math.clamp(
                sources.values().stream()
                                .mapToLong(s -> Leases.ttl(s).toMillis())
                                .min()
                                .orElse(3000)
                        / 3,
                100,
                2000);
        keeper.scheduleWithFixedDelay(this::keep, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public void retain(Collection<SourceConfig> all) {
        Map<String, SourceConfig> byId = new LinkedHashMap<>();
        all.forEach(s -> byId.put(s.id(), s));
        Map<String, SourceConfig> before = sources;
        this.sources = Map.copyOf(byId);
        if (!degraded && startDone.getCount() == 0) { // start() itself reads every source
            try {
                for (String id : byId.keySet()) {
                    if (!before.containsKey(id)) {
                        load(id); // a source added by a config reload may be shared already
                    }
                }
            } catch (RuntimeException e) {
                degrade(e);
            }
        }
    }

    @Override
    public boolean mayProduce(String sourceId) {
        try {
            // start() may run beside the web server's start: decide only once the shared state is known
            startDone.await(config.timeout().toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        SourceConfig s = sources.get(sourceId);
        if (degraded || closed || s == null) {
            return !closed;
        }
        try {
            if (leases.token(sourceId) != null) {
                return true;
            }
            if (!leases.claim(connector.link(), s)) {
                return false;
            }
            LOG.log(Level.DEBUG, "cluster: source " + sourceId + ": claimed");
            load(sourceId); // continue from the newest shared version
            return true;
        } catch (RuntimeException e) {
            degrade(e);
            return true;
        }
    }

    @Override
    public boolean publish(Snapshot s) {
        if (closed) {
            return false;
        }
        if (!degraded) {
            String token = leases.token(s.id());
            if (token == null) {
                return false;
            }
            try {
                long answer = shared.write(connector.link(), s, token);
                if (answer == 0) {
                    leases.forget(s.id());
                    LOG.log(Level.INFO, "cluster: source " + s.id() + ": lease taken over by another instance");
                    return false;
                }
                if (answer < 0) {
                    load(s.id()); // another instance pushed a newer version while Redis was away
                    return false;
                }
            } catch (RuntimeException e) {
                degrade(e);
            }
        }
        receiver.accept(s);
        return true;
    }

    @Override
    public Optional<String> clusterState() {
        return Optional.of(degraded ? "degraded" : "ok");
    }

    @Override
    public boolean joinedOnce() {
        return joinedOnce;
    }

    /** This instance's id in the cluster (random per process). */
    public String instance() {
        return instance;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        keeper.shutdownNow();
        try {
            if (!degraded && !leases.heldIds().isEmpty()) {
                leases.releaseAll(connector.link());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "cluster: releasing leases failed: " + connector.safe(e));
        }
        subscription.close();
        connector.close();
    }

    private void load(String id) {
        shared.load(connector.link(), id, receiver);
    }

    private void loadAll() {
        for (String id : sources.keySet()) {
            load(id);
        }
    }

    /** A new subscription: read whatever was published while this instance was not listening. */
    private void catchUp() {
        try {
            loadAll();
        } catch (RuntimeException e) {
            degrade(e);
        }
    }

    /** The keeper's tick: renews leases, or, while degraded, checks whether Redis is back. */
    private void keep() {
        try {
            if (degraded) {
                connector.link().client().ping();
                rejoin();
            } else {
                for (String id : leases.renew(connector.link(), sources, active)) {
                    if (!degraded) { // a renewal that outlived a failure reports leases already given up
                        LOG.log(Level.INFO, "cluster: source " + id + ": lease lost; another instance polls it now");
                    }
                }
            }
        } catch (RuntimeException e) {
            degrade(e);
        }
    }

    /**
     * Redis is reachable again: push newer local versions, take the shared state, produce only what is claimed. In a
     * cluster this touches every source's slot, so it fails (and the instance stays degraded) until each slot has a
     * primary again.
     */
    private void rejoin() {
        Link link = connector.link();
        for (String id : sources.keySet()) {
            // the local copy is what this instance served while alone; offer it to the cluster if it is newer
            store.latest(id).filter(Snapshot::hasData).ifPresent(s -> {
                long answer = shared.write(link, s, "");
                if (answer == 1) {
                    LOG.log(Level.DEBUG, "cluster: source " + id + ": pushed local version " + s.version());
                }
            });
            load(id);
        }
        degraded = false;
        joinedOnce = true;
        LOG.log(Level.INFO, "cluster: Redis at " + connector.where() + " is reachable again; rejoined the cluster");
    }

    private void degrade(RuntimeException e) {
        if (closed) {
            return;
        }
        synchronized (this) {
            if (degraded) {
                return;
            }
            degraded = true;
        }
        leases.forgetAll();
        LOG.log(
                Level.WARNING,
                "cluster: Redis at " + connector.where() + " is unreachable (" + connector.safe(e)
                        + "); serving local data and polling every source here until it returns");
        subscription.drop();
    }
}
