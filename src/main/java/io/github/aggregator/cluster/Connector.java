package io.github.aggregator.cluster;

import io.github.aggregator.source.ClusterConfig;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.exceptions.JedisAccessControlException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * How this instance reaches Redis. The first successful contact decides the mode: the URL's server, then each seed in
 * {@code cluster.redis.nodes}, is asked {@code INFO cluster}; a node that answers {@code cluster_enabled:1} makes a
 * Redis Cluster client over all seeds (it learns the other nodes and follows failovers and slot moves), while a
 * standalone server at the URL gets a connection pool as before. Until a contact succeeds nothing is connected.
 * Thread-safe. Credentials are never logged.
 */
final class Connector implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Connector.class.getName());

    private final ClusterConfig config;
    private final JedisClientConfig standalone;
    /** The same without a database: a Redis Cluster has only database 0 and refuses SELECT. */
    private final JedisClientConfig clustered;

    private final List<HostAndPort> seeds;
    /** Where the subscriber's round of the nodes starts: random, so that instances spread over the nodes. */
    private final AtomicInteger nextSubscriberNode =
            new AtomicInteger(ThreadLocalRandom.current().nextInt(1 << 16));

    private volatile Link link;

    Connector(ClusterConfig config, String instance) {
        this.config = config;
        int timeout = (int) config.timeout().toMillis();
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
                .resp2()
                .connectionTimeoutMillis(timeout)
                .socketTimeoutMillis(timeout)
                .ssl(config.tls())
                .clientName("aggregator-" + instance);
        if (config.password() != null) {
            b.user(config.user()).password(config.password());
        }
        this.clustered = b.build();
        this.standalone = DefaultJedisClientConfig.builder()
                .from(clustered)
                .database(config.database())
                .build();
        Set<HostAndPort> all = new LinkedHashSet<>();
        all.add(new HostAndPort(config.host(), config.port()));
        config.nodes().forEach(n -> all.add(hostAndPort(n)));
        this.seeds = List.copyOf(all);
    }

    /** A checked {@code host:port} or {@code [v6-address]:port}. */
    private static HostAndPort hostAndPort(String node) {
        int colon = node.lastIndexOf(':');
        String host = node.substring(0, colon);
        if (host.startsWith("[")) {
            host = host.substring(1, host.length() - 1);
        }
        return new HostAndPort(host, Integer.parseInt(node.substring(colon + 1)));
    }

    /**
     * The link to Redis, made on the first call that reaches a seed.
     *
     * @throws RuntimeException (Jedis' exceptions) when no seed answers
     */
    Link link() {
        Link l = link;
        if (l != null) {
            return l;
        }
        synchronized (this) {
            if (link == null) {
                link = connect();
            }
            return link;
        }
    }

    private Link connect() {
        RuntimeException failure = null;
        for (int i = 0; i < seeds.size(); i++) {
            HostAndPort seed = seeds.get(i);
            boolean cluster;
            try (Jedis probe = new Jedis(seed, clustered)) {
                cluster = clusterEnabled(probe);
            } catch (RuntimeException e) {
                failure = e;
                continue;
            }
            if (cluster) {
                return clusterLink();
            }
            if (i == 0) {
                if (seeds.size() > 1) {
                    LOG.log(
                            Level.WARNING,
                            "cluster: cluster.redis.nodes is ignored: " + config.where()
                                    + " is a standalone Redis, not a Redis Cluster node");
                }
                return new Link(
                        RedisClient.builder()
                                .hostAndPort(seed)
                                .clientConfig(standalone)
                                .poolConfig(pool())
                                .build(),
                        new Keys(config.keyPrefix(), false));
            }
            // a standalone server among the extra seeds is some other Redis, never the one to share
            failure = new IllegalStateException(seed + " is not a Redis Cluster node");
        }
        throw failure;
    }

    /** Asks {@code INFO cluster}, or {@code CLUSTER INFO} where an ACL denies INFO (it is in {@code @dangerous}). */
    private static boolean clusterEnabled(Jedis probe) {
        try {
            return probe.info("cluster").contains("cluster_enabled:1");
        } catch (JedisDataException refused) {
            if (refused instanceof JedisAccessControlException
                    && !String.valueOf(refused.getMessage()).startsWith("NOPERM")) {
                throw refused; // a wrong password is no answer about the mode
            }
            try {
                probe.clusterInfo();
                return true;
            } catch (JedisDataException e) {
                return false; // "cluster support disabled", or denied too: a standalone server, as before
            }
        }
    }

    private Link clusterLink() {
        if (config.database() != 0) {
            LOG.log(
                    Level.WARNING,
                    "cluster: a Redis Cluster has only database 0; the URL's /" + config.database()
                            + " does not apply");
        }
        RedisClusterClient client = RedisClusterClient.builder()
                .nodes(new LinkedHashSet<>(seeds))
                .clientConfig(clustered)
                .poolConfig(pool())
                .maxAttempts(5)
                .maxTotalRetriesDuration(config.timeout().multipliedBy(2))
                .build();
        LOG.log(
                Level.DEBUG,
                "cluster: Redis Cluster with " + client.getClusterNodes().size() + " nodes");
        return new Link(client, new Keys(config.keyPrefix(), true));
    }

    private GenericObjectPoolConfig<Connection> pool() {
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        pool.setMaxTotal(32);
        pool.setMaxIdle(8);
        pool.setMaxWait(config.timeout());
        pool.setJmxEnabled(false);
        return pool;
    }

    /**
     * A new connection for the blocking subscriber (no read timeout): the standalone server, or in a cluster the next
     * known node in turn, so a subscriber whose node died resubscribes on another one.
     */
    Jedis subscriber() {
        Link l = link();
        JedisClientConfig forever = DefaultJedisClientConfig.builder()
                .from(l.cluster() ? clustered : standalone)
                .socketTimeoutMillis(0)
                .build();
        if (!l.cluster()) {
            return new Jedis(seeds.getFirst(), forever);
        }
        List<String> nodes = new ArrayList<>(
                ((RedisClusterClient) l.client()).getClusterNodes().keySet());
        if (nodes.isEmpty()) {
            seeds.forEach(s -> nodes.add(s.toString()));
        }
        nodes.sort(null);
        String node = nodes.get(Math.floorMod(nextSubscriberNode.getAndIncrement(), nodes.size()));
        return new Jedis(hostAndPort(node), forever);
    }

    /** Whether the link is to a Redis Cluster (false also while not connected). */
    boolean cluster() {
        Link l = link;
        return l != null && l.cluster();
    }

    /** Where Redis is, without credentials; safe to log. */
    String where() {
        return cluster() ? config.where().replaceFirst("/\\d+$", "") + " (Redis Cluster)" : config.where();
    }

    /** An exception as one line without credentials. */
    String safe(RuntimeException e) {
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

    @Override
    public void close() {
        Link l = link;
        if (l != null) {
            l.client().close();
        }
    }
}
