package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.MainProcess;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.RedisServer;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Several real instances against one real redis-server and one local upstream; who fetched what is told by the
 * upstream's request log (each instance sends its own User-Agent).
 */
class ClusterTest {
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final Duration WAIT = Duration.ofSeconds(15);

    private RedisServer redis;
    private Upstream upstream;
    private final List<Service> services = new ArrayList<>();
    private final String prefix = "t" + UUID.randomUUID().toString().substring(0, 8) + ":";

    @BeforeEach
    void setUp() throws IOException {
        redis = RedisServer.start();
        upstream = new Upstream().json("{\"v\":1}");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Service s : services) {
            s.close();
        }
        upstream.close();
        redis.close();
    }

    private String yaml(String name) {
        return """
                cluster:
                  redis:
                    url: ${REDIS_URL}
                    keyPrefix: "%s"
                aggregator:
                  userAgent: %s
                  historySize: 20
                  sources:
                    - id: price
                      url: %s/price
                      interval: %dms
                """.formatted(prefix, name, upstream.url(), INTERVAL.toMillis());
    }

    private Service instance(String name) {
        Service s = Service.start(yaml(name), Map.of("REDIS_URL", redis.url()));
        services.add(s);
        return s;
    }

    /** Upstream requests made by instance {@code name}. */
    /** The instances (by User-Agent) that made the upstream requests from index {@code from} on. */
    private java.util.Set<String> pollersSince(int from) {
        List<Upstream.Request> r = upstream.requests();
        java.util.Set<String> names = new java.util.TreeSet<>();
        r.subList(Math.min(from, r.size()), r.size())
                .forEach(x -> names.add(x.headers().getFirst("User-Agent")));
        return names;
    }

    /** Waits until the last three upstream requests came from one instance: the claims settled on one poller. */
    private void awaitOnePoller() throws Exception {
        Await.isTrue(
                () -> {
                    int n = upstream.hits();
                    return n >= 3 && pollersSince(n - 3).size() == 1;
                },
                Duration.ofSeconds(30),
                "one instance polls");
    }

    private long fetchesBy(String name) {
        return upstream.requests().stream()
                .filter(r -> name.equals(r.headers().getFirst("User-Agent")))
                .count();
    }

    private static JsonNode status(Service s) throws IOException {
        HttpResponse<String> r = s.get("/api/sources");
        assertEquals(200, r.statusCode(), r.body());
        return Json.MAPPER.readTree(r.body());
    }

    private static long version(Service s) throws IOException {
        return status(s).get("sources").get(0).get("version").asLong();
    }

    private static JsonNode envelope(Service s) throws IOException {
        HttpResponse<String> r = s.get("/api/sources/price");
        assertEquals(200, r.statusCode(), r.body());
        return Json.MAPPER.readTree(r.body());
    }

    @Test
    void threeInstancesCallTheUpstreamOncePerIntervalAndEveryoneSeesEveryChange() throws Exception {
        Service a = instance("inst-a");
        Service b = instance("inst-b");
        Service c = instance("inst-c");
        List<Service> all = List.of(a, b, c);
        for (Service s : all) {
            Await.isTrue(() -> version(s) >= 1, WAIT, "first version everywhere");
            assertEquals("ok", status(s).get("cluster").asText());
        }
        // one instance polls: once the start-up claims settled, the next six requests all come from one instance
        awaitOnePoller();
        int before = upstream.hits();
        Await.isTrue(() -> upstream.hits() >= before + 6, WAIT, "six more upstream requests");
        assertEquals(1, pollersSince(before).size(), "exactly one instance polled: " + pollersSince(before));

        List<SseClient> streams = new ArrayList<>();
        try {
            for (Service s : all) {
                SseClient sse = SseClient.open(s.client(), s.uri("/api/sources/price/events"));
                streams.add(sse);
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                assertEquals("snapshot", sse.nextEvent(WAIT).event());
            }
            int mark = upstream.hits();
            upstream.json("{\"v\":2}");
            List<String> ids = new ArrayList<>();
            for (SseClient sse : streams) {
                Frame f = nextData(sse);
                assertEquals(
                        2, Json.MAPPER.readTree(f.data()).get("data").get("v").asInt(), f.data());
                ids.add(f.id());
            }
            assertEquals(1, ids.stream().distinct().count(), "the same version everywhere: " + ids);
            for (Service s : all) {
                String metrics = s.get("/observe/metrics").body();
                assertTrue(metrics.contains("aggregator_changes_total{source=\"price\"} 2"), metrics);
            }
            // the change was fetched by one instance; the other two delivered it from Redis
            String fetcher = upstream.requests().get(mark).headers().getFirst("User-Agent");
            System.out.println("change fetched by " + fetcher + ", delivered by all three as version " + ids.get(0));
        } finally {
            streams.forEach(SseClient::close);
        }

        // a new instance serves the shared snapshot at once, without calling the upstream
        Service d = instance("inst-d");
        JsonNode env = envelope(d);
        assertEquals(2, env.get("data").get("v").asInt());
        assertEquals(version(a), env.get("version").asLong());
        assertEquals(0, fetchesBy("inst-d"), "the new instance called the upstream");
    }

    /** The next update/snapshot frame with data, skipping status-only events. */
    private static Frame nextData(SseClient sse) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Frame f = sse.nextEvent(WAIT);
            assertNotNull(f, "no event");
            if (f.event().equals("update") || f.event().equals("snapshot")) {
                return f;
            }
        }
        throw new AssertionError("no update within " + WAIT);
    }

    @Test
    void aReconnectToAnotherInstanceReplaysTheMissedVersions() throws Exception {
        Service a = instance("inst-a");
        Service b = instance("inst-b");
        Await.isTrue(() -> version(a) >= 1 && version(b) >= 1, WAIT, "first version");
        String lastSeen;
        try (SseClient sse = SseClient.open(a.client(), a.uri("/api/sources/price/events"))) {
            assertNotNull(sse.next(WAIT).retry());
            Frame snap = sse.nextEvent(WAIT);
            assertEquals("snapshot", snap.event());
            lastSeen = snap.id();
        }
        long seen = Long.parseLong(lastSeen.split("-")[0]);
        for (int i = 2; i <= 4; i++) {
            upstream.json("{\"v\":" + i + "}");
            long want = seen + i - 1;
            Await.isTrue(() -> version(b) >= want, WAIT, "version " + want + " on b");
        }
        try (SseClient sse =
                SseClient.open(b.client(), b.uri("/api/sources/price/events"), "Last-Event-ID", lastSeen)) {
            assertEquals(200, sse.status());
            assertNotNull(sse.next(WAIT).retry());
            for (int i = 1; i <= 3; i++) {
                Frame f = sse.nextEvent(WAIT);
                assertNotNull(f);
                assertEquals("update", f.event(), "a replayed version, not a fresh snapshot: " + f);
                assertEquals(seen + i, f.version());
                assertEquals(
                        i + 1,
                        Json.MAPPER.readTree(f.data()).get("data").get("v").asInt());
            }
        }
    }

    @Test
    void whenTheLeaseHolderDiesAnotherInstanceTakesOverWithinTwoIntervals() throws Exception {
        Path dir = Files.createTempDirectory("cluster-test");
        Path config = dir.resolve("application.yaml");
        Files.writeString(config, "server:\n  host: 127.0.0.1\n" + yaml("inst-p"));
        ConfigSchema.check(config, Map.of("REDIS_URL", redis.url()));
        Path log = dir.resolve("out.log");
        ProcessBuilder pb = MainProcess.builder("--config", config.toString());
        pb.environment().put("PORT", Integer.toString(Ports.free()));
        pb.environment().put("REDIS_URL", redis.url());
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process holder = pb.start();
        try {
            Await.isTrue(() -> fetchesBy("inst-p") >= 2, Duration.ofSeconds(30), "the first instance polls");
            Service a = instance("inst-a");
            Service b = instance("inst-b");
            Await.isTrue(() -> version(a) >= 1 && version(b) >= 1, WAIT, "others joined");
            long byHolder = fetchesBy("inst-p");
            Await.isTrue(() -> fetchesBy("inst-p") >= byHolder + 3, WAIT, "three more fetches by the holder");
            assertEquals(0, fetchesBy("inst-a") + fetchesBy("inst-b"), "only the holder polls");

            holder.destroyForcibly(); // SIGKILL: no lease release, no goodbye
            holder.waitFor(10, TimeUnit.SECONDS);
            List<Upstream.Request> requests = upstream.requests();
            long lastByHolder = requests.get(requests.size() - 1).nanoTime();
            Upstream.Request next = Await.until(
                    () -> upstream.requests().stream()
                            .filter(r -> !"inst-p".equals(r.headers().getFirst("User-Agent")))
                            .findFirst()
                            .orElse(null),
                    r -> r != null,
                    WAIT);
            assertNotNull(next, "nobody took over");
            long gapMillis = TimeUnit.NANOSECONDS.toMillis(next.nanoTime() - lastByHolder);
            System.out.println("takeover: " + gapMillis + " ms from the dead holder's last fetch to the next one");
            // the lease lapses on Redis's own clock (its ttl), so the takeover is observed in real time, with the
            // deadline above; its duration is printed, not asserted. Then one survivor polls
            int before = upstream.hits();
            Await.isTrue(() -> upstream.hits() >= before + 4, WAIT, "four more upstream requests");
            assertEquals(1, pollersSince(before).size(), "one poller after takeover: " + pollersSince(before));
        } finally {
            if (holder.isAlive()) {
                holder.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aRedisOutageKeepsEveryInstanceServingAndTheyConvergeWhenItReturns() throws Exception {
        Service a = instance("inst-a");
        Service b = instance("inst-b");
        Service c = instance("inst-c");
        List<Service> all = List.of(a, b, c);
        Await.isTrue(() -> version(a) >= 1 && version(b) >= 1 && version(c) >= 1, WAIT, "first version");

        // every subscriber records the versions it sees, to check none ever goes back
        List<List<Long>> seen = new ArrayList<>();
        List<SseClient> streams = new ArrayList<>();
        AtomicBoolean done = new AtomicBoolean();
        List<Thread> readers = new ArrayList<>();
        for (Service s : all) {
            SseClient sse = SseClient.open(s.client(), s.uri("/api/sources/price/events"));
            streams.add(sse);
            List<Long> versions = new CopyOnWriteArrayList<>();
            seen.add(versions);
            readers.add(Thread.ofVirtual().start(() -> {
                try {
                    while (!done.get()) {
                        Frame f = sse.nextEvent(Duration.ofMillis(200));
                        if (f != null && f.id() != null && !f.id().isEmpty()) {
                            versions.add(f.version());
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        try {
            redis.stop();
            for (Service s : all) {
                Await.isTrue(() -> "degraded".equals(status(s).get("cluster").asText()), WAIT, "degraded");
                // still ready (it serves and polls alone), with the degraded state as detail
                HttpResponse<String> ready = s.get("/observe/health/ready");
                assertEquals(200, ready.statusCode(), ready.body());
                assertTrue(ready.body().contains("\"cluster\":\"degraded\""), ready.body());
            }
            // each instance polls for itself now, and keeps serving
            int mark = upstream.hits();
            upstream.json("{\"v\":7}");
            for (Service s : all) {
                Await.isTrue(() -> envelope(s).get("data").get("v").asInt() == 7, WAIT, "the change, while alone");
            }
            Await.isTrue(
                    () -> List.of("inst-a", "inst-b", "inst-c").stream()
                            .allMatch(n -> upstream.requests().subList(mark, upstream.hits()).stream()
                                    .anyMatch(r -> n.equals(r.headers().getFirst("User-Agent")))),
                    WAIT,
                    "every instance polls while Redis is away");

            redis.restart();
            long back = System.nanoTime();
            for (Service s : all) {
                Await.isTrue(() -> "ok".equals(status(s).get("cluster").asText()), WAIT, "rejoined");
            }
            System.out.println("rejoined " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - back)
                    + " ms after Redis came back");
            upstream.json("{\"v\":8}");
            Await.isTrue(
                    () -> {
                        List<Long> versions = new ArrayList<>();
                        for (Service s : all) {
                            JsonNode e = envelope(s);
                            if (e.get("data").get("v").asInt() != 8) {
                                return false;
                            }
                            versions.add(e.get("version").asLong());
                        }
                        return versions.stream().distinct().count() == 1;
                    },
                    WAIT,
                    "all instances converge on one version of the new data");
            awaitOnePoller();
            int from = upstream.hits();
            Await.isTrue(() -> upstream.hits() >= from + 4, WAIT, "four more upstream requests");
            assertEquals(1, pollersSince(from).size(), "one poller again: " + pollersSince(from));
        } finally {
            done.set(true);
            for (Thread t : readers) {
                t.join(2000);
            }
            streams.forEach(SseClient::close);
        }
        for (List<Long> versions : seen) {
            assertFalse(versions.isEmpty());
            for (int i = 1; i < versions.size(); i++) {
                assertTrue(versions.get(i) >= versions.get(i - 1), "a version went back: " + versions);
            }
        }
    }

    @Test
    void aGracefulStopReleasesTheLeaseAtOnce() throws Exception {
        Service a = instance("inst-a");
        Service b = instance("inst-b");
        Await.isTrue(() -> version(a) >= 1 && version(b) >= 1, WAIT, "first version");
        String lease = prefix + "lease:price";
        String held = Await.until(() -> command(lease), v -> !v.equals("$-1"), WAIT);
        String holder = upstream.requests().get(upstream.hits() - 1).headers().getFirst("User-Agent");
        Service leaving = holder.equals("inst-a") ? a : b;
        leaving.close();
        services.remove(leaving);
        // released on close, not left to expire: gone, or already claimed anew by the other instance
        assertFalse(held.equals(command(lease)), "the stopped instance's lease is still there");
        String survivor = holder.equals("inst-a") ? "inst-b" : "inst-a";
        Await.isTrue(() -> fetchesBy(survivor) > 0, WAIT, "the other instance polls");
    }

    private String command(String key) {
        try {
            return redis.command("GET", key);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void anInstanceStartedWhileRedisIsDownServesAloneAndJoinsWhenItComesUp() throws Exception {
        redis.stop();
        Service a = instance("inst-a");
        assertEquals("degraded", status(a).get("cluster").asText());
        Await.isTrue(() -> version(a) >= 1, WAIT, "polls alone");
        // not ready before it has reached the cluster once: a load balancer keeps traffic on the joined instances
        HttpResponse<String> ready = a.get("/observe/health/ready");
        assertEquals(503, ready.statusCode(), ready.body());
        assertTrue(ready.body().contains("Redis not reached yet"), ready.body());
        redis.restart();
        long back = System.nanoTime();
        Await.isTrue(() -> "ok".equals(status(a).get("cluster").asText()), WAIT, "joined");
        System.out.println(
                "joined " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - back) + " ms after Redis came up");
        Await.isTrue(() -> a.get("/observe/health/ready").statusCode() == 200, WAIT, "ready once joined");
        // its local version was pushed on rejoin: a second instance starts from it without fetching
        Await.isTrue(() -> !redis.command("GET", prefix + "lease:price").equals("$-1"), WAIT, "a claimed it");
        Service b = instance("inst-b");
        assertEquals(version(a), version(b));
        assertEquals(0, fetchesBy("inst-b"));
    }
}
