package io.github.aggregator.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;

/**
 * A real Redis Cluster owned by one test: three primaries and three replicas, each a {@code redis-server} with
 * {@code --cluster-enabled yes} on free loopback ports (client and bus port), joined with
 * {@code redis-cli --cluster create ... --cluster-replicas 1}. Nothing is persisted. A primary can be killed to play a
 * failover; {@link #awaitPromotion} waits until one of its replicas has taken over its slots.
 */
public final class RedisCluster implements AutoCloseable {
    /** How long a node may be silent before the others fail it over (milliseconds). */
    private static final int NODE_TIMEOUT = 1000;

    private final Path dir;
    private final List<Integer> ports = new ArrayList<>();
    private final Map<Integer, Process> processes = new TreeMap<>();

    private RedisCluster() throws IOException {
        this.dir = Files.createTempDirectory("redis-cluster-test");
    }

    /**
     * Starts six nodes and creates the cluster; returns once every node reports {@code cluster_state:ok} and every
     * replica is in sync with its primary (so a killed primary can be failed over).
     */
    public static RedisCluster start() throws IOException, InterruptedException {
        RedisCluster c = new RedisCluster();
        try {
            for (int i = 0; i < 6; i++) {
                c.startNode();
            }
            List<String> create = new ArrayList<>(List.of(cli(), "--cluster", "create"));
            c.ports.forEach(p -> create.add("127.0.0.1:" + p));
            create.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
            Process p = new ProcessBuilder(create)
                    .redirectErrorStream(true)
                    .redirectOutput(c.dir.resolve("create.log").toFile())
                    .start();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("redis-cli --cluster create failed: "
                        + Files.readString(c.dir.resolve("create.log")).strip());
            }
            c.awaitHealthy(Duration.ofSeconds(60));
            return c;
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Starts one node on free ports. A port found free can be taken by another process before the node binds it, so a
     * node that fails only because an address is in use is started again on other ports, a few times.
     */
    private void startNode() throws IOException {
        for (int attempt = 1; ; attempt++) {
            int port = Ports.free();
            int busPort = Ports.free();
            if (busPort == port) {
                continue;
            }
            try {
                startNode(port, busPort);
                return;
            } catch (IllegalStateException e) {
                Process p = processes.remove(port);
                ports.remove(Integer.valueOf(port));
                if (p != null) {
                    p.destroyForcibly();
                }
                if (attempt >= 3 || !String.valueOf(e.getMessage()).contains("Address already in use")) {
                    throw e;
                }
            }
        }
    }

    private void startNode(int port, int busPort) throws IOException {
        List<String> cmd = List.of(
                RedisServer.binary(),
                "--port",
                Integer.toString(port),
                "--cluster-port",
                Integer.toString(busPort),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes-" + port + ".conf",
                "--cluster-node-timeout",
                Integer.toString(NODE_TIMEOUT),
                "--repl-diskless-sync-delay",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                dir.toString());
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis-" + port + ".log").toFile())
                .start();
        ports.add(port);
        processes.put(port, p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!answersPing(port)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("redis-server did not start on port " + port + ": "
                        + Files.readString(dir.resolve("redis-" + port + ".log"))
                                .strip());
            }
            pause();
        }
    }

    /** {@code redis://127.0.0.1:PORT} of the first node. */
    public String url() {
        return "redis://127.0.0.1:" + ports.getFirst();
    }

    /** The client ports of all six nodes, in start order. */
    public List<Integer> ports() {
        return List.copyOf(ports);
    }

    /** The port of the primary that serves {@code key} now. */
    public int primaryOf(String key) {
        for (int port : livePorts()) {
            try (Jedis j = new Jedis("127.0.0.1", port)) {
                int slot = (int) j.clusterKeySlot(key);
                for (String line : j.clusterNodes().split("\n")) {
                    String[] f = line.split(" ");
                    if (!f[2].contains("master") || f[2].contains("fail")) {
                        continue;
                    }
                    for (int i = 8; i < f.length; i++) {
                        String[] range = f[i].split("-");
                        int from = Integer.parseInt(range[0].trim());
                        int to = range.length > 1 ? Integer.parseInt(range[1].trim()) : from;
                        if (slot >= from && slot <= to) {
                            return Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1, f[1].indexOf('@')));
                        }
                    }
                }
            } catch (RuntimeException e) {
                // a node going away: ask the next
            }
        }
        throw new IllegalStateException("no primary serves " + key);
    }

    /** Kills the node on {@code port} (SIGKILL) and waits for the process to end. */
    public void kill(int port) throws InterruptedException {
        Process p = processes.get(port);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
    }

    /** Waits until a node other than {@code deadPort} serves {@code key} and the live nodes agree the cluster is ok. */
    public int awaitPromotion(String key, int deadPort, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                int now = primaryOf(key);
                if (now != deadPort && healthy()) {
                    return now;
                }
            } catch (IllegalStateException e) {
                // slots not covered yet
            }
            pause();
        }
        throw new AssertionError("no replica took over from port " + deadPort + " within " + within);
    }

    /**
     * Waits until every live node has marked the killed node on {@code deadPort} as failed and the cluster is ok
     * again (for a primary: one of its replicas has taken over its slots).
     */
    public void awaitFailed(int deadPort, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!(healthy() && markedFailed(deadPort))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("node on port " + deadPort + " not failed over within " + within);
            }
            pause();
        }
    }

    private boolean markedFailed(int deadPort) {
        for (int port : livePorts()) {
            try (Jedis j = new Jedis("127.0.0.1", port)) {
                boolean marked = false;
                for (String line : j.clusterNodes().split("\n")) {
                    String[] f = line.split(" ");
                    if (f[1].startsWith("127.0.0.1:" + deadPort + "@")
                            && f[2].contains("fail")
                            && !f[2].contains("fail?")) {
                        marked = true;
                    }
                }
                if (!marked) {
                    return false;
                }
            } catch (RuntimeException e) {
                return false;
            }
        }
        return true;
    }

    /** Waits until every live node reports {@code cluster_state:ok} and every live replica is in sync. */
    public void awaitHealthy(Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!healthy()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("cluster not ok within " + within);
            }
            pause();
        }
    }

    private boolean healthy() {
        for (int port : livePorts()) {
            try (Jedis j = new Jedis("127.0.0.1", port)) {
                if (!j.clusterInfo().contains("cluster_state:ok")) {
                    return false;
                }
                String replication = j.info("replication");
                if (replication.contains("role:slave") && !replication.contains("master_link_status:up")) {
                    return false;
                }
            } catch (RuntimeException e) {
                return false;
            }
        }
        return true;
    }

    private List<Integer> livePorts() {
        return ports.stream().filter(p -> processes.get(p).isAlive()).toList();
    }

    private static boolean answersPing(int port) {
        try (Jedis j = new Jedis("127.0.0.1", port)) {
            return "PONG".equals(j.ping());
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String cli() {
        Path server = Path.of(RedisServer.binary());
        Path beside = server.resolveSibling("redis-cli");
        if (Files.isExecutable(beside)) {
            return beside.toString();
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(d, "redis-cli");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new IllegalStateException(
                "redis-cli not found: install it (Debian: apt-get install redis-tools) to run the Redis Cluster tests");
    }

    /** Kills every node. */
    @Override
    public void close() throws InterruptedException {
        for (Process p : processes.values()) {
            p.destroyForcibly();
        }
        for (Process p : processes.values()) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
