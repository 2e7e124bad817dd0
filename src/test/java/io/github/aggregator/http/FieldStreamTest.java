package io.github.aggregator.http;

import static io.github.aggregator.http.MultiplexTest.assertNoEventUntil;
import static io.github.aggregator.http.MultiplexTest.awaitTrue;
import static io.github.aggregator.http.MultiplexTest.cursor;
import static io.github.aggregator.http.MultiplexTest.events;
import static io.github.aggregator.http.MultiplexTest.parse;
import static io.github.aggregator.http.MultiplexTest.sources;
import static io.github.aggregator.http.MultiplexTest.version;
import static io.github.aggregator.http.MultiplexTest.yaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Streams and polls of one field ({@code ?select=/pointer}, {@code sources=id/pointer}): only the selected part, an
 * update only when it changed, versions that are the source version of the last change, its own ETag, and resume.
 */
class FieldStreamTest {
    private static final Duration WAIT = Duration.ofSeconds(5);

    private static String quote(double price, int tick) {
        return "{\"price\":" + price + ",\"tick\":" + tick + ",\"name\":\"DEMO\"}";
    }

    /** Changes only the tick, waits until the service holds the new source version, and returns it. */
    private static long tick(Service svc, Upstream up, double price, int tick) throws Exception {
        long before = version(svc, "q");
        up.json(quote(price, tick));
        awaitTrue(() -> version(svc, "q") > before, "a new version of q");
        return version(svc, "q");
    }

    @Test
    void pollingASelectedFieldHasItsOwnEtagThatIgnoresOtherFields() throws Exception {
        try (Upstream up = new Upstream().json(quote(10.5, 1));
                Service svc = Service.start(yaml("", sources("q", up)))) {
            long v1 = version(svc, "q");
            HttpResponse<String> field = svc.get("/api/sources/q?select=/price");
            assertEquals(200, field.statusCode(), field.body());
            JsonNode env = Json.MAPPER.readTree(field.body());
            assertEquals("q/price", env.get("id").asText());
            assertEquals(10.5, env.get("data").asDouble());
            assertEquals(v1, env.get("version").asLong(), "the source version at which the value was seen first");
            String etag = field.headers().firstValue("ETag").orElseThrow();
            assertNotEquals(
                    svc.get("/api/sources/q").headers().firstValue("ETag").orElseThrow(), etag);

            long v2 = tick(svc, up, 10.5, 2);
            assertTrue(v2 > v1);
            HttpResponse<String> same = svc.get("/api/sources/q?select=/price", "If-None-Match", etag);
            assertEquals(304, same.statusCode(), "only the tick changed: " + same.body());
            assertEquals(etag, same.headers().firstValue("ETag").orElseThrow());

            up.json(quote(11.25, 3));
            awaitTrue(
                    () -> svc.get("/api/sources/q?select=/price", "If-None-Match", etag)
                                    .statusCode()
                            == 200,
                    "the price change shows");
            HttpResponse<String> changed = svc.get("/api/sources/q?select=/price");
            JsonNode now = Json.MAPPER.readTree(changed.body());
            assertEquals(11.25, now.get("data").asDouble());
            assertEquals(version(svc, "q"), now.get("version").asLong());
            assertNotEquals(etag, changed.headers().firstValue("ETag").orElseThrow());

            HttpResponse<String> missing = svc.get("/api/sources/q?select=/nothing/here");
            assertEquals(200, missing.statusCode());
            assertTrue(Json.MAPPER.readTree(missing.body()).get("data").isNull(), missing.body());
        }
    }

    @Test
    void aFieldStreamWakesOnlyWhenTheFieldChangesAndResumesByItsVersion() throws Exception {
        try (Upstream up = new Upstream().json(quote(10.5, 1));
                Service svc = Service.start(yaml("heartbeat: 200ms", sources("q", up)))) {
            long v1 = version(svc, "q");
            long held;
            String firstId;
            String heldId;
            try (SseClient sse = open(svc.client(), svc.uri("/api/sources/q/events?select=/price"))) {
                assertEquals(200, sse.status());
                Frame snapshot = events(sse, 1).get(0);
                assertEquals("snapshot", snapshot.event());
                assertEquals(10.5, parse(snapshot).get("data").asDouble());
                // an id is the field's version and its value's hash: it can only match that very value
                assertTrue(snapshot.id().startsWith(v1 + "-"), snapshot.id());
                firstId = snapshot.id();
                heldId = firstId;
                held = v1;

                // three new source versions, none of them a new price: no event
                long sourceVersion = version(svc, "q");
                for (int t = 2; t <= 4; t++) {
                    up.json(quote(10.5, t));
                    long before = sourceVersion;
                    assertNoEventUntil(sse, () -> versionQuietly(svc) > before);
                    sourceVersion = versionQuietly(svc);
                }
                up.json(quote(12.0, 5));
                Frame update = events(sse, 1).get(0);
                assertEquals("update", update.event());
                JsonNode env = parse(update);
                assertEquals("q/price", env.get("id").asText());
                assertEquals(12.0, env.get("data").asDouble());
                long v5 = env.get("version").asLong();
                assertTrue(v5 > held + 1, "the version is the source's, not a count of the field's changes: " + v5);
                assertTrue(update.id().startsWith(v5 + "-"), update.id());
                heldId = update.id();
                held = v5;
            }
            // resume at the current value: nothing until it changes
            try (SseClient again =
                    open(svc.client(), svc.uri("/api/sources/q/events?select=/price"), "Last-Event-ID", heldId)) {
                long before = version(svc, "q");
                up.json(quote(12.0, 6));
                assertNoEventUntil(again, () -> versionQuietly(svc) > before);
            }
            // resume from the first value: the change missed since, as an update
            try (SseClient replay =
                    open(svc.client(), svc.uri("/api/sources/q/events?select=/price"), "Last-Event-ID", firstId)) {
                Frame missed = events(replay, 1).get(0);
                assertEquals("update", missed.event(), missed.toString());
                assertEquals(heldId, missed.id());
            }
            // a version that was never the field's: a fresh snapshot
            try (SseClient unknown =
                    open(svc.client(), svc.uri("/api/sources/q/events?select=/price"), "Last-Event-ID", "999999")) {
                Frame fresh = events(unknown, 1).get(0);
                assertEquals("snapshot", fresh.event());
                assertEquals(12.0, parse(fresh).get("data").asDouble());
            }
        }
    }

    @Test
    void fieldsAndWholeSourcesShareOneMultiplexedStream() throws Exception {
        try (Upstream up = new Upstream().json(quote(10.5, 1));
                Service svc = Service.start(yaml("", sources("q", up)))) {
            version(svc, "q");
            try (SseClient sse = open(svc.client(), svc.uri("/api/events?sources=q/price,q/name,q"))) {
                assertEquals(200, sse.status());
                List<Frame> first = events(sse, 3);
                Map<String, JsonNode> data = new java.util.HashMap<>();
                first.forEach(f -> data.put(parse(f).get("id").asText(), parse(f).get("data")));
                assertEquals(10.5, data.get("q/price").asDouble(), first.toString());
                assertEquals("DEMO", data.get("q/name").asText(), first.toString());
                assertEquals(1, data.get("q").get("tick").asInt(), first.toString());
                cursor(first.get(2), "q/price", "q/name", "q");

                up.json(quote(10.5, 2)); // only the whole source changes
                Frame whole = events(sse, 1).get(0);
                assertEquals("q", parse(whole).get("id").asText(), whole.toString());
                up.json(quote(13.0, 3)); // the price and the whole source
                List<Frame> both = events(sse, 2);
                List<String> ids = both.stream()
                        .map(f -> parse(f).get("id").asText())
                        .sorted()
                        .toList();
                assertEquals(List.of("q", "q/price"), ids, both.toString());
                Map<String, Long> c = cursor(both.get(1), "q/price", "q/name", "q");
                assertEquals(c.get("q"), c.get("q/price"), "the price changed at this source version: " + c);
                assertTrue(c.get("q/name") < c.get("q"), "the name did not change: " + c);
            }
        }
    }

    @Test
    void malformedSelectionsAreRefusedWithOneLine() throws Exception {
        try (Upstream up = new Upstream().json(quote(10.5, 1));
                Service svc = Service.start(yaml("", sources("q", up)))) {
            version(svc, "q");
            for (String path : List.of(
                    "/api/sources/q?select=price",
                    "/api/sources/q?select=/a~2b",
                    "/api/sources/q/events?select=nope",
                    "/api/events?sources=q/a~",
                    "/api/sources/q?select=/" + "x".repeat(300))) {
                HttpResponse<String> r = MultiplexTest.refusal(svc, path);
                assertEquals(400, r.statusCode(), path + ": " + r.body());
                JsonNode problem = Json.MAPPER.readTree(r.body());
                assertNotNull(problem.get("detail"), r.body());
                assertTrue(problem.get("detail").asText().contains("select"), r.body());
            }
            HttpResponse<String> unknown = MultiplexTest.refusal(svc, "/api/events?sources=nope/price");
            assertEquals(400, unknown.statusCode());
            assertTrue(unknown.body().contains("nope"), unknown.body());
        }
    }

    @Test
    void aFieldOfAnInstanceIsPolledAndStreamedWithTheInstanceNamedInItsEnvelope() throws Exception {
        try (Upstream up = ParamsTest.echo();
                Service svc = Service.start(ParamsTest.weather(up, "1h"))) {
            // the echo upstream answers {"path":..,"query":..}: /query is the field
            HttpResponse<String> poll = svc.get("/api/sources/weather?city=NYC&select=/query");
            assertEquals(200, poll.statusCode(), poll.body());
            JsonNode env = Json.MAPPER.readTree(poll.body());
            assertEquals("weather/query", env.get("id").asText(), poll.body());
            assertEquals(
                    "weather(city=NYC;units=metric)/query", env.get("instance").asText(), poll.body());
            assertEquals("NYC", env.get("params").get("city").asText(), poll.body());
            assertEquals("city=NYC&units=metric", env.get("data").asText(), poll.body());
            String etag = poll.headers().firstValue("ETag").orElseThrow();
            assertEquals(
                    304,
                    svc.get("/api/sources/weather(city=NYC)?select=/query", "If-None-Match", etag)
                            .statusCode());
            for (String path : List.of(
                    "/api/sources/weather/events?city=NYC&select=/query",
                    "/api/events?sources=weather(city%3DNYC)/query,weather(city%3DLondon)")) {
                try (SseClient sse = open(svc.client(), svc.uri(path))) {
                    Frame f = TransformTest.nextData(sse);
                    assertNotNull(f, path);
                    assertEquals("snapshot", f.event(), path + ": " + f);
                    JsonNode e = Json.MAPPER.readTree(f.data());
                    String instance = e.get("instance").asText();
                    assertTrue(
                            instance.equals("weather(city=NYC;units=metric)/query")
                                    || instance.equals("weather(city=London;units=metric)"),
                            path + ": " + f.data());
                    // one source's stream: the version and hash; the multiplexed one: a cursor naming the instance
                    assertTrue(
                            path.startsWith("/api/events")
                                    ? f.id().contains(instance + ":")
                                    : f.id().matches("\\d+-\\p{XDigit}+"),
                            f.toString());
                }
            }
        }
    }

    /** Opens a stream and takes its first frame, the retry: line. */
    private static SseClient open(java.net.http.HttpClient client, java.net.URI uri, String... headers)
            throws InterruptedException {
        SseClient sse = SseClient.open(client, uri, headers);
        Frame retry = sse.next(WAIT);
        assertNotNull(retry == null ? null : retry.retry(), "the first frame is retry: " + retry);
        return sse;
    }

    private static long versionQuietly(Service svc) {
        try {
            return version(svc, "q");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
