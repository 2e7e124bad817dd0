package io.github.aggregator.http;

import static io.github.aggregator.http.ParamsTest.echo;
import static io.github.aggregator.http.TransformTest.json;
import static io.github.aggregator.http.TransformTest.nextData;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Instances on the multiplexed stream, their idle spells and eviction, hot reload and metrics; real service. */
class ParamsStreamTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(15);

    private static String config(Upstream up, String interval, String values, String... extra) {
        StringBuilder sb = new StringBuilder("aggregator:\n  sources:\n");
        sb.append("    - id: clock\n      url: ").append(up.url()).append("/clock\n      interval: 1h\n");
        sb.append("    - id: ticker\n      url: ").append(up.url()).append("/quote/{symbol}\n");
        sb.append("      interval: ").append(interval).append('\n');
        sb.append("      params:\n        symbol:\n          ").append(values).append('\n');
        for (String e : extra) {
            sb.append("      ").append(e).append('\n');
        }
        return sb.toString();
    }

    @Test
    void aMultiplexedStreamMixesInstancesAndPlainSourcesAndResumesEach() throws Exception {
        try (Upstream up = echo();
                Service svc = Service.start(config(up, "1h", "values: [ACME, INIT, \"B&Q\"]"))) {
            String list = "ticker(symbol=ACME),clock,ticker(symbol=B%26Q)";
            String path = "/api/events?sources=" + URLEncoder.encode(list, StandardCharsets.UTF_8);
            String cursor;
            try (SseClient sse = SseClient.open(svc.client(), svc.uri(path))) {
                assertEquals(200, sse.status());
                Set<String> names = new HashSet<>();
                Frame last = null;
                for (int i = 0; i < 3; i++) {
                    last = nextData(sse);
                    assertNotNull(last);
                    assertEquals("snapshot", last.event(), last.toString());
                    JsonNode env = MAPPER.readTree(last.data());
                    names.add(
                            env.has("instance")
                                    ? env.get("instance").asText()
                                    : env.get("id").asText());
                }
                assertEquals(Set.of("ticker(symbol=ACME)", "clock", "ticker(symbol=B%26Q)"), names);
                cursor = last.id();
                assertTrue(cursor.contains("ticker(symbol=ACME):1"), cursor);
                assertTrue(cursor.contains("ticker(symbol=B%26Q):1"), cursor);
                assertTrue(cursor.contains("clock:1"), cursor);
            }
            assertEquals(
                    "/quote/B%26Q",
                    up.requests().stream()
                            .map(r -> r.uri().getRawPath())
                            .filter(p -> p.contains("B"))
                            .findFirst()
                            .orElseThrow());
            // resume with the cursor: every source is current, so nothing but heartbeats until a change
            try (SseClient again = SseClient.open(svc.client(), svc.uri(path), "Last-Event-ID", cursor)) {
                assertEquals(200, again.status());
                svc.app(); // the service is up; a fresh snapshot here would be a failed resume
                Frame f = again.nextEvent(Duration.ofSeconds(2));
                assertTrue(f == null || f.event() == null, "no event on resume, got " + f);
            }
            assertEquals(3, up.hits(), "one call per instance and source, whatever the streams");
        }
    }

    @Test
    void aResumeOnTheMultiplexedStreamReplaysOnlyWhatAnInstanceMissed() throws Exception {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger(1);
        try (Upstream up = new Upstream()
                        .reply(Upstream.Reply.custom(exchange -> TransformTest.send(
                                exchange,
                                "application/json",
                                exchange.getRequestURI().getPath().endsWith("ACME")
                                        ? "{\"n\":" + n.get() + "}"
                                        : "{\"fixed\":true}")));
                Service svc = Service.start(config(up, "200ms", "values: [ACME, INIT]"))) {
            String list = "ticker(symbol=ACME),clock,ticker(symbol=INIT)";
            String path = "/api/events?sources=" + URLEncoder.encode(list, StandardCharsets.UTF_8);
            String cursor;
            try (SseClient sse = SseClient.open(svc.client(), svc.uri(path))) {
                Frame last = null;
                for (int i = 0; i < 3; i++) {
                    last = nextData(sse);
                    assertNotNull(last);
                    assertEquals("snapshot", last.event(), last.toString());
                }
                cursor = last.id();
            }
            // while nobody listens the ACME instance changes twice (a poller keeps it live); INIT and clock do not
            n.set(2);
            Await.isTrue(
                    () -> json(svc.get("/api/sources/ticker?symbol=ACME"))
                                    .get("data")
                                    .get("n")
                                    .asInt()
                            == 2,
                    WAIT,
                    "ACME at n=2");
            n.set(3);
            Await.isTrue(
                    () -> json(svc.get("/api/sources/ticker?symbol=ACME"))
                                    .get("data")
                                    .get("n")
                                    .asInt()
                            == 3,
                    WAIT,
                    "ACME at n=3");
            try (SseClient again = SseClient.open(svc.client(), svc.uri(path), "Last-Event-ID", cursor)) {
                assertEquals(200, again.status());
                for (int expected = 2; expected <= 3; expected++) {
                    Frame f = nextData(again);
                    assertNotNull(f, "replayed update " + expected);
                    assertEquals("update", f.event(), f.toString());
                    JsonNode env = MAPPER.readTree(f.data());
                    assertEquals("ticker(symbol=ACME)", env.get("instance").asText(), f.data());
                    assertEquals(expected, env.get("data").get("n").asInt(), f.data());
                }
                Frame quiet = again.nextEvent(Duration.ofMillis(800));
                assertTrue(quiet == null || quiet.event() == null, "nothing for INIT or clock, got " + quiet);
            }
        }
    }

    @Test
    void idleInstancesStopPollingAndTheLeastRecentlyUsedIsEvictedBeyondMaxKeys() throws Exception {
        try (Upstream up = echo();
                Service svc = Service.start(
                        config(up, "200ms", "pattern: \"[A-Z]{1,5}\"", "maxKeys: 2", "idleAfter: 400ms"))) {
            assertEquals(200, svc.get("/api/sources/ticker?symbol=AAA").statusCode());
            assertEquals(200, svc.get("/api/sources/ticker?symbol=BBB").statusCode());
            Await.isTrue(
                    () -> states(svc).equals(Map.of("ticker(symbol=AAA)", "idle", "ticker(symbol=BBB)", "idle")),
                    WAIT,
                    "both instances idle");
            long aaa = up.requests().stream()
                    .filter(r -> r.uri().getPath().endsWith("AAA"))
                    .count();
            // while idle nothing is fetched: a third instance comes and is polled several times meanwhile
            assertEquals(200, svc.get("/api/sources/ticker?symbol=BBB").statusCode()); // BBB most recently used
            assertEquals(200, svc.get("/api/sources/ticker?symbol=CCC").statusCode());
            Map<String, String> now = states(svc);
            assertEquals(Set.of("ticker(symbol=BBB)", "ticker(symbol=CCC)"), now.keySet(), "AAA evicted: " + now);
            assertEquals(
                    aaa,
                    up.requests().stream()
                            .filter(r -> r.uri().getPath().endsWith("AAA"))
                            .count());
            // an evicted instance comes back on its next read, with a fresh fetch, evicting the next idle one
            Await.isTrue(() -> "idle".equals(states(svc).get("ticker(symbol=BBB)")), WAIT, "BBB idle");
            JsonNode back = json(svc.get("/api/sources/ticker?symbol=AAA"));
            assertEquals("/quote/AAA", back.get("data").get("path").asText());
            assertEquals(
                    aaa + 1,
                    up.requests().stream()
                            .filter(r -> r.uri().getPath().endsWith("AAA"))
                            .count());
            String metrics = svc.get("/observe/metrics").body();
            assertTrue(metrics.contains("aggregator_instances{source=\"ticker\",state=\"live\"}"), metrics);
            assertTrue(!metrics.contains("symbol="), "no instance labels in metrics");
            assertTrue(metrics.contains("aggregator_fetches_total{source=\"ticker\",outcome=\"success\"}"), metrics);
        }
    }

    @Test
    void aReloadThatRemovesAValueEndsThatInstancesStreamsWithRemoved() throws Exception {
        try (Upstream up = echo();
                Service svc = Service.start(config(up, "1h", "values: [ACME, INIT]"))) {
            String both = URLEncoder.encode("ticker(symbol=INIT),clock", StandardCharsets.UTF_8);
            try (SseClient acme = SseClient.open(svc.client(), svc.uri("/api/sources/ticker/events?symbol=ACME"));
                    SseClient init = SseClient.open(svc.client(), svc.uri("/api/sources/ticker/events?symbol=INIT"));
                    SseClient mixed = SseClient.open(svc.client(), svc.uri("/api/events?sources=" + both))) {
                assertEquals("snapshot", nextData(acme).event());
                assertEquals("snapshot", nextData(init).event());
                assertEquals("snapshot", nextData(mixed).event());
                assertEquals("snapshot", nextData(mixed).event());
                write(svc.configFile(), config(up, "1h", "values: [ACME]"));
                Frame removed = nextData(init);
                assertNotNull(removed, "no removed event");
                assertEquals("removed", removed.event(), removed.toString());
                Await.isTrue(init::ended, WAIT, "the removed instance's stream ends");
                // on a multiplexed stream the instance is removed and the stream goes on with the rest
                Frame gone = nextData(mixed);
                assertNotNull(gone, "no removed event on the multiplexed stream");
                assertEquals("removed", gone.event(), gone.toString());
                assertTrue(gone.data().contains("ticker(symbol=INIT)"), gone.data());
                assertTrue(!mixed.ended(), "the multiplexed stream goes on");
                assertEquals(Set.of("ticker(symbol=ACME)"), states(svc).keySet());
                assertEquals(400, svc.get("/api/sources/ticker?symbol=INIT").statusCode());
                assertEquals(200, svc.get("/api/sources/ticker?symbol=ACME").statusCode());
                assertTrue(!acme.ended(), "the instance still allowed keeps its stream");
            }
        }
    }

    private static Map<String, String> states(Service svc) {
        JsonNode list = json(svc.get("/api/sources"));
        Map<String, String> out = new java.util.TreeMap<>();
        for (JsonNode s : list.get("sources")) {
            if (s.has("live")) {
                s.get("live")
                        .forEach(i -> out.put(
                                i.get("instance").asText(), i.get("state").asText()));
            }
        }
        return out;
    }

    private static void write(Path file, String yaml) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, yaml);
        ConfigSchema.check(tmp, Map.of());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
