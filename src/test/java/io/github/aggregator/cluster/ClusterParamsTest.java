package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.RedisServer;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Instances of a parametrised source in the cluster mode: three real services on one real redis-server (started by the
 * test), one real upstream that answers with the city it was asked for and a content counter the test moves.
 */
class ClusterParamsTest {
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final Duration WAIT = Duration.ofSeconds(20);

    private RedisServer redis;
    private Upstream upstream;
    private final AtomicInteger content = new AtomicInteger(1);
    private final List<Service> services = new ArrayList<>();
    private final String prefix = "p" + UUID.randomUUID().toString().substring(0, 8) + ":";

    @BeforeEach
    void setUp() throws Exception {
        redis = RedisServer.start();
        upstream = new Upstream().reply(Upstream.Reply.custom(exchange -> {
            byte[] body = Json.MAPPER
                    .createObjectNode()
                    .put("query", exchange.getRequestURI().getRawQuery())
                    .put("v", content.get())
                    .toString()
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        }));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Service s : services) {
            s.close();
        }
        upstream.close();
        redis.close();
    }

    private Service node(String name) {
        Service s = Service.start(
                """
                cluster:
                  redis:
                    url: ${REDIS_URL}
                    keyPrefix: "%s"
                aggregator:
                  userAgent: %s
                  heartbeat: 500ms
                  sources:
                    - id: weather
                      url: %s/forecast?city={city}
                      interval: %dms
                      params:
                        city:
                          values: [NYC, London, Tokyo]
                """.formatted(prefix, name, upstream.url(), INTERVAL.toMillis()), Map.of("REDIS_URL", redis.url()));
        services.add(s);
        return s;
    }

    private long calls(String city) {
        return upstream.requests().stream()
                .filter(r -> ("city=" + city).equals(r.uri().getRawQuery()))
                .count();
    }

    /**
     * The node holding the lease of instance {@code weather(city=CITY)} in Redis (the part of its token before the
     * colon; the rest counts its claims), or {@code $-1} when unclaimed.
     */
    private String holder(String city) throws Exception {
        String token = redis.command("GET", prefix + "lease:weather(city=" + city + ")");
        return token.contains(":") ? token.substring(0, token.lastIndexOf(':')) : token;
    }

    /**
     * Waits until the first claims have settled: every instance of {@code cities} is claimed, and has been fetched
     * again since while no claim moved to another node, so that the fetches nodes made before the claims are over.
     * {@code read} runs on every check, to keep an instance without subscribers wanted.
     */
    private void awaitClaims(List<String> cities, Await.Check read) throws Exception {
        Map<String, String> held = new java.util.TreeMap<>();
        Map<String, Long> calls = new java.util.TreeMap<>();
        Await.isTrue(
                () -> {
                    assertTrue(read.holds());
                    Map<String, String> now = new java.util.TreeMap<>();
                    for (String city : cities) {
                        now.put(city, holder(city));
                    }
                    if (now.containsValue("$-1") || !now.equals(held)) { // not all claimed yet, or claimed anew
                        held.clear();
                        held.putAll(now);
                        cities.forEach(city -> calls.put(city, calls(city)));
                        return false;
                    }
                    return cities.stream().allMatch(city -> calls(city) > calls.get(city));
                },
                WAIT,
                "every instance claimed and fetched since under its claim");
    }

    private long callsBy(String node) {
        return upstream.requests().stream()
                .filter(r -> node.equals(r.headers().getFirst("User-Agent")))
                .count();
    }

    /** The next update or snapshot with data, skipping status events and heartbeats. */
    private static Frame nextData(SseClient sse) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Frame f = sse.nextEvent(WAIT);
            assertNotNull(f, "no event");
            if ("update".equals(f.event()) || "snapshot".equals(f.event())) { // the retry: line has no event
                return f;
            }
        }
        throw new AssertionError("no update within " + WAIT);
    }

    @Test
    void eachInstanceIsFetchedOncePerIntervalClusterWideAndEveryNodeServesItsSubscribers() throws Exception {
        Service a = node("node-a");
        Service b = node("node-b");
        Service c = node("node-c");
        List<Service> all = List.of(a, b, c);
        for (Service s : all) {
            Await.isTrue(
                    () -> Json.MAPPER
                            .readTree(s.get("/api/sources").body())
                            .path("cluster")
                            .asText()
                            .equals("ok"),
                    WAIT,
                    "joined the cluster");
        }
        // subscribers on two instances on every node, and pollers on a third
        List<SseClient> nyc = new ArrayList<>();
        List<SseClient> london = new ArrayList<>();
        long nycVersion;
        try {
            for (Service s : all) {
                for (int i = 0; i < 3; i++) {
                    nyc.add(SseClient.open(s.client(), s.uri("/api/sources/weather/events?city=NYC")));
                    london.add(SseClient.open(s.client(), s.uri("/api/sources/weather(city=London)/events")));
                }
            }
            for (SseClient sse : concat(nyc, london)) {
                assertEquals(200, sse.status());
                Frame f = nextData(sse);
                assertEquals("snapshot", f.event(), f.toString());
            }
            for (Service s : all) {
                HttpResponse<String> r = s.get("/api/sources/weather?city=Tokyo");
                assertEquals(200, r.statusCode(), r.body());
            }
            awaitClaims(List.of("NYC", "London", "Tokyo"), () -> {
                for (Service s : all) {
                    assertEquals(200, s.get("/api/sources/weather?city=Tokyo").statusCode());
                }
                return true;
            });
            long nycBefore = calls("NYC");
            long londonBefore = calls("London");
            long tokyoBefore = calls("Tokyo");
            // six intervals with pollers reading Tokyo on every node all the while
            long end = System.nanoTime() + 6 * INTERVAL.toNanos();
            while (System.nanoTime() < end) {
                for (Service s : all) {
                    assertEquals(200, s.get("/api/sources/weather?city=Tokyo").statusCode());
                }
                Thread.sleep(100);
            }
            long nycCalls = calls("NYC") - nycBefore;
            long londonCalls = calls("London") - londonBefore;
            long tokyoCalls = calls("Tokyo") - tokyoBefore;
            System.out.println("upstream calls in 6 intervals on 3 nodes: NYC " + nycCalls + ", London " + londonCalls
                    + ", Tokyo " + tokyoCalls + " (by node: a " + callsBy("node-a") + ", b " + callsBy("node-b")
                    + ", c " + callsBy("node-c") + ")");
            // one call per interval per instance cluster-wide: about 6 each; three nodes polling on their own make
            // 18. The bounds leave room for a loaded machine (a late fetch, a lease taken over once) and no more
            for (long n : List.of(nycCalls, londonCalls, tokyoCalls)) {
                assertTrue(n >= 3 && n <= 11, "calls per instance in 6 intervals: " + n); // 18 without the leases
            }
            assertTrue(
                    nycCalls + londonCalls + tokyoCalls <= 27,
                    "calls in all: " + (nycCalls + londonCalls + tokyoCalls));

            // a change is fetched once and reaches every subscriber on every node, with the same id
            content.set(2);
            List<String> nycIds = new ArrayList<>();
            long seen = 0;
            for (SseClient sse : nyc) {
                Frame f = nextData(sse);
                seen = f.version();
                JsonNode env = Json.MAPPER.readTree(f.data());
                assertEquals(2, env.get("data").get("v").asInt(), f.data());
                assertEquals("NYC", env.get("params").get("city").asText(), f.data());
                nycIds.add(f.id());
            }
            for (SseClient sse : london) {
                Frame f = nextData(sse);
                JsonNode env = Json.MAPPER.readTree(f.data());
                assertEquals(2, env.get("data").get("v").asInt(), f.data());
                assertEquals("city=London", env.get("data").get("query").asText(), f.data());
            }
            assertEquals(1, nycIds.stream().distinct().count(), "one version everywhere: " + nycIds);
            nycVersion = seen;
        } finally {
            concat(nyc, london).forEach(SseClient::close);
        }

        // a fourth node serves an instance from the shared state: the cluster's version, not a fresh count from 1
        Service d = node("node-d");
        JsonNode env =
                Json.MAPPER.readTree(d.get("/api/sources/weather?city=NYC").body());
        assertEquals(2, env.get("data").get("v").asInt(), env.toString());
        assertEquals(nycVersion, env.get("version").asLong(), env.toString());
    }

    private static List<SseClient> concat(List<SseClient> x, List<SseClient> y) {
        List<SseClient> out = new ArrayList<>(x);
        out.addAll(y);
        return out;
    }
}
