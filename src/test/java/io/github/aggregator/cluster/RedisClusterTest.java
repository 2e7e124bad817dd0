package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.RedisCluster;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import io.github.aggregator.testing.Upstream.Reply;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * Real instances against a real Redis Cluster of six redis-server processes (three primaries, three replicas). The
 * upstream answers a new number on every request, so every fetch is a new version; who fetched what is told by the
 * upstream's request log (each instance sends its own User-Agent).
 */
class RedisClusterTest {
    private static final List<String> IDS = List.of("alpha", "bravo", "charlie", "delta", "echo");
    private static final Duration WAIT = Duration.ofSeconds(30);

    private RedisCluster redis;
    private Upstream upstream;
    private final AtomicInteger counter = new AtomicInteger();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private final String prefix = "t" + UUID.randomUUID().toString().substring(0, 8) + ":";

    @BeforeEach
    void setUp() throws Exception {
        redis = RedisCluster.start();
        upstream = new Upstream().reply(Reply.custom(exchange -> {
            byte[] body = ("{\"n\":" + counter.incrementAndGet() + "}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
        upstream.close();
        redis.close();
    }

    private Service instance(String name, String url, String nodes) {
        StringBuilder yaml = new StringBuilder("""
                cluster:
                  redis:
                    url: ${REDIS_URL}
                    keyPrefix: "%s"
                """.formatted(prefix));
        if (nodes != null) {
            yaml.append("    nodes: ").append(nodes).append('\n');
        }
        yaml.append("aggregator:\n  userAgent: ").append(name).append("\n  historySize: 50\n  sources:\n");
        for (String id : IDS) {
            yaml.append("    - id: %s\n      url: %s/%s\n      interval: 2s\n".formatted(id, upstream.url(), id));
        }
        Service s = Service.start(yaml.toString(), Map.of("REDIS_URL", url));
        closing.add(s);
        return s;
    }

    private static String url(int port) {
        return "redis://127.0.0.1:" + port;
    }

    private static JsonNode status(Service s) throws IOException {
        HttpResponse<String> r = s.get("/api/sources");
        assertEquals(200, r.statusCode(), r.body());
        return Json.MAPPER.readTree(r.body());
    }

    private static long version(Service s, String id) throws IOException {
        HttpResponse<String> r = s.get("/api/sources/" + id);
        return r.statusCode() == 200
                ? Json.MAPPER.readTree(r.body()).get("version").asLong()
                : 0;
    }

    private static boolean ok(Service s) throws IOException {
        return status(s).get("cluster").asText().equals("ok");
    }

    /** Reads a stream on a thread of its own, keeping every frame that carries an id. */
    private List<Frame> record(Service s, String id, AtomicBoolean stop) {
        SseClient sse = SseClient.open(s.client(), s.uri("/api/sources/" + id + "/events"));
        closing.add(sse);
        List<Frame> frames = new CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            try {
                while (!stop.get() && !sse.ended()) {
                    Frame f = sse.next(Duration.ofSeconds(1));
                    if (f != null && f.id() != null) {
                        frames.add(f);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return frames;
    }

    /** Ids never go back on a stream, and every update is a newer version than the frame before it. */
    private static void assertForward(List<Frame> frames, String where) {
        long last = 0;
        for (Frame f : frames) {
            long v = f.version();
            assertTrue(v >= last, where + ": version " + v + " after " + last);
            if ("update".equals(f.event())) {
                assertTrue(v > last, where + ": update " + v + " after " + last);
            }
            last = v;
        }
    }

    private Set<String> pollersOf(String id, int from) {
        return upstream.requests().subList(from, upstream.hits()).stream()
                .filter(r -> r.uri().getPath().equals("/" + id))
                .map(r -> r.headers().getFirst("User-Agent"))
                .collect(Collectors.toSet());
    }

    @Test
    void instancesJoinThroughAnyNodeAndShareEverySourceOncePolled() throws Exception {
        List<Integer> nodes = redis.ports();
        // redis-cli makes the first three nodes primaries: the second instance comes in through a replica
        Service a = instance("inst-a", url(nodes.get(0)), null);
        Service b = instance("inst-b", url(nodes.get(4)), null);
        Service c = instance("inst-c", url(nodes.get(2)), null);
        List<Service> all = List.of(a, b, c);
        for (Service s : all) {
            Await.isTrue(() -> ok(s) && IDS.stream().allMatch(id -> uncheckedVersion(s, id) >= 2), WAIT, "joined");
        }
        Keys keys = new Keys(prefix, true);
        Set<Integer> primaries =
                IDS.stream().map(id -> redis.primaryOf(keys.snapshot(id))).collect(Collectors.toSet());
        assertTrue(primaries.size() > 1, "the sources live on several primaries: " + primaries);
        for (String id : IDS) {
            try (Jedis j = new Jedis("127.0.0.1", redis.primaryOf(keys.snapshot(id)))) {
                assertTrue(j.exists(keys.snapshot(id)) && j.exists(keys.history(id)), "shared state of " + id);
            }
        }

        AtomicBoolean stop = new AtomicBoolean();
        List<List<Frame>> streams = new ArrayList<>();
        for (Service s : all) {
            streams.add(record(s, "alpha", stop));
        }
        int mark = upstream.hits();
        // every instance's stream sees new versions, whichever instance fetched them
        for (List<Frame> frames : streams) {
            Await.isTrue(
                    () -> frames.stream()
                                    .filter(f -> "update".equals(f.event()))
                                    .count()
                            >= 4,
                    WAIT,
                    "updates");
        }
        stop.set(true);
        for (String id : IDS) {
            assertEquals(1, pollersOf(id, mark).size(), id + " polled by one instance: " + pollersOf(id, mark));
        }
        for (int i = 0; i < streams.size(); i++) {
            assertForward(streams.get(i), "instance " + i);
        }
    }

    @Test
    void aPrimaryFailoverIsSurvivedWithVersionsNeverGoingBack() throws Exception {
        List<Integer> nodes = redis.ports();
        Service a = instance("inst-a", url(nodes.get(0)), null);
        Service b = instance("inst-b", url(nodes.get(1)), null);
        for (Service s : List.of(a, b)) {
            Await.isTrue(() -> ok(s) && IDS.stream().allMatch(id -> uncheckedVersion(s, id) >= 2), WAIT, "joined");
        }
        String key = new Keys(prefix, true).snapshot("alpha");
        int dead = redis.primaryOf(key);
        AtomicBoolean stop = new AtomicBoolean();
        List<Frame> onA = record(a, "alpha", stop);
        List<Frame> onB = record(b, "alpha", stop);
        Await.isTrue(() -> onA.size() >= 2 && onB.size() >= 2, WAIT, "streams running");
        long before = Math.max(version(a, "alpha"), version(b, "alpha"));

        long killed = System.nanoTime();
        redis.kill(dead);
        int promoted = redis.awaitPromotion(key, dead, Duration.ofSeconds(60));
        long promotedAt = System.nanoTime();

        // both instances are back in the cluster, and versions keep moving on every stream
        for (Service s : List.of(a, b)) {
            Await.isTrue(() -> ok(s), WAIT, "back to ok after the failover");
        }
        System.out.printf(
                "primary on port %d killed; replica on port %d promoted after %d ms; instances ok after %d ms%n",
                dead, promoted, (promotedAt - killed) / 1_000_000, (System.nanoTime() - killed) / 1_000_000);
        long afterFailover = Math.max(version(a, "alpha"), version(b, "alpha"));
        Await.isTrue(
                () -> lastVersion(onA) > afterFailover + 1 && lastVersion(onB) > afterFailover + 1,
                WAIT,
                "new versions on both streams after the failover");
        int mark = upstream.hits();
        Await.isTrue(() -> upstream.hits() > mark + 2 * IDS.size(), WAIT, "polling goes on");
        for (String id : IDS) {
            assertEquals(1, pollersOf(id, mark).size(), id + " polled by one instance again: " + pollersOf(id, mark));
        }
        stop.set(true);
        assertForward(onA, "instance a");
        assertForward(onB, "instance b");
        assertTrue(lastVersion(onA) > before);

        // a new instance, coming in through the promoted node, continues from the shared state
        long seen = Math.max(lastVersion(onA), lastVersion(onB));
        try (LogCapture logs = LogCapture.start()) {
            Service c = instance("inst-c", url(promoted), null);
            long first = Await.until(() -> uncheckedVersion(c, "alpha"), v -> v > 0, WAIT);
            assertTrue(first >= seen, "a new instance serves version " + first + ", the streams had seen " + seen);
            assertTrue(
                    logs.records().stream().noneMatch(l -> l.contains("CROSSSLOT")), String.join("\n", logs.records()));
        }
    }

    @Test
    void aSubscriberWhoseNodeDiesListensOnAnotherAndHearsWhatIsPublishedElsewhere() throws Exception {
        List<Integer> nodes = redis.ports();
        String instanceA;
        Service a;
        try (LogCapture logs = LogCapture.start()) {
            a = instance("inst-a", url(nodes.get(0)), null);
            instanceA = Await.until(
                    () -> logs.records().stream()
                            .filter(l -> l.contains(" as instance "))
                            .map(l -> l.substring(l.lastIndexOf(' ') + 1))
                            .findFirst()
                            .orElse(""),
                    id -> !id.isEmpty(),
                    WAIT);
        }
        Service b = instance("inst-b", url(nodes.get(3)), null);
        for (Service s : List.of(a, b)) {
            Await.isTrue(() -> ok(s) && IDS.stream().allMatch(id -> uncheckedVersion(s, id) >= 2), WAIT, "joined");
        }
        int listening = Await.until(() -> subscriberNode(instanceA), p -> p > 0, WAIT);
        redis.kill(listening);
        int now = Await.until(() -> subscriberNode(instanceA), p -> p > 0, WAIT);
        redis.awaitFailed(listening, Duration.ofSeconds(60));
        for (Service s : List.of(a, b)) {
            Await.isTrue(() -> ok(s), WAIT, "ok after the node died");
        }
        // a snapshot published on a node other than the one a listens on reaches a (and b). Published again on each
        // check: a degraded instance that just rejoined may be between subscriptions, and pub/sub keeps nothing
        long next = version(a, "alpha") + 1000;
        Instant at = Instant.now();
        String message = "test\n"
                + SnapshotCodec.encode(
                        new Snapshot("alpha", next, at, at, false, null, IntNode.valueOf(-1), "published-by-test"));
        AtomicInteger elsewhere = new AtomicInteger();
        Await.isTrue(
                () -> {
                    int listens = subscriberNode(instanceA);
                    elsewhere.set(nodes.stream()
                            .filter(p -> p != listening && p != listens)
                            .findFirst()
                            .orElseThrow());
                    try (Jedis j = new Jedis("127.0.0.1", elsewhere.get())) {
                        j.publish(prefix + "snapshots", message);
                    }
                    return listens > 0 && version(a, "alpha") >= next && version(b, "alpha") >= next;
                },
                WAIT,
                "the published version arrives");
        System.out.println("subscriber moved from node " + listening + " to " + now + " (at the end: "
                + subscriberNode(instanceA) + "); heard a PUBLISH made on " + elsewhere);
    }

    /** The port of the live node where instance {@code id} holds its subscription, or 0 when it holds none. */
    private int subscriberNode(String id) {
        for (int port : redis.ports()) {
            try (Jedis j = new Jedis("127.0.0.1", port)) {
                for (String client : j.clientList().split("\n")) {
                    if (client.contains("name=aggregator-" + id + " ") && client.contains("cmd=subscribe")) {
                        return port;
                    }
                }
            } catch (RuntimeException e) {
                // a dead node
            }
        }
        return 0;
    }

    @Test
    void seedNodesLetAnInstanceJoinWhileTheUrlsNodeIsDown() throws Exception {
        List<Integer> nodes = redis.ports();
        int nowhere = Ports.free();
        String seeds = "[\"127.0.0.1:" + nodes.get(1) + "\", \"127.0.0.1:" + nodes.get(3) + "\"]";
        Service a = instance("inst-a", url(nowhere), seeds);
        Await.isTrue(() -> ok(a) && version(a, "alpha") >= 2, WAIT, "joined through a seed node");
        Service b = instance("inst-b", url(nodes.get(5)), null);
        Await.isTrue(() -> version(b, "alpha") >= 2, WAIT, "a second instance sees the shared state");
        assertEquals("ok", status(b).get("cluster").asText());
    }

    private static long lastVersion(List<Frame> frames) {
        return frames.isEmpty() ? 0 : frames.getLast().version();
    }

    private static long uncheckedVersion(Service s, String id) {
        try {
            return version(s, id);
        } catch (IOException e) {
            return 0;
        }
    }
}
