package io.github.aggregator.http;

import static io.github.aggregator.http.OnDemandTest.hits;
import static io.github.aggregator.http.OnDemandTest.listed;
import static io.github.aggregator.http.TransformTest.await;
import static io.github.aggregator.http.TransformTest.awaitTrue;
import static io.github.aggregator.http.TransformTest.json;
import static io.github.aggregator.http.TransformTest.nextData;
import static io.github.aggregator.http.TransformTest.send;
import static io.github.aggregator.http.TransformTest.source;
import static io.github.aggregator.http.TransformTest.yaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.aggregator.config.ConfigException;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Combined sources ({@code combine: [a, b]}): served and streamed like any other source, rebuilt when a part changes,
 * stale while a part is, and checked at startup. Real service, real scripted upstream on loopback.
 */
class CombineTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void aCombinedSourceIsServedAndStreamedAndFollowsItsParts() throws Exception {
        Parts up = new Parts().set("/a", "{\"n\":1}").set("/b", "{\"n\":10}");
        try (up;
                Service svc = Service.start(yaml(
                        source("a", up.url() + "/a", "200ms"),
                        source("b", up.url() + "/b", "200ms"),
                        "    - id: ab\n      combine: [a, b]\n"))) {
            JsonNode env = await(
                    () -> json(svc.get("/api/sources/ab")), e -> !e.get("stale").asBoolean());
            assertEquals(MAPPER.readTree("{\"a\":{\"n\":1},\"b\":{\"n\":10}}"), env.get("data"), env.toString());
            assertEquals("ab", env.get("id").asText());
            long version = env.get("version").asLong();

            JsonNode ab = listed(svc, "ab");
            assertEquals(MAPPER.readTree("[\"a\",\"b\"]"), ab.get("combine"), ab.toString());
            assertFalse(ab.has("url"), "a combined source has no url: " + ab);
            assertEquals("active", ab.get("state").asText(), ab.toString());

            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/ab/events"))) {
                assertEquals(200, sse.status());
                Frame snapshot = nextData(sse);
                assertNotNull(snapshot, "no snapshot");
                assertEquals("snapshot", snapshot.event());
                assertEquals(version, snapshot.version());
                assertEquals(env.get("data"), MAPPER.readTree(snapshot.data()).get("data"));

                up.set("/a", "{\"n\":2}");
                Frame update = nextData(sse);
                assertNotNull(update, "no update when part a changed");
                assertEquals("update", update.event(), update.toString());
                assertEquals(version + 1, update.version());
                assertEquals(
                        MAPPER.readTree("{\"a\":{\"n\":2},\"b\":{\"n\":10}}"),
                        MAPPER.readTree(update.data()).get("data"));

                up.set("/b", "{\"n\":20}");
                update = nextData(sse);
                assertNotNull(update, "no update when part b changed");
                assertEquals(version + 2, update.version());
                assertEquals(
                        MAPPER.readTree("{\"a\":{\"n\":2},\"b\":{\"n\":20}}"),
                        MAPPER.readTree(update.data()).get("data"));
            }
            JsonNode now = json(svc.get("/api/sources/ab"));
            assertEquals(version + 2, now.get("version").asLong(), now.toString());
        }
    }

    @Test
    void aCombinedTransformRunsOnTheCombinationBeforeChangeDetection() throws Exception {
        Parts up = new Parts().set("/a", "{\"n\":1,\"noise\":0}").set("/b", "{\"n\":10}");
        try (up;
                Service svc = Service.start(yaml(
                        source("a", up.url() + "/a", "200ms"),
                        source("b", up.url() + "/b", "200ms"),
                        "    - id: total\n      combine: [a, b]\n      transform: '{total: (.a.n + .b.n)}'\n"))) {
            JsonNode env = await(
                    () -> json(svc.get("/api/sources/total")),
                    e -> !e.get("stale").asBoolean());
            assertEquals(MAPPER.readTree("{\"total\":11}"), env.get("data"), env.toString());
            long version = env.get("version").asLong();

            // a part changes in a way the transform drops: the part has a new version, the combination does not
            long aVersion = json(svc.get("/api/sources/a")).get("version").asLong();
            up.set("/a", "{\"n\":1,\"noise\":1}");
            await(() -> json(svc.get("/api/sources/a")), e -> e.get("version").asLong() > aVersion);
            JsonNode same = json(svc.get("/api/sources/total"));
            assertEquals(version, same.get("version").asLong(), same.toString());

            up.set("/b", "{\"n\":20}");
            JsonNode changed = await(
                    () -> json(svc.get("/api/sources/total")),
                    e -> e.get("data").equals(MAPPER.createObjectNode().put("total", 21)));
            assertEquals(version + 1, changed.get("version").asLong(), changed.toString());
        }
    }

    @Test
    void aCombinedSourceIsStaleWhileAPartIsStaleAndNamesThePart() throws Exception {
        Parts up = new Parts().set("/a", "{\"n\":1}").set("/b", "{\"n\":10}");
        try (up;
                Service svc = Service.start(yaml(
                        source("a", up.url() + "/a", "200ms"),
                        source("b", up.url() + "/b", "200ms", "maxBackoff: 200ms"),
                        "    - id: ab\n      combine: [a, b]\n"))) {
            JsonNode good = await(
                    () -> json(svc.get("/api/sources/ab")), e -> !e.get("stale").asBoolean());
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/ab/events"))) {
                assertEquals("snapshot", nextData(sse).event());

                up.fail("/b");
                JsonNode stale = await(
                        () -> json(svc.get("/api/sources/ab")),
                        e -> e.get("stale").asBoolean());
                String error = stale.get("error").asText();
                assertTrue(error.contains("b: ") && error.contains("HTTP 500"), "names the failing part: " + error);
                assertFalse(error.contains("a: "), "names only the failing part: " + error);
                assertEquals(good.get("data"), stale.get("data"), "the last good data is kept");
                assertEquals(good.get("version"), stale.get("version"));
                assertTrue(listed(svc, "ab").get("stale").asBoolean());

                Frame status = nextData(sse);
                assertNotNull(status, "no status event when the combination turned stale");
                assertEquals("status", status.event(), status.toString());
                assertTrue(MAPPER.readTree(status.data()).get("stale").asBoolean(), status.data());

                up.set("/b", "{\"n\":10}");
                JsonNode recovered = await(
                        () -> json(svc.get("/api/sources/ab")),
                        e -> !e.get("stale").asBoolean());
                assertTrue(
                        recovered.path("error").isMissingNode()
                                || recovered.get("error").isNull(),
                        recovered.toString());
                status = nextData(sse);
                assertNotNull(status, "no status event when the combination recovered");
                assertEquals("status", status.event(), status.toString());
                assertFalse(MAPPER.readTree(status.data()).get("stale").asBoolean(), status.data());
            }
        }
    }

    @Test
    void aCombinedSourceWaitsForEveryPartsFirstFetchInsteadOfServingItStale() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Upstream up = new Upstream().reply(Upstream.Reply.custom(exchange -> {
            if (exchange.getRequestURI().getPath().equals("/slow")) {
                // its first answer comes only when the test says so (or gives up, so that no handler outlives it)
                release.await(60, java.util.concurrent.TimeUnit.SECONDS);
            }
            send(
                    exchange,
                    "application/json",
                    "{\"at\":\"" + exchange.getRequestURI().getPath() + "\"}");
        }));
        try (up;
                LogCapture log = LogCapture.start();
                Service svc = Service.start("aggregator:\n  coldWait: 200ms\n  sources:\n"
                        + source("fast", up.url() + "/fast", "200ms")
                        + source("slow", up.url() + "/slow", "200ms", "timeout: 30s")
                        + "    - id: both\n      combine: [fast, slow]\n")) {
            awaitTrue(() -> hits(up, "/fast") >= 3, "the fast part was fetched three times");
            assertEquals(200, svc.get("/api/sources/fast").statusCode());
            HttpResponse<String> waiting = svc.get("/api/sources/both");
            assertEquals(
                    503, waiting.statusCode(), "no combination before the slow part's first fetch: " + waiting.body());
            assertEquals(
                    0,
                    listed(svc, "both").get("version").asLong(),
                    listed(svc, "both").toString());

            release.countDown();
            JsonNode env = json(await(() -> svc.get("/api/sources/both"), r -> r.statusCode() == 200));
            assertEquals(
                    MAPPER.readTree("{\"fast\":{\"at\":\"/fast\"},\"slow\":{\"at\":\"/slow\"}}"),
                    env.get("data"),
                    env.toString());
            assertFalse(env.get("stale").asBoolean(), env.toString());
            assertEquals(1, env.get("version").asLong(), "the first combination already has both parts: " + env);
            for (String r : log.records()) {
                assertFalse(r.contains("serving last good data"), "nothing was stale: " + r);
            }
        }
    }

    @Test
    void readingACombinedSourceWakesItsOnDemandPart() throws Exception {
        Parts up = new Parts().set("/lazy", "{\"lazy\":true}").set("/eager", "{\"eager\":true}");
        try (up;
                Service svc = Service.start(yaml(
                        source("lazy", up.url() + "/lazy", "200ms", "poll: on-demand", "idleAfter: 400ms"),
                        source("eager", up.url() + "/eager", "200ms"),
                        "    - id: view\n      combine: [lazy, eager]\n"))) {
            awaitTrue(() -> hits(up.upstream, "/eager") >= 3, "the always-polled part was fetched three times");
            assertEquals(0, hits(up.upstream, "/lazy"), "the on-demand part idles until someone reads");

            JsonNode env = json(svc.get("/api/sources/view"));
            assertEquals(
                    MAPPER.readTree("{\"lazy\":{\"lazy\":true},\"eager\":{\"eager\":true}}"),
                    env.get("data"),
                    "the read woke the on-demand part and waited for it: " + env);
            assertFalse(env.get("stale").asBoolean(), env.toString());
            assertTrue(hits(up.upstream, "/lazy") >= 1);
            assertEquals("active", listed(svc, "lazy").get("state").asText());

            // a subscriber to the combination keeps the part polled well past idleAfter
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/view/events"))) {
                assertEquals("snapshot", nextData(sse).event());
                int now = hits(up.upstream, "/lazy");
                awaitTrue(() -> hits(up.upstream, "/lazy") >= now + 8, "the part was fetched 8 more times");
            }
        }
    }

    @RepeatedTest(8)
    void partsArrivingTogetherNeverMakeTheCombinationGoBack() throws Exception {
        // four parts with the same interval get their first data within a few milliseconds of each other, so their
        // rebuilds of the combination race; the parts never change after that
        try (Upstream up = new Upstream().json("{\"n\":1}");
                Service svc = Service.start(yaml(
                        source("a", up.url() + "/a", "200ms"),
                        source("b", up.url() + "/b", "200ms"),
                        source("c", up.url() + "/c", "200ms"),
                        source("d", up.url() + "/d", "200ms"),
                        "    - id: all\n      combine: [a, b, c, d]\n"))) {
            JsonNode full = await(
                    () -> json(svc.get("/api/sources/all")),
                    e -> !e.get("stale").asBoolean());
            for (String part : List.of("/a", "/b", "/c", "/d")) {
                // a second fetch starts only after the first result was recorded and combined
                awaitTrue(() -> hits(up, part) >= 2, part + " was fetched twice");
            }
            JsonNode now = json(svc.get("/api/sources/all"));
            assertFalse(now.get("stale").asBoolean(), now.toString());
            assertEquals(full.get("data"), now.get("data"));
            // the combination waits for every part's first fetch, so its first version already has all four
            long version = now.get("version").asLong();
            assertEquals(1, version, "the combination changed " + version + " times for 4 first arrivals");
        }
    }

    static Stream<Arguments> badCombinations() {
        String a = "    - id: a\n      url: http://127.0.0.1:9/a\n";
        return Stream.of(
                Arguments.of("unknown part", a + "    - id: ab\n      combine: [a, nope]\n", "ab", "combine", "nope"),
                Arguments.of(
                        "cycle",
                        "    - id: x\n      combine: [y]\n    - id: y\n      combine: [a, x]\n" + a,
                        "x",
                        "combine",
                        "cycle"),
                Arguments.of("itself", a + "    - id: me\n      combine: [a, me]\n", "me", "combine", "cycle"),
                Arguments.of(
                        "disabled part",
                        a + "    - id: off\n      url: http://127.0.0.1:9/off\n      enabled: false\n"
                                + "    - id: ab\n      combine: [a, off]\n",
                        "ab",
                        "combine",
                        "disabled"),
                Arguments.of(
                        "url",
                        a + "    - id: ab\n      combine: [a]\n      url: http://127.0.0.1:9/ab\n",
                        "ab",
                        "url",
                        ""),
                Arguments.of(
                        "interval", a + "    - id: ab\n      combine: [a]\n      interval: 5s\n", "ab", "interval", ""),
                Arguments.of(
                        "transform",
                        a + "    - id: ab\n      combine: [a]\n      transform: '.a |||'\n",
                        "ab",
                        "transform",
                        "compile"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCombinations")
    void aBadCombinationIsAStartupErrorNamingSourceAndField(
            String name, String sources, String id, String field, String reason) throws IOException {
        Path file = Files.createTempDirectory("combine-test").resolve("application.yaml");
        Files.writeString(file, "server:\n  port: 0\naggregator:\n  sources:\n" + sources);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of()));
        String m = e.getMessage();
        assertTrue(m.contains("source \"" + id + "\""), m);
        assertTrue(m.contains("field \"" + field + "\""), m);
        assertTrue(m.contains(reason), m);
        assertFalse(m.contains("\n"), "one line: " + m);
    }

    /** An upstream whose answer is set per path; a path set to fail answers 500. */
    private static final class Parts implements AutoCloseable {
        final Map<String, String> bodies = new ConcurrentHashMap<>();
        final Upstream upstream = new Upstream().reply(Upstream.Reply.custom(exchange -> {
            String body = bodies.get(exchange.getRequestURI().getPath());
            if (body == null) {
                exchange.sendResponseHeaders(500, -1);
                return;
            }
            send(exchange, "application/json", body);
        }));

        Parts set(String path, String json) {
            bodies.put(path, json);
            return this;
        }

        void fail(String path) {
            bodies.remove(path);
        }

        String url() {
            return upstream.url();
        }

        @Override
        public void close() {
            upstream.close();
        }
    }
}
