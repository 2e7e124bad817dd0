package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The SSE half of the HTTP contract, against a real server and a real upstream on loopback. */
class StreamTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final String EVENTS = "/api/sources/one/events";

    /** How a client hands over the last id it saw. */
    enum Via {
        HEADER,
        QUERY
    }

    @Test
    void headersRetrySnapshotThenEveryUpdateInOrder() throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, "retry: 2s\n  retrySpread: 0s"))) {
            long first = version(svc);
            try (SseClient sse = SseClient.open(svc.client(), svc.uri(EVENTS))) {
                assertEquals(200, sse.status());
                assertEquals(
                        "text/event-stream",
                        sse.headers().firstValue("Content-Type").orElseThrow().split(";")[0]);
                assertEquals(
                        "no-cache, no-transform",
                        sse.headers().firstValue("Cache-Control").orElseThrow());
                assertEquals("no", sse.headers().firstValue("X-Accel-Buffering").orElseThrow());

                Frame retry = sse.next(WAIT);
                assertNotNull(retry, "no first frame");
                assertEquals("2000", retry.retry(), "first frame is retry: " + retry);
                assertNull(retry.event());
                assertNull(retry.data());

                Frame snapshot = sse.next(WAIT);
                assertNotNull(snapshot, "no snapshot");
                assertEquals("snapshot", snapshot.event());
                assertEquals(idOf(first, 0), snapshot.id());
                JsonNode envelope = Json.MAPPER.readTree(snapshot.data());
                assertEquals(Set.of("id", "version", "fetchedAt", "changedAt", "stale", "data"), fieldNames(envelope));
                assertEquals("one", envelope.get("id").asText());
                assertEquals(first, envelope.get("version").asLong());
                Instant changedAt = Instant.parse(envelope.get("changedAt").asText());
                assertFalse(
                        Instant.parse(envelope.get("fetchedAt").asText()).isBefore(changedAt),
                        "fetchedAt is never before changedAt: " + envelope);
                assertFalse(envelope.get("stale").asBoolean());
                assertEquals(Json.MAPPER.readTree(content(0)), envelope.get("data"));

                for (int n = 1; n <= 5; n++) {
                    up.json(content(n));
                    Frame update = sse.nextEvent(WAIT);
                    assertNotNull(update, "no update for change " + n);
                    assertEquals("update", update.event(), update.toString());
                    assertEquals(idOf(first + n, n), update.id(), "ids increase by one, none skipped");
                    JsonNode env = Json.MAPPER.readTree(update.data());
                    assertEquals(first + n, env.get("version").asLong());
                    assertEquals(n, env.get("data").get("n").asInt());
                    Instant at = Instant.parse(env.get("changedAt").asText());
                    assertTrue(at.isAfter(changedAt), "changedAt moves on with each change");
                    changedAt = at;
                }
            }
        }
    }

    @Test
    void sameContentSendsNoUpdate() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1,\"b\":[1,2]}");
                Service svc = Service.start(yaml(up, "heartbeat: 10s"))) {
            long v = version(svc);
            try (SseClient sse = SseClient.open(svc.client(), svc.uri(EVENTS))) {
                assertNotNull(sse.next(WAIT).retry());
                assertEquals("snapshot", sse.nextEvent(WAIT).event());

                int hits = up.hits();
                assertNoEventUntil(sse, () -> up.hits() >= hits + 4);
                // same content, formatted differently: still no change
                up.json("{ \"b\" : [1, 2],\n \"a\" : 1 }");
                int later = up.hits();
                assertNoEventUntil(sse, () -> up.hits() >= later + 4);
                assertEquals(v, version(svc));

                up.json("{\"a\":2,\"b\":[1,2]}");
                Frame update = sse.nextEvent(WAIT);
                assertNotNull(update, "the stream is still live");
                assertEquals("update", update.event());
                assertEquals(v + 1, update.version());
            }
        }
    }

    /**
     * On the test clock, with a heartbeat of an hour (which real time never reaches here): a keep-alive comment comes
     * each time the clock passes an hour of the stream's wait without a change. The write timeout is a day: a step of
     * an hour taken while the handler still writes the last heartbeat must not pass it (the clock jumps, the write
     * does not).
     */
    @Test
    void heartbeatWhileNothingChanges() throws Exception {
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(
                        yaml(up, "heartbeat: 1h\n  writeTimeout: 24h").replace("interval: 200ms", "interval: 24h"),
                        Map.of(),
                        clock)) {
            svc.step(clock, Duration.ofHours(3)); // the first fetch, after the start jitter
            version(svc);
            try (SseClient sse = SseClient.open(svc.client(), svc.uri(EVENTS))) {
                assertNotNull(sse.next(WAIT).retry());
                assertEquals("snapshot", sse.next(WAIT).event());
                for (int i = 0; i < 3; i++) {
                    svc.step(clock, Duration.ofHours(1));
                    Frame f = sse.next(Duration.ofSeconds(2));
                    if (f == null) { // the handler began its wait after that step: the next hour ends it
                        svc.step(clock, Duration.ofHours(1));
                        f = sse.next(WAIT);
                    }
                    assertNotNull(f, "no heartbeat after an hour of the clock");
                    assertTrue(f.isComment(), "only a comment while nothing changes: " + f);
                    assertEquals(List.of("keep-alive"), f.comments());
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void resumeAtCurrentVersionSendsNothingUntilTheNextChange(Via via) throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, "heartbeat: 300ms"))) {
            long current = changeTo(up, svc, 1);
            try (SseClient sse = open(svc, via, idOf(current, 1))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                int hits = up.hits();
                assertNoEventUntil(sse, () -> up.hits() >= hits + 3);

                up.json(content(2));
                Frame update = sse.nextEvent(WAIT);
                assertNotNull(update);
                assertEquals("update", update.event());
                assertEquals(idOf(current + 1, 2), update.id());
                assertEquals(2, data(update).get("n").asInt());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void resumeReplaysEveryMissedVersionInOrder(Via via) throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, "historySize: 8"))) {
            long first = version(svc);
            for (int n = 1; n <= 4; n++) {
                changeTo(up, svc, n);
            }
            long current = version(svc);
            assertEquals(first + 4, current);
            try (SseClient sse = open(svc, via, idOf(first + 1, 1))) {
                assertNotNull(sse.next(WAIT).retry());
                for (long v = first + 2; v <= current; v++) {
                    Frame f = sse.nextEvent(WAIT);
                    assertNotNull(f, "version " + v + " not replayed");
                    assertEquals("update", f.event(), f.toString());
                    assertEquals(idOf(v, (int) (v - first)), f.id());
                    assertEquals(v - first, data(f).get("n").asInt(), "the replay carries that version's data");
                }
                int hits = up.hits();
                assertNoEventUntil(sse, () -> up.hits() >= hits + 2);

                up.json(content(5));
                Frame next = sse.nextEvent(WAIT);
                assertNotNull(next);
                assertEquals("update", next.event());
                assertEquals(idOf(current + 1, 5), next.id());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void resumeOlderThanHistorySendsAFreshSnapshot(Via via) throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, "historySize: 2"))) {
            long first = version(svc);
            for (int n = 1; n <= 5; n++) {
                changeTo(up, svc, n);
            }
            long current = version(svc);
            assertEquals(first + 5, current);

            for (long from : new long[] {first, current - 3}) {
                try (SseClient sse = open(svc, via, idOf(from, (int) (from - first)))) {
                    assertNotNull(sse.next(WAIT).retry());
                    Frame f = sse.nextEvent(WAIT);
                    assertNotNull(f);
                    assertEquals("snapshot", f.event(), "resume from " + from + ": " + f);
                    assertEquals(idOf(current, 5), f.id());
                    assertEquals(5, data(f).get("n").asInt());
                }
            }
            // the two newest versions are still in history, so resuming right before them replays them
            try (SseClient sse = open(svc, via, idOf(current - 2, 3))) {
                assertNotNull(sse.next(WAIT).retry());
                for (long v = current - 1; v <= current; v++) {
                    Frame f = sse.nextEvent(WAIT);
                    assertNotNull(f);
                    assertEquals("update", f.event(), f.toString());
                    assertEquals(idOf(v, (int) (v - first)), f.id());
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void malformedOrUnknownLastEventIdGetsAFreshSnapshot(Via via) throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, ""))) {
            long current = changeTo(up, svc, 1);
            List<String> ids = List.of(
                    "abc",
                    "-1",
                    "0",
                    "99999999999999999999999",
                    // a header may be long; a query must fit Helidon's request-line limit (4096 bytes by
                    // default): beyond it Helidon answers 414 before any handler runs
                    "1".repeat(via == Via.HEADER ? 5000 : 4000),
                    Long.toString(current + 100),
                    // the previous release's ids (a bare version) and ids whose hash is not this content's
                    Long.toString(current),
                    Long.toString(current) + "-000000000000",
                    idOf(current, 7),
                    idOf(current, 1).toUpperCase(),
                    "1.0",
                    "\u0663"); // ARABIC-INDIC DIGIT THREE: a digit, but not a version
            for (String id : ids) {
                if (via == Via.HEADER && !StandardCharsets.US_ASCII.newEncoder().canEncode(id)) {
                    continue; // the JDK client refuses non-ASCII header values
                }
                String shown = id.length() > 30 ? id.substring(0, 30) + "… (" + id.length() + " chars)" : id;
                try (SseClient sse = open(svc, via, id)) {
                    assertEquals(200, sse.status(), "Last-Event-ID " + shown);
                    assertNotNull(sse.next(WAIT).retry());
                    Frame f = sse.nextEvent(WAIT);
                    assertNotNull(f, "nothing for Last-Event-ID " + shown);
                    assertEquals("snapshot", f.event(), "Last-Event-ID " + shown);
                    assertEquals(idOf(current, 1), f.id());
                }
            }
        }
    }

    @Test
    void unknownSourceIsA404Problem() throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, ""))) {
            HttpResponse<String> r = svc.get("/api/sources/nope/events", "Accept", "text/event-stream");
            assertEquals(404, r.statusCode(), r.body());
            assertEquals(
                    "application/problem+json",
                    r.headers().firstValue("Content-Type").orElseThrow().split(";")[0]);
            JsonNode problem = Json.MAPPER.readTree(r.body());
            assertEquals(404, problem.get("status").asInt());
            assertTrue(problem.get("detail").asText().contains("nope"), r.body());
        }
    }

    @Test
    void clientThatLeavesIsNoticed() throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, "heartbeat: 200ms"))) {
            version(svc);
            List<SseClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    SseClient sse = SseClient.open(svc.client(), svc.uri(EVENTS));
                    clients.add(sse);
                    assertNotNull(sse.next(WAIT).retry());
                    assertEquals("snapshot", sse.nextEvent(WAIT).event());
                }
                awaitTrue(() -> svc.subscribers("one") == 3, WAIT, "three subscribers");

                clients.removeFirst().close();
                awaitTrue(() -> svc.subscribers("one") == 2, Duration.ofMillis(1_500), "subscriber count back to 2");

                clients.forEach(SseClient::close);
                clients.clear();
                awaitTrue(() -> svc.subscribers("one") == 0, Duration.ofMillis(1_500), "subscriber count back to 0");
            } finally {
                clients.forEach(SseClient::close);
            }
        }
    }

    /**
     * With a heartbeat of an hour, which real time never reaches here, close() can only return because it ends the
     * streams itself, not because their next heartbeat found them gone.
     */
    @Test
    void shutdownEndsOpenStreamsWithAFinalComment() throws Exception {
        try (Upstream up = new Upstream().json(content(0));
                Service svc = Service.start(yaml(up, "heartbeat: 1h"))) {
            long current = version(svc);
            try (SseClient fresh = SseClient.open(svc.client(), svc.uri(EVENTS));
                    SseClient resumed = open(svc, Via.HEADER, idOf(current, 0))) {
                assertNotNull(fresh.next(WAIT).retry());
                assertEquals("snapshot", fresh.nextEvent(WAIT).event());
                assertNotNull(resumed.next(WAIT).retry());
                awaitTrue(() -> svc.subscribers("one") == 2, WAIT, "two subscribers");

                Thread closing = Thread.ofPlatform().start(() -> svc.app().close());
                assertTrue(closing.join(Duration.ofSeconds(60)), "close() waits for something with streams open");

                for (SseClient sse : List.of(fresh, resumed)) {
                    Frame last = sse.next(WAIT);
                    assertNotNull(last, "no closing frame");
                    assertTrue(last.isComment(), last.toString());
                    assertEquals(List.of("server shutting down"), last.comments());
                    awaitTrue(sse::ended, WAIT, "stream ended");
                    assertNull(sse.next(Duration.ZERO), "nothing after the closing comment");
                }
            }
        }
    }

    private static String yaml(Upstream up, String setting) {
        String line = setting.isEmpty() ? "" : "  " + setting + "\n";
        return "aggregator:\n" + line + """
                  sources:
                    - id: one
                      url: %s/data
                      interval: 200ms
                """.formatted(up.url());
    }

    private static String content(int n) {
        return "{\"n\":" + n + "}";
    }

    private static SseClient open(Service svc, Via via, String lastEventId) {
        return switch (via) {
            case HEADER -> SseClient.open(svc.client(), svc.uri(EVENTS), "Last-Event-ID", lastEventId);
            case QUERY ->
                SseClient.open(
                        svc.client(),
                        svc.uri(EVENTS + "?lastEventId=" + URLEncoder.encode(lastEventId, StandardCharsets.UTF_8)));
        };
    }

    /** The current version, waiting for the first fetch. */
    private static long version(Service svc) throws IOException {
        HttpResponse<String> r = svc.get("/api/sources/one");
        assertEquals(200, r.statusCode(), r.body());
        return Json.MAPPER.readTree(r.body()).get("version").asLong();
    }

    /** Makes the upstream answer {@code content(n)} and waits until the service has the new version. */
    private static long changeTo(Upstream up, Service svc, int n) throws Exception {
        long before = version(svc);
        up.json(content(n));
        awaitTrue(() -> version(svc) == before + 1, WAIT, "version " + (before + 1));
        return before + 1;
    }

    /** The event id of {@code version} holding {@code content(n)}: the version and its content hash's prefix. */
    private static String idOf(long version, int n) throws IOException {
        return version + "-" + Json.hash(Json.MAPPER.readTree(content(n))).substring(0, 12);
    }

    private static JsonNode data(Frame f) throws IOException {
        return Json.MAPPER.readTree(f.data()).get("data");
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Fails if an event (anything but a comment) arrives before {@code until} holds. */
    private static void assertNoEventUntil(SseClient sse, BooleanSupplier until) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!until.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("condition not reached within " + WAIT);
            }
            Frame f = sse.next(Duration.ofMillis(50));
            if (f != null && !f.isComment()) {
                fail("unexpected event: " + f);
            }
        }
    }

    private static void awaitTrue(Await.Check check, Duration within, String what) throws Exception {
        Await.isTrue(check, within, what);
    }
}
