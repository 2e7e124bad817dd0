package io.github.aggregator.cluster;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.stream.Transport;
import java.lang.System.Logger.Level;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.RedisClient;

/**
 * Clustered fan-out over a shared Redis. Each source is produced by the one instance holding its lease; that instance
 * writes the snapshot (latest and history, with a TTL) to Redis and publishes it on one channel; every instance
 * receives it, stores it in its own Caffeine copy and delivers it to its own subscribers. A new instance reads the
 * shared state at start, so it serves data at once without calling the upstream.
 *
 * <p>When Redis cannot be reached (at start or later) the instance is <em>degraded</em>: it logs one warning, keeps
 * serving what it has, produces every source itself and delivers locally. A background check notices Redis coming
 * back, pushes any newer local versions, reloads the shared state and rejoins, so versions only move forward.
 *
 * <p>Thread-safe. Redis credentials are never logged.
 */
public final class RedisTransport implements Transport {
    private static final System.Logger LOG = System.getLogger(RedisTransport.class.getName());

    /**
     * Writes a snapshot if the caller's lease token is still in {@code KEYS[1]} and the version does not go back;
     * appends it to the history when it is a new version with data; publishes it. Answers 1 (written), 0 (lease
     * lost) or -1 (Redis holds a newer version). With an empty token it is the rejoin merge: no lease, and only a
     * strictly newer version is written.
     */
    private static final String WRITE = """
            if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '-1')
            local nv = tonumber(ARGV[2])
            if nv < v or (ARGV[1] == '' and nv == v) then return -1 end
            redis.call('HSET', KEYS[2], 'v', ARGV[2], 'json', ARGV[3])
            redis.call('PEXPIRE', KEYS[2], ARGV[5])
            if nv > v and ARGV[8] == '1' then
              redis.call('RPUSH', KEYS[3], ARGV[3])
              redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
            end
            redis.call('PEXPIRE', KEYS[3], ARGV[5])
            redis.call('PUBLISH', ARGV[6], ARGV[7])
            return 1
            """;

    private final ClusterConfig config;
    private final SnapshotStore store;
    private final int historySize;
    private final String instance;
    private final String channel;
    private final RedisClient redis;
    private final HostAndPort address;
    private final JedisClientConfig subscriberConfig;
    private final Leases leases;
    private final ScheduledExecutorService keeper;
    private final Thread subscriberThread;
    private final Listener listener = new Listener();
    private volatile Consumer<Snapshot> receiver = s -> {};
    private volatile Map<String, SourceConfig> sources = Map.of();
    private volatile Predicate<String> active = id -> true;
    private volatile boolean degraded;
    private volatile boolean closed;
    private volatile boolean joinedOnce;
    private final CountDownLatch startDone = new CountDownLatch(1);
    private volatile Jedis subscriberConnection;

    /**
     * Connects lazily: nothing here waits for Redis, and an unreachable Redis only makes the instance degraded.
     *
     * @param store this instance's copy, read when rejoining to push versions made while Redis was away
     * @param historySize versions of each source kept in Redis for resume
     */
    public RedisTransport(ClusterConfig config, SnapshotStore store, int historySize) {
        this.config = config;
        this.store = store;
        this.historySize = historySize;
        byte[] id = new byte[6];
        ThreadLocalRandom.current().nextBytes(id);
        this.instance = HexFormat.of().formatHex(id);
        this.channel = config.keyPrefix() + "snapshots";
        this.address = new HostAndPort(config.host(), config.port());
        int timeout = (int) config.timeout().toMillis();
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
                .resp2()
                .connectionTimeoutMillis(timeout)
                .socketTimeoutMillis(timeout)
                .database(config.database())
                .ssl(config.tls())
                .clientName("aggregator-" + instance);
        if (config.password() != null) {
            b.user(config.user()).password(config.password());
        }
        JedisClientConfig clientConfig = b.build();
        // the subscriber blocks reading; the keeper's checks notice a dead Redis and close it
        this.subscriberConfig = DefaultJedisClientConfig.builder()
                .from(clientConfig)
                .socketTimeoutMillis(0)
                .build();
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        pool.setMaxTotal(32);
        pool.setMaxIdle(8);
        pool.setMaxWait(config.timeout());
        pool.setJmxEnabled(false);
        this.redis = RedisClient.builder()
                .hostAndPort(address)
                .clientConfig(clientConfig)
                .poolConfig(pool)
                .build();
        this.leases = new Leases(config.keyPrefix(), instance);
        this.keeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cluster-keeper");
            t.setDaemon(true);
            return t;
        });
        this.subscriberThread = new Thread(this::subscribeLoop, "cluster-subscriber");
        subscriberThread.setDaemon(true);
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
            redis.ping();
            reachable = true;
        } catch (RuntimeException e) {
            degrade(e);
        }
        startDone.countDown(); // claims may go ahead: each claim reads its source's shared state first
        if (reachable) {
            try {
                loadAll();
                joinedOnce = true;
                LOG.log(Level.INFO, "cluster: joined via " + config.where() + " as instance " + instance);
            } catch (RuntimeException e) {
                degrade(e);
            }
        }
        subscriberThread.start();
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
            if (!leases.claim(redis, s)) {
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
                long answer = write(s, token);
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
            if (!degraded) {
                leases.releaseAll(redis);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "cluster: releasing leases failed: " + safe(e));
        }
        Jedis sub = subscriberConnection;
        if (sub != null) {
            sub.disconnect();
        }
        subscriberThread.interrupt();
        redis.close();
    }

    private long write(Snapshot s, String token) {
        String json = SnapshotCodec.encode(s);
        Object answer = redis.eval(
                WRITE,
                List.of(leases.key(s.id()), snapKey(s.id()), historyKey(s.id())),
                List.of(
                        token,
                        Long.toString(s.version()),
                        json,
                        Integer.toString(historySize),
                        Long.toString(config.ttl().toMillis()),
                        channel,
                        instance + "\n" + json,
                        s.hasData() ? "1" : "0"));
        return answer instanceof Long l ? l : 0;
    }

    /** Hands the shared history and latest snapshot of {@code id} to the receiver, oldest first. */
    private void load(String id) {
        List<String> history = redis.lrange(historyKey(id), 0, -1);
        for (String h : history) {
            deliver(h);
        }
        String latest = redis.hget(snapKey(id), "json");
        if (latest != null) {
            deliver(latest);
        }
    }

    private void loadAll() {
        for (String id : sources.keySet()) {
            load(id);
        }
    }

    private void deliver(String json) {
        Snapshot s;
        try {
            s = SnapshotCodec.decode(json);
        } catch (IllegalArgumentException e) {
            LOG.log(Level.WARNING, "cluster: ignoring an unreadable shared snapshot (" + e.getMessage() + ")");
            return;
        }
        receiver.accept(s); // the receiver ignores sources no longer in force
    }

    /** The keeper's tick: renews leases, or, while degraded, checks whether Redis is back. */
    private void keep() {
        try {
            if (degraded) {
                redis.ping();
                rejoin();
            } else {
                for (String id : leases.renew(redis, sources, active)) {
                    LOG.log(Level.INFO, "cluster: source " + id + ": lease lost; another instance polls it now");
                }
            }
        } catch (RuntimeException e) {
            degrade(e);
        }
    }

    /** Redis is reachable again: push newer local versions, take the shared state, produce only what is claimed. */
    private void rejoin() {
        for (String id : sources.keySet()) {
            // the local copy is what this instance served while alone; offer it to the cluster if it is newer
            store.latest(id).filter(Snapshot::hasData).ifPresent(s -> {
                long answer = write(s, "");
                if (answer == 1) {
                    LOG.log(Level.DEBUG, "cluster: source " + id + ": pushed local version " + s.version());
                }
            });
            load(id);
        }
        degraded = false;
        joinedOnce = true;
        LOG.log(Level.INFO, "cluster: Redis at " + config.where() + " is reachable again; rejoined the cluster");
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
                "cluster: Redis at " + config.where() + " is unreachable (" + safe(e)
                        + "); serving local data and polling every source here until it returns");
        Jedis sub = subscriberConnection;
        if (sub != null) {
            sub.disconnect();
        }
    }

    private void subscribeLoop() {
        while (!closed) {
            if (!degraded) {
                try (Jedis j = new Jedis(address, subscriberConfig)) {
                    subscriberConnection = j;
                    j.subscribe(listener, channel);
                } catch (RuntimeException e) {
                    if (!closed) {
                        degrade(e);
                    }
                } finally {
                    subscriberConnection = null;
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private final class Listener extends JedisPubSub {
        @Override
        public void onSubscribe(String channel, int subscribedChannels) {
            try {
                loadAll(); // whatever was published while this instance was not listening
            } catch (RuntimeException e) {
                degrade(e);
            }
        }

        @Override
        public void onMessage(String channel, String message) {
            int nl = message.indexOf('\n');
            if (nl < 0 || message.regionMatches(0, instance, 0, nl) && nl == instance.length()) {
                return; // our own write, delivered when it was made
            }
            deliver(message.substring(nl + 1));
        }
    }

    private String snapKey(String id) {
        return config.keyPrefix() + "snap:" + id;
    }

    private String historyKey(String id) {
        return config.keyPrefix() + "hist:" + id;
    }

    /** An exception as one line without credentials. */
    private String safe(RuntimeException e) {
        String m = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null) {
            m += " (" + cause.getClass().getSimpleName() + ": " + cause.getMessage() + ")";
        }
        String password = config.password();
        if (password != null && !password.isEmpty()) {
            m = m.replace(password, "***");
        }
        return m.replaceAll("\\s+", " ");
    }
}
