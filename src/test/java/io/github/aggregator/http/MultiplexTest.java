package io.github.aggregator.http;

import static io.github.aggregator.http.PollingTest.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code GET /api/events?sources=a,b,c}: several sources on one SSE stream, each event naming its source, the
 * {@code id:} a cursor of every listed source's version, and a resume that decides per source.
 */
class MultiplexTest {
    static final Duration WAIT = Duration.ofSeconds(5);

    /** How a client hands over the last id it saw. */
    enum Via {
        HEADER,
        QUERY
    }

    @Test
    void oneStreamCarriesEveryListedSourceUnderACursorInListedOrder() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Upstream c = new Upstream().reply(Upstream.Reply.status(500, "application/json", "{}"));
                Service svc = Service.start(yaml("", sources("a", a, "b", b, "c", c)))) {
            long va = version(svc, "a");
            long vb = version(svc, "b");
            awaitTrue(() -> entry(svc, "c").get("stale").asBoolean(), "c has failed its first fetch");

            // listed in another order than the config: the cursor follows the list
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/events?sources=c,a,b"))) {
                assertEquals(200, sse.status());
                assertEquals(
                        "text/event-stream",
                        sse.headers().firstValue("Content-Type").orElseThrow().split(";")[0]);
                assertNotNull(sse.next(WAIT).retry(), "the first frame is retry:");

                Map<String, Frame> first = byEvent(events(sse, 3));
                Frame cStatus = first.get("status c");
                assertNotNull(cStatus, "c has no data yet: a status event names it: " + first);
                JsonNode cData = parse(cStatus);
                assertTrue(cData.get("stale").asBoolean(), cStatus.toString());
                assertFalse(cData.has("data"), cStatus.toString());
                assertEquals(0, cursor(cStatus, "c", "a", "b").get("c"), "0 = nothing of c yet");

                Frame aSnap = first.get("snapshot a");
                Frame bSnap = first.get("snapshot b");
                assertNotNull(aSnap, first.toString());
                assertNotNull(bSnap, first.toString());
                assertEquals(va, parse(aSnap).get("version").asLong());
                assertEquals(Json.MAPPER.readTree(content("a", 0)), parse(aSnap).get("data"));
                assertEquals(vb, parse(bSnap).get("version").asLong());
                assertEquals(Json.MAPPER.readTree(content("b", 0)), parse(bSnap).get("data"));
                assertEquals(va, cursor(aSnap, "c", "a", "b").get("a"));
                assertEquals(vb, cursor(bSnap, "c", "a", "b").get("b"));

                up(b, "b", 1);
                Frame bUpdate = sse.nextEvent(WAIT);
                assertNotNull(bUpdate, "no update for b");
                assertEquals("update", bUpdate.event(), bUpdate.toString());
                assertEquals("b", parse(bUpdate).get("id").asText());
                assertEquals(vb + 1, parse(bUpdate).get("version").asLong());
                assertEquals(1, parse(bUpdate).get("data").get("n").asInt());
                assertEquals(Map.of("c", 0L, "a", va, "b", vb + 1), cursor(bUpdate, "c", "a", "b"));

                up(a, "a", 1);
                Frame aUpdate = sse.nextEvent(WAIT);
                assertNotNull(aUpdate, "no update for a");
                assertEquals("update", aUpdate.event(), aUpdate.toString());
                assertEquals("a", parse(aUpdate).get("id").asText());
                assertEquals(Map.of("c", 0L, "a", va + 1, "b", vb + 1), cursor(aUpdate, "c", "a", "b"));

                // c heals: it recovers (status) and its first data arrives (a snapshot, as nothing was sent before)
                up(c, "c", 0);
                Map<String, Frame> healed = byEvent(events(sse, 2));
                Frame recovered = healed.get("status c");
                assertNotNull(recovered, healed.toString());
                assertFalse(parse(recovered).get("stale").asBoolean(), recovered.toString());
                Frame cSnap = healed.get("snapshot c");
                assertNotNull(cSnap, healed.toString());
                assertEquals(1, parse(cSnap).get("version").asLong());
                assertEquals(Map.of("c", 1L, "a", va + 1, "b", vb + 1), cursor(cSnap, "c", "a", "b"));
            }
        }
    }

    @Test
    void withoutSourcesTheStreamCarriesEveryEnabledSource() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Upstream c = new Upstream().json(content("c", 0));
                Service svc = Service.start(
                        yaml("", sources("a", a, "b", b, "c", c)) + source("off", a.url(), "      enabled: false\n"))) {
            Map<String, Long> versions = new LinkedHashMap<>();
            for (String id : List.of("a", "b", "c")) {
                versions.put(id, version(svc, id));
            }
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/events"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                List<Frame> snapshots = events(sse, 3);
                assertEquals(
                        List.of("snapshot a", "snapshot b", "snapshot c"),
                        snapshots.stream().map(MultiplexTest::label).toList(),
                        "in config order, the disabled source left out");
                assertEquals(versions, cursor(snapshots.getLast(), "a", "b", "c"));

                up(c, "c", 1);
                Frame update = sse.nextEvent(WAIT);
                assertNotNull(update);
                assertEquals("update c", label(update));
                assertEquals(
                        versions.get("c") + 1, cursor(update, "a", "b", "c").get("c"));
            }
            // the same list, each id once, even when listed twice
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/events?sources=b,a,b"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                List<Frame> snapshots = events(sse, 2);
                assertEquals(
                        List.of("snapshot b", "snapshot a"),
                        snapshots.stream().map(MultiplexTest::label).toList());
                cursor(snapshots.getLast(), "b", "a");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void resumeDecidesForEachSourceOnItsOwn(Via via) throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Upstream c = new Upstream().json(content("c", 0));
                Service svc = Service.start(yaml("historySize: 8", sources("a", a, "b", b, "c", c)))) {
            long va = version(svc, "a");
            long vc = version(svc, "c");
            long older = version(svc, "b");
            for (int n = 1; n <= 3; n++) {
                changeTo(svc, b, "b", n);
            }
            long vb = older + 3;

            // a: the client has the current version; b: three versions behind; c: garbage
            String cursor = "a:" + held("a", va, 0) + ",b:" + held("b", older, 0) + ",c:garbage";
            try (SseClient sse = open(svc, "/api/events?sources=a,b,c", via, cursor)) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                List<Frame> start = events(sse, 4);
                assertEquals(
                        List.of("update b", "update b", "update b", "snapshot c"),
                        start.stream().map(MultiplexTest::label).toList(),
                        "nothing for a, b's missed versions, a fresh c: " + start);
                for (int i = 0; i < 3; i++) {
                    Frame f = start.get(i);
                    assertEquals(older + 1 + i, parse(f).get("version").asLong(), f.toString());
                    assertEquals(1 + i, parse(f).get("data").get("n").asInt(), "the replay carries that version");
                    assertEquals(
                            Map.of("a", va, "b", older + 1 + i, "c", 0L),
                            cursor(f, "a", "b", "c"),
                            "the cursor names what the client now holds");
                }
                assertEquals(vc, parse(start.get(3)).get("version").asLong());
                assertEquals(Map.of("a", va, "b", vb, "c", vc), cursor(start.get(3), "a", "b", "c"));
                assertNoEventUntil(sse, hitsGrow(a, 3));

                // a goes on from the version the client had
                up(a, "a", 1);
                Frame next = sse.nextEvent(WAIT);
                assertNotNull(next);
                assertEquals("update a", label(next));
                assertEquals(Map.of("a", va + 1, "b", vb, "c", vc), cursor(next, "a", "b", "c"));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Via.class)
    void tooOldUnknownOrMalformedPartsGetAFreshSnapshotOfThatSourceOnly(Via via) throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Upstream c = new Upstream().json(content("c", 0));
                Service svc = Service.start(yaml("historySize: 2", sources("a", a, "b", b, "c", c)))) {
            long a0 = version(svc, "a");
            long b0 = version(svc, "b");
            long vc = version(svc, "c");
            for (int n = 1; n <= 4; n++) {
                changeTo(svc, a, "a", n);
                changeTo(svc, b, "b", n);
            }
            long va = a0 + 4;
            long vb = b0 + 4;

            // a: older than history; b: one behind, in history; c: a version from the future
            Map<String, List<String>> cases = new LinkedHashMap<>();
            cases.put(
                    "a:" + held("a", a0, 0) + ",b:" + held("b", vb - 1, 3) + ",c:" + held("c", vc + 100, 0),
                    List.of("snapshot a", "update b", "snapshot c"));
            // unknown ids, pairs without a colon, negative versions and a single-source id are ignored
            cases.put("zz:1,b:" + held("b", vb, 4) + ",a,c:-1,:5", List.of("snapshot a", "snapshot c"));
            // the previous release's cursor (bare versions) proves no content: a snapshot of each
            cases.put("a:" + va + ",b:" + vb + ",c:" + vc, List.of("snapshot a", "snapshot b", "snapshot c"));
            // the right versions with another content's hash (say, from before a restart)
            cases.put(
                    "a:" + held("a", va, 3) + ",b:" + held("b", vb, 4) + ",c:" + held("c", vc, 9),
                    List.of("snapshot a", "snapshot c"));
            cases.put(Long.toString(va), List.of("snapshot a", "snapshot b", "snapshot c"));
            cases.put("a:" + va + ";b:" + vb, List.of("snapshot a", "snapshot b", "snapshot c"));
            for (var e : cases.entrySet()) {
                try (SseClient sse = open(svc, "/api/events?sources=a,b,c", via, e.getKey())) {
                    assertEquals(200, sse.status(), e.getKey());
                    assertNotNull(sse.next(WAIT).retry());
                    List<Frame> start = events(sse, e.getValue().size());
                    assertEquals(
                            e.getValue(),
                            start.stream().map(MultiplexTest::label).toList(),
                            "cursor " + e.getKey());
                    assertEquals(Map.of("a", va, "b", vb, "c", vc), cursor(start.getLast(), "a", "b", "c"), e.getKey());
                    assertNoEventUntil(sse, hitsGrow(a, 2));
                }
            }
        }
    }

    @Test
    void unknownSourcesAreA400NamingThem() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Service svc = Service.start(yaml("", sources("a", a)))) {
            HttpResponse<String> r = refusal(svc, "/api/events?sources=a,nope,zzz-9");
            assertProblem(r, 400);
            String detail = Json.MAPPER.readTree(r.body()).get("detail").asText();
            assertTrue(detail.contains("nope") && detail.contains("zzz-9"), detail);
            assertFalse(detail.contains("a,"), "only the unknown ones are named: " + detail);
        }
    }

    @Test
    void emptySourcesIsA400() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Service svc = Service.start(yaml("", sources("a", a)))) {
            for (String q : List.of("sources=", "sources=,", "sources=%20,%20")) {
                assertProblem(refusal(svc, "/api/events?" + q), 400);
            }
        }
    }

    @Test
    void moreThanMaxSourcesPerStreamIsA400() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Service svc = Service.start(yaml("maxSourcesPerStream: 3", sources("a", a, "b", a, "c", a, "d", a)))) {
            version(svc, "a");
            HttpResponse<String> r = refusal(svc, "/api/events?sources=a,b,c,d");
            assertProblem(r, 400);
            assertTrue(Json.MAPPER.readTree(r.body()).get("detail").asText().contains("3"), r.body());
            // all enabled sources are four: more than one stream may carry
            assertProblem(refusal(svc, "/api/events"), 400);
            // three is fine
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/events?sources=a,b,c"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                assertEquals(3, cursor(events(sse, 3).getLast(), "a", "b", "c").size());
            }
        }
    }

    @Test
    void theDefaultLimitIsFiftySources() throws Exception {
        List<String> ids = IntStream.rangeClosed(1, 51).mapToObj(i -> "s" + i).toList();
        try (Upstream up = new Upstream().json(content("s", 0))) {
            StringBuilder yaml = new StringBuilder("aggregator:\n  sources:\n");
            ids.forEach(id -> yaml.append(source(id, up.url(), "      interval: 1h\n")));
            try (Service svc = Service.start(yaml.toString())) {
                HttpResponse<String> r = refusal(svc, "/api/events?sources=" + String.join(",", ids));
                assertProblem(r, 400);
                assertTrue(Json.MAPPER.readTree(r.body()).get("detail").asText().contains("50"), r.body());
                assertProblem(refusal(svc, "/api/events"), 400);

                List<String> fifty = ids.subList(0, 50);
                awaitTrue(
                        () -> {
                            for (JsonNode n : Json.MAPPER
                                    .readTree(svc.get("/api/sources").body())
                                    .get("sources")) {
                                if (n.get("version").asLong() == 0) {
                                    return false;
                                }
                            }
                            return true;
                        },
                        "every source fetched");
                try (SseClient sse =
                        SseClient.open(svc.client(), svc.uri("/api/events?sources=" + String.join(",", fifty)))) {
                    assertEquals(200, sse.status());
                    assertNotNull(sse.next(WAIT).retry());
                    List<Frame> snapshots = events(sse, 50);
                    Map<String, Long> last = cursor(snapshots.getLast(), fifty.toArray(String[]::new));
                    assertTrue(last.values().stream().allMatch(v -> v == 1), last.toString());
                }
            }
        }
    }

    @Test
    void statusEventsWhenOnePartTurnsStaleAndRecovers() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Service svc = Service.start(yaml("", sources("a", a, "b", b)))) {
            long va = version(svc, "a");
            long vb = version(svc, "b");
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/events?sources=a,b"))) {
                assertNotNull(sse.next(WAIT).retry());
                assertEquals(List.of("snapshot a", "snapshot b"), labels(events(sse, 2)));

                b.reply(Upstream.Reply.status(503, "text/plain", "down"));
                Frame stale = sse.nextEvent(WAIT);
                assertNotNull(stale, "no status event for b");
                assertEquals("status b", label(stale), stale.toString());
                JsonNode staleData = parse(stale);
                assertTrue(staleData.get("stale").asBoolean(), stale.toString());
                assertTrue(staleData.hasNonNull("error"), stale.toString());
                assertEquals(vb, staleData.get("version").asLong(), "still the last good version");
                assertEquals(Map.of("a", va, "b", vb), cursor(stale, "a", "b"));

                // the healthy part goes on meanwhile
                up(a, "a", 1);
                Frame update = sse.nextEvent(WAIT);
                assertNotNull(update);
                assertEquals("update a", label(update), "no second status while b keeps failing: " + update);

                up(b, "b", 0);
                Frame recovered = sse.nextEvent(WAIT);
                assertNotNull(recovered, "no status event for b's recovery");
                assertEquals("status b", label(recovered), recovered.toString());
                assertFalse(parse(recovered).get("stale").asBoolean(), recovered.toString());
                assertFalse(parse(recovered).has("error"), recovered.toString());
                assertEquals(Map.of("a", va + 1, "b", vb), cursor(recovered, "a", "b"));
                assertNoEventUntil(sse, hitsGrow(b, 3));
            }
        }
    }

    // ---- helpers, shared with the other stream tests of this package

    static String content(String id, int n) {
        return "{\"src\":\"" + id + "\",\"n\":" + n + "}";
    }

    /** A cursor pair's value for {@code version} of source {@code id} holding {@code content(id, n)}. */
    static String held(String id, long version, int n) throws IOException {
        return version + "-" + Json.hash(Json.MAPPER.readTree(content(id, n))).substring(0, 12);
    }

    /** Pairs of id and upstream, in order. */
    static Map<String, Upstream> sources(Object... idAndUpstream) {
        Map<String, Upstream> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < idAndUpstream.length; i += 2) {
            m.put((String) idAndUpstream[i], (Upstream) idAndUpstream[i + 1]);
        }
        return m;
    }

    /** An {@code aggregator} section with {@code settings} (one per line) and one fast source per upstream. */
    static String yaml(String settings, Map<String, Upstream> sources) {
        StringBuilder sb = new StringBuilder("aggregator:\n");
        for (String line : settings.lines().toList()) {
            if (!line.isBlank()) {
                sb.append("  ").append(line.strip()).append('\n');
            }
        }
        sb.append("  sources:\n");
        sources.forEach((id, up) -> sb.append(source(id, up.url(), "")));
        return sb.toString();
    }

    /** One source entry (under {@code sources:}), polled every 200ms unless {@code extra} sets an interval. */
    static String source(String id, String url, String extra) {
        String entry = "    - id: " + id + "\n      url: " + url + "/" + id + "\n";
        return entry + (extra.contains("interval:") ? "" : "      interval: 200ms\n      maxBackoff: 400ms\n") + extra;
    }

    static SseClient open(Service svc, String path, Via via, String lastEventId) {
        return switch (via) {
            case HEADER -> SseClient.open(svc.client(), svc.uri(path), "Last-Event-ID", lastEventId);
            case QUERY ->
                SseClient.open(
                        svc.client(),
                        svc.uri(path + (path.contains("?") ? "&" : "?") + "lastEventId="
                                + URLEncoder.encode(lastEventId, StandardCharsets.UTF_8)));
        };
    }

    /** The current version of {@code id}, waiting for its first fetch. */
    static long version(Service svc, String id) throws Exception {
        awaitTrue(() -> svc.get("/api/sources/" + id).statusCode() == 200, "first data of " + id);
        return Json.MAPPER
                .readTree(svc.get("/api/sources/" + id).body())
                .get("version")
                .asLong();
    }

    /**
     * GET {@code path} as an SSE client, for an answer that must not be a stream: fails, rather than hangs, when a
     * stream opens instead (a request timeout only bounds the wait for the headers).
     */
    static HttpResponse<String> refusal(Service svc, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(svc.uri(path))
                .header("Accept", "text/event-stream")
                .timeout(Duration.ofSeconds(10))
                .build();
        CompletableFuture<HttpResponse<String>> answer =
                svc.client().sendAsync(request, HttpResponse.BodyHandlers.ofString());
        try {
            return answer.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            answer.cancel(true);
            throw new AssertionError("no complete answer to " + path + " within 10 s: a stream opened?");
        }
    }

    /** The entry of {@code id} in {@code GET /api/sources}. */
    static JsonNode entry(Service svc, String id) throws IOException {
        HttpResponse<String> r = svc.get("/api/sources");
        assertEquals(200, r.statusCode(), r.body());
        for (JsonNode n : Json.MAPPER.readTree(r.body()).get("sources")) {
            if (n.get("id").asText().equals(id)) {
                return n;
            }
        }
        throw new AssertionError("no " + id + " in " + r.body());
    }

    /** Makes the upstream of {@code id} answer {@code content(id, n)}. */
    static void up(Upstream up, String id, int n) {
        up.json(content(id, n));
    }

    /** Makes the upstream of {@code id} answer {@code content(id, n)} and waits until the service has it. */
    static long changeTo(Service svc, Upstream up, String id, int n) throws Exception {
        long before = version(svc, id);
        up(up, id, n);
        awaitTrue(() -> version(svc, id) == before + 1, "version " + (before + 1) + " of " + id);
        return before + 1;
    }

    /** The next {@code n} events (comments skipped), failing when one does not come within {@link #WAIT}. */
    static List<Frame> events(SseClient sse, int n) throws InterruptedException {
        List<Frame> out = new ArrayList<>();
        while (out.size() < n) {
            Frame f = sse.nextEvent(WAIT);
            if (f == null) {
                fail("only " + out.size() + " of " + n + " events: " + out);
            }
            out.add(f);
        }
        return out;
    }

    static JsonNode parse(Frame f) {
        try {
            return Json.MAPPER.readTree(f.data());
        } catch (IOException e) {
            throw new AssertionError("data is not JSON: " + f, e);
        }
    }

    /** {@code "<event> <source id from the data>"}, e.g. {@code "update b"}. */
    static String label(Frame f) {
        return f.event() + " " + parse(f).path("id").asText("?");
    }

    static List<String> labels(List<Frame> frames) {
        return frames.stream().map(MultiplexTest::label).toList();
    }

    private static Map<String, Frame> byEvent(List<Frame> frames) {
        Map<String, Frame> m = new LinkedHashMap<>();
        for (Frame f : frames) {
            assertTrue(m.put(label(f), f) == null, "twice: " + label(f) + " in " + frames);
        }
        return m;
    }

    /**
     * The versions in the cursor {@code id:} of {@code f}, asserting it names exactly {@code order}, in that order,
     * each with a version.
     */
    static Map<String, Long> cursor(Frame f, String... order) {
        assertNotNull(f.id(), "no id: " + f);
        Map<String, Long> m = new LinkedHashMap<>();
        for (String pair : f.id().split(",", -1)) {
            String[] kv = pair.split(":", -1);
            assertEquals(2, kv.length, "cursor " + f.id());
            assertTrue(kv[1].matches("0|[1-9][0-9]*-[0-9a-f]{12}"), "cursor " + f.id());
            m.put(kv[0], Long.parseLong(kv[1].split("-")[0]));
        }
        assertEquals(List.of(order), List.copyOf(m.keySet()), "cursor " + f.id());
        return m;
    }

    static BooleanSupplier hitsGrow(Upstream up, int by) {
        int start = up.hits();
        return () -> up.hits() >= start + by;
    }

    /** Fails if an event (anything but a comment) arrives before {@code until} holds. */
    static void assertNoEventUntil(SseClient sse, BooleanSupplier until) throws InterruptedException {
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

    @FunctionalInterface
    interface Check {
        boolean holds() throws Exception;
    }

    static void awaitTrue(Check check, String what) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + WAIT.toMillis() + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }
}
