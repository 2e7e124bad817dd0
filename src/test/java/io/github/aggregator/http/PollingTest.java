package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The JSON polling contract of {@code GET /api/sources} and {@code GET /api/sources/{id}}, against a real service and
 * a real scripted upstream on loopback.
 */
class PollingTest {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Pattern MAX_AGE = Pattern.compile("max-age=(\\d+)");

    @Test
    void envelopeEtagAndConditionalGets() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1}");
                Service svc = Service.start(oneSource("one", up.url() + "/one", "300ms", ""))) {
            HttpResponse<String> r = svc.get("/api/sources/one");
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(header(r, "Content-Type").startsWith("application/json"), header(r, "Content-Type"));
            JsonNode env = json(r);
            for (String field : List.of("id", "version", "fetchedAt", "changedAt", "stale", "data")) {
                assertTrue(env.has(field), "envelope lacks " + field + ": " + r.body());
            }
            assertEquals("one", env.get("id").asText());
            assertTrue(env.get("version").isIntegralNumber(), r.body());
            assertEquals(1, env.get("version").asLong(), r.body());
            assertFalse(env.get("stale").asBoolean(), r.body());
            assertFalse(env.has("error"), r.body());
            assertEquals(MAPPER.readTree("{\"a\":1}"), env.get("data"));
            Instant fetchedAt = Instant.parse(env.get("fetchedAt").asText());
            Instant changedAt = Instant.parse(env.get("changedAt").asText());
            assertFalse(fetchedAt.isBefore(changedAt), r.body());

            String etag = header(r, "ETag");
            assertTrue(etag.matches("\"[^\"]+\""), "not a strong quoted entity tag: " + etag);

            // Last-Modified is changedAt, to the second
            Instant lastModified = httpDate(header(r, "Last-Modified"));
            assertEquals(changedAt.truncatedTo(ChronoUnit.SECONDS), lastModified);

            // max-age: at least 1, at most the interval rounded up to whole seconds
            long maxAge = maxAge(r);
            assertEquals(1, maxAge, "max-age for a 300ms interval");

            // If-None-Match that matches: 304, no body, same validator
            for (String inm : List.of(etag, "\"nope\", " + etag, "\"a\",\"b\"," + etag + ",\"c\"", "W/" + etag, "*")) {
                HttpResponse<String> nm = svc.get("/api/sources/one", "If-None-Match", inm);
                assertEquals(304, nm.statusCode(), "If-None-Match: " + inm);
                assertEquals("", nm.body(), "a 304 has no body (If-None-Match: " + inm + ")");
                assertEquals(etag, header(nm, "ETag"));
            }
            // If-None-Match that does not match: 200 with the body
            for (String inm : List.of("\"nope\"", "W/\"nope\"", "\"1-000000000000\"", etag.replace("\"", ""))) {
                HttpResponse<String> m = svc.get("/api/sources/one", "If-None-Match", inm);
                assertEquals(200, m.statusCode(), "If-None-Match: " + inm);
                assertEquals(1, json(m).get("version").asLong());
            }

            // If-Modified-Since at or after changedAt: 304; before: 200; garbage: ignored
            String lm = header(r, "Last-Modified");
            assertEquals(
                    304, svc.get("/api/sources/one", "If-Modified-Since", lm).statusCode());
            assertEquals(
                    304,
                    svc.get("/api/sources/one", "If-Modified-Since", httpDate(changedAt.plusSeconds(3600)))
                            .statusCode());
            HttpResponse<String> older =
                    svc.get("/api/sources/one", "If-Modified-Since", httpDate(changedAt.minusSeconds(3600)));
            assertEquals(200, older.statusCode());
            assertEquals(MAPPER.readTree("{\"a\":1}"), json(older).get("data"));
            assertEquals(
                    200,
                    svc.get("/api/sources/one", "If-Modified-Since", "not a date")
                            .statusCode());
            // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
            assertEquals(
                    200,
                    svc.get("/api/sources/one", "If-None-Match", "\"nope\"", "If-Modified-Since", lm)
                            .statusCode());

            // a new version: a new ETag, and the old one no longer matches
            up.json("{\"a\":2}");
            JsonNode v2 = await(
                    () -> json(svc.get("/api/sources/one")),
                    e -> e.get("version").asLong() != 1);
            assertEquals(2, v2.get("version").asLong());
            HttpResponse<String> r2 = svc.get("/api/sources/one", "If-None-Match", etag);
            assertEquals(200, r2.statusCode(), "old ETag must not match version 2");
            String etag2 = header(r2, "ETag");
            assertNotEquals(etag, etag2);
            assertTrue(etag2.matches("\"[^\"]+\""), etag2);
            assertEquals(MAPPER.readTree("{\"a\":2}"), json(r2).get("data"));
            assertEquals(
                    304, svc.get("/api/sources/one", "If-None-Match", etag2).statusCode());
            assertTrue(up.hits() >= 2);
        }
    }

    @Test
    void maxAgeNeverExceedsTheIntervalRoundedUp() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1}");
                Service svc = Service.start(oneSource("slow", up.url() + "/slow", "2500ms", ""))) {
            long deadline = System.nanoTime() + Duration.ofMillis(3000).toNanos();
            int samples = 0;
            while (System.nanoTime() < deadline) {
                HttpResponse<String> r = svc.get("/api/sources/slow");
                assertEquals(200, r.statusCode(), r.body());
                long n = maxAge(r);
                assertTrue(n >= 1 && n <= 3, "max-age " + n + " for a 2.5s interval");
                samples++;
                // a conditional request carries the same freshness information
                HttpResponse<String> nm = svc.get("/api/sources/slow", "If-None-Match", header(r, "ETag"));
                assertEquals(304, nm.statusCode());
                long m = maxAge(nm);
                assertTrue(m >= 1 && m <= 3, "max-age " + m + " on a 304");
                Thread.sleep(50);
            }
            assertTrue(samples > 10, "only " + samples + " samples");
        }
    }

    @Test
    void versionChangesOnlyWhenContentChanges() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1,\"b\":[1,2],\"c\":{\"x\":\"y\",\"z\":null}}");
                Service svc = Service.start(oneSource("v", up.url() + "/v", "200ms", ""))) {
            HttpResponse<String> first = svc.get("/api/sources/v");
            assertEquals(200, first.statusCode(), first.body());
            JsonNode e1 = json(first);
            assertEquals(1, e1.get("version").asLong());
            String etag1 = header(first, "ETag");
            Instant fetched1 = Instant.parse(e1.get("fetchedAt").asText());
            String changed1 = e1.get("changedAt").asText();

            // the same JSON with keys reordered and different whitespace, for several intervals
            up.json("{ \"c\" : {\"z\":null,   \"x\":\"y\"},\n\t\"b\" : [ 1 , 2 ],  \"a\" : 1 }\n");
            int h = up.hits();
            awaitHits(up, h + 3);
            JsonNode same = await(
                    () -> json(svc.get("/api/sources/v")),
                    e -> Instant.parse(e.get("fetchedAt").asText()).isAfter(fetched1));
            assertEquals(1, same.get("version").asLong(), "same content must keep the version");
            assertEquals(changed1, same.get("changedAt").asText(), "changedAt must stay");
            assertEquals(e1.get("data"), same.get("data"));
            HttpResponse<String> sameResp = svc.get("/api/sources/v");
            assertEquals(etag1, header(sameResp, "ETag"), "same version, same ETag");
            assertEquals(304, svc.get("/api/sources/v", "If-None-Match", etag1).statusCode());

            // a real change: the version goes up by exactly one
            up.json("{\"a\":2,\"b\":[1,2],\"c\":{\"x\":\"y\",\"z\":null}}");
            JsonNode e2 = await(
                    () -> json(svc.get("/api/sources/v")), e -> e.get("version").asLong() != 1);
            assertEquals(2, e2.get("version").asLong(), "one change, one version");
            assertTrue(
                    Instant.parse(e2.get("changedAt").asText()).isAfter(Instant.parse(changed1)),
                    "changedAt moves on a change");
            assertEquals(e2.get("changedAt").asText(), e2.get("fetchedAt").asText());
            assertEquals(2, e2.get("data").get("a").asInt());

            // which stays put while the content does
            h = up.hits();
            awaitHits(up, h + 3);
            HttpResponse<String> still = svc.get("/api/sources/v");
            assertEquals(2, json(still).get("version").asLong());
            assertEquals(
                    e2.get("changedAt").asText(), json(still).get("changedAt").asText());
            String etag2 = header(still, "ETag");
            assertNotEquals(etag1, etag2);

            // array order is content: reordering elements is a change
            up.json("{\"a\":2,\"b\":[2,1],\"c\":{\"x\":\"y\",\"z\":null}}");
            JsonNode e3 = await(
                    () -> json(svc.get("/api/sources/v")), e -> e.get("version").asLong() != 2);
            assertEquals(3, e3.get("version").asLong());
        }
    }

    @Test
    void selectPicksASubtree() throws Exception {
        try (Upstream up = new Upstream()
                        .json("{\"meta\":{\"page\":1},\"payload\":{\"items\":[{\"n\":1},{\"n\":2}],"
                                + "\"a/b\":{\"c~d\":[\"x\",\"y\"]}}}");
                Service svc = Service.start("""
                        aggregator:
                          sources:
                            - id: items
                              url: %1$s/items
                              interval: 300ms
                              select: /payload/items
                            - id: escaped
                              url: %1$s/escaped
                              interval: 300ms
                              select: /payload/a~1b/c~0d/1
                        """.formatted(up.url()))) {
            HttpResponse<String> r = svc.get("/api/sources/items");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(MAPPER.readTree("[{\"n\":1},{\"n\":2}]"), json(r).get("data"));
            assertFalse(r.body().contains("meta"), r.body());
            HttpResponse<String> e = svc.get("/api/sources/escaped");
            assertEquals(200, e.statusCode(), e.body());
            assertEquals("y", json(e).get("data").asText(), e.body());
            // the upstream is called with the whole URL; select applies to the response only
            assertTrue(up.requests().stream().anyMatch(q -> q.uri().getPath().equals("/items")));
        }
    }

    @Test
    void errorsAreProblemJsonWithoutInternals() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1}");
                Service svc = Service.start(oneSource("one", up.url() + "/one", "300ms", ""))) {
            assertEquals(200, svc.get("/api/sources/one").statusCode());

            HttpResponse<String> unknown = svc.get("/api/sources/nope");
            assertProblem(unknown, 404);
            assertTrue(json(unknown).get("detail").asText().contains("nope"), unknown.body());
            assertProblem(svc.get("/nope"), 404);
            assertProblem(svc.get("/api/nope"), 404);
            assertProblem(svc.get("/api/sources/one/nope"), 404);
            assertProblem(svc.get("/api/sources/nope/events"), 404);
            HttpResponse<String> longId = svc.get("/api/sources/" + "x".repeat(2000));
            assertProblem(longId, 404);
            assertTrue(longId.body().length() < 500, "the detail must not echo a long id whole");
            assertProblem(svc.get("/api/sources/%C3%A9%3Cscript%3E"), 404);

            for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
                for (String path : List.of("/api/sources/x", "/api/sources/one", "/api/sources")) {
                    HttpResponse<String> r = send(svc, method, path, "{\"a\":1}");
                    assertProblem(r, 405);
                    assertEquals(
                            List.of("GET"),
                            Arrays.stream(header(r, "Allow").split(","))
                                    .map(String::trim)
                                    .filter(m -> m.equals("GET") || m.equals(method))
                                    .toList(),
                            "Allow on " + method + " " + path);
                }
            }
            // the upstream was only ever asked for the source, never for anything a client sent
            assertTrue(up.requests().stream().allMatch(q -> q.uri().getPath().equals("/one")));
        }
    }

    @Test
    void listShowsEnabledSourcesAndNoSecrets() throws Exception {
        try (Upstream up = new Upstream().json("{\"ok\":true}");
                Service svc = Service.start("""
                        aggregator:
                          sources:
                            - id: secret
                              url: %1$s/secret?token=query-secret&x=1&sig=a%%2Bb%%2Fc%%3D&q=two%%20words&p=a+b
                              interval: 300ms
                              headers:
                                x-api-key: ${KEY}
                            - id: off
                              url: %1$s/off?token=off-secret
                              interval: 300ms
                              enabled: false
                            - id: plain
                              url: %1$s/plain
                              interval: 2s
                        """.formatted(up.url()), Map.of("KEY", "some-secret"))) {
            JsonNode list = await(
                    () -> json(svc.get("/api/sources")),
                    l -> l.get("sources").size() == 2
                            && l.get("sources").get(0).get("version").asLong() >= 1
                            && l.get("sources").get(1).get("version").asLong() >= 1);
            HttpResponse<String> r = svc.get("/api/sources");
            assertEquals(200, r.statusCode());
            assertTrue(header(r, "Content-Type").startsWith("application/json"));
            List<String> ids = new ArrayList<>();
            for (JsonNode s : list.get("sources")) {
                ids.add(s.get("id").asText());
                for (String field : List.of(
                        "id",
                        "interval",
                        "version",
                        "fetchedAt",
                        "changedAt",
                        "nextFetchAt",
                        "stale",
                        "lastError",
                        "subscribers")) {
                    assertTrue(s.has(field), s.get("id") + " lacks " + field + ": " + s);
                }
                Instant.parse(s.get("fetchedAt").asText());
                Instant.parse(s.get("changedAt").asText());
                Instant.parse(s.get("nextFetchAt").asText());
                assertFalse(s.get("stale").asBoolean(), s.toString());
                assertTrue(s.get("lastError").isNull(), s.toString());
                assertEquals(0, s.get("subscribers").asInt(), s.toString());
            }
            assertEquals(List.of("secret", "plain"), ids, "enabled sources only, in file order");
            assertEquals(0.3, list.get("sources").get(0).get("interval").asDouble(), 1e-9);
            assertEquals(2.0, list.get("sources").get(1).get("interval").asDouble(), 1e-9);

            // nextFetchAt is the next scheduled fetch: one interval after the last one
            JsonNode plain = await(
                    () -> json(svc.get("/api/sources")).get("sources").get(1),
                    s -> Instant.parse(s.get("nextFetchAt").asText())
                            .isAfter(Instant.parse(s.get("fetchedAt").asText())));
            Duration ahead = Duration.between(
                    Instant.parse(plain.get("fetchedAt").asText()),
                    Instant.parse(plain.get("nextFetchAt").asText()));
            assertTrue(ahead.compareTo(Duration.ofMillis(2100)) <= 0, "nextFetchAt " + ahead + " after fetchedAt");

            // subscribers counts open SSE streams
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/plain/events"))) {
                assertNotNull(sse.nextEvent(WAIT));
                JsonNode withSub = await(
                        () -> json(svc.get("/api/sources")),
                        l -> l.get("sources").get(1).get("subscribers").asInt() == 1);
                assertEquals(0, withSub.get("sources").get(0).get("subscribers").asInt());
            }

            // the upstream received the secrets...
            List<Upstream.Request> secretCalls = up.requests().stream()
                    .filter(q -> q.uri().getPath().equals("/secret"))
                    .toList();
            assertFalse(secretCalls.isEmpty());
            for (Upstream.Request q : secretCalls) {
                assertEquals("some-secret", q.headers().getFirst("x-api-key"));
                // the query arrives exactly as written: same order (signed requests depend on it), same encoding,
                // a `+` still a `+`
                assertEquals(
                        "token=query-secret&x=1&sig=a%2Bb%2Fc%3D&q=two%20words&p=a+b",
                        q.uri().getRawQuery());
            }
            // ...a disabled source is never called...
            assertTrue(up.requests().stream().noneMatch(q -> q.uri().getPath().equals("/off")));
            // ...and no response shows them
            for (String path : List.of("/api/sources", "/api/sources/secret", "/api/sources/off")) {
                String body = svc.get(path).body();
                for (String secret : List.of("some-secret", "query-secret", "off-secret", "token=", "a%2Bb")) {
                    assertFalse(body.contains(secret), path + " leaks " + secret + ": " + body);
                }
            }
            assertProblem(svc.get("/api/sources/off"), 404);
        }
    }

    /**
     * The first fetch is held by the upstream until the test lets it go: every cold request is answered (503) while it
     * is still held, so by the cold wait and not by the fetch.
     */
    @Test
    void coldStartAnswers503WithRetryAfterWithinTheColdWait() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (Upstream up = new Upstream();
                Service svc = startCold(up, "300ms", heldFirst(release))) {
            List<HttpResponse<String>> responses;
            try {
                // were they waiting on the fetch, they would wait past their own request timeout
                responses = concurrentGets(svc, "/api/sources/cold", 20);
            } finally {
                release.countDown();
            }
            for (HttpResponse<String> r : responses) {
                assertProblem(r, 503);
                String retryAfter = header(r, "Retry-After");
                assertTrue(retryAfter.matches("\\d+") && Long.parseLong(retryAfter) >= 1, retryAfter);
            }
            assertTrue(up.hits() <= 1, "cold requests must not trigger fetches of their own: " + up.hits());
            // once the slow first fetch lands, the data is served; still one upstream call
            HttpResponse<String> ok = await(() -> svc.get("/api/sources/cold"), r -> r.statusCode() == 200);
            assertEquals(1, json(ok).get("version").asLong());
            assertEquals(1, up.hits());
        }
    }

    @Test
    void concurrentColdRequestsShareOneFetchAndGetItsResult() throws Exception {
        AtomicLong answeredAt = new AtomicLong();
        try (Upstream up = new Upstream();
                Service svc = startCold(up, "8s", slowFirst(Duration.ofMillis(1500), () -> {
                    answeredAt.compareAndSet(0, System.nanoTime());
                }))) {
            List<Long> doneAt = new ArrayList<>();
            List<HttpResponse<String>> responses;
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<HttpResponse<String>>> futures = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    futures.add(pool.submit(() -> {
                        HttpResponse<String> r = svc.get("/api/sources/cold");
                        synchronized (doneAt) {
                            doneAt.add(System.nanoTime());
                        }
                        return r;
                    }));
                }
                responses = new ArrayList<>();
                for (Future<HttpResponse<String>> f : futures) {
                    responses.add(f.get());
                }
            }
            for (HttpResponse<String> r : responses) {
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(MAPPER.readTree("{\"cold\":\"done\"}"), json(r).get("data"));
            }
            assertEquals(1, up.hits(), "one in-flight fetch for 20 waiting requests");
            for (long t : doneAt) {
                assertTrue(t >= answeredAt.get(), "a request was answered before the upstream was");
            }
        }
    }

    /**
     * 200 pollers (half of them conditional) read the source without pause while the test clock passes three
     * intervals: the upstream is called exactly once per interval, however many reads there were.
     */
    @Test
    void oneUpstreamFetchPerIntervalUnderLoad() throws Exception {
        int intervals = 3;
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream().json("{\"load\":1}");
                HttpClient client = HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(5))
                        .build();
                Service svc = Service.start(oneSource("hot", up.url() + "/hot", "1s", ""), Map.of(), clock)) {
            svc.step(clock, Duration.ofSeconds(1)); // the first fetch, after the start jitter
            assertEquals(1, up.hits(), "the first fetch");
            URI uri = svc.uri("/api/sources/hot");
            AtomicBoolean polling = new AtomicBoolean(true);
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger polls = new AtomicInteger();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 200; i++) {
                    boolean conditional = i % 2 == 0;
                    pool.submit(() -> {
                        String etag = null;
                        while (polling.get() && failure.get() == null) {
                            HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                                    .timeout(Duration.ofSeconds(10))
                                    .GET();
                            if (conditional && etag != null) {
                                b.header("If-None-Match", etag);
                            }
                            try {
                                HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                                statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger())
                                        .incrementAndGet();
                                polls.incrementAndGet();
                                etag = r.headers().firstValue("ETag").orElse(etag);
                            } catch (IOException | RuntimeException e) {
                                failure.compareAndSet(null, e);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                                return;
                            }
                        }
                    });
                }
                try {
                    // each interval passes with a hundred reads or more made since the last
                    for (int i = 1; i <= intervals + 1; i++) {
                        int reads = i * 100;
                        Await.isTrue(
                                () -> polls.get() >= reads || failure.get() != null,
                                Duration.ofSeconds(60),
                                reads + " reads (" + polls.get() + " so far)");
                        if (i <= intervals) {
                            svc.step(clock, Duration.ofSeconds(1));
                        }
                    }
                } finally {
                    polling.set(false);
                }
            }
            if (failure.get() != null) {
                fail("a poll failed", failure.get());
            }
            assertTrue(statuses.keySet().stream().allMatch(s -> s == 200 || s == 304), "statuses: " + statuses);
            assertTrue(statuses.containsKey(304), "conditional pollers got 304s: " + statuses);
            assertEquals(
                    1 + intervals, up.hits(), "upstream calls for " + intervals + " intervals and " + polls + " reads");
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static String oneSource(String id, String url, String interval, String extra) {
        return """
                aggregator:
                  sources:
                    - id: %s
                      url: %s
                      interval: %s
                %s""".formatted(id, url, interval, extra);
    }

    /** A service with coldWait {@code coldWait} whose one source is answered by {@code handler}. */
    private static Service startCold(Upstream up, String coldWait, Upstream.Handler handler) {
        up.reply(Upstream.Reply.custom(handler));
        return Service.start("""
                aggregator:
                  coldWait: %s
                  sources:
                    - id: cold
                      url: %s/cold
                      interval: 5s
                """.formatted(coldWait, up.url()));
    }

    /** Answers JSON; the first call only after {@code firstDelay}, then runs {@code beforeAnswer}. */
    private static Upstream.Handler slowFirst(Duration firstDelay, Runnable beforeAnswer) {
        AtomicInteger calls = new AtomicInteger();
        return exchange -> {
            if (calls.incrementAndGet() == 1) {
                Thread.sleep(firstDelay.toMillis());
            }
            beforeAnswer.run();
            byte[] body = "{\"cold\":\"done\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        };
    }

    /** Answers JSON; holds its first call until {@code release} opens. */
    private static Upstream.Handler heldFirst(CountDownLatch release) {
        AtomicInteger calls = new AtomicInteger();
        return exchange -> {
            if (calls.incrementAndGet() == 1 && !release.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
            }
            byte[] body = "{\"cold\":\"done\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        };
    }

    /** {@code n} simultaneous GETs of {@code path}; returns once all are answered. */
    private static List<HttpResponse<String>> concurrentGets(Service svc, String path, int n) throws Exception {
        List<HttpResponse<String>> out = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> svc.get(path)));
            }
            for (Future<HttpResponse<String>> f : futures) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
        }
        return out;
    }

    static void assertProblem(HttpResponse<String> r, int status) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(
                header(r, "Content-Type").startsWith("application/problem+json"),
                "Content-Type " + header(r, "Content-Type"));
        JsonNode body = MAPPER.readTree(r.body());
        assertEquals(status, body.get("status").asInt(), r.body());
        assertTrue(body.hasNonNull("title"), r.body());
        assertNoInternals(r.body());
    }

    static void assertNoInternals(String body) {
        assertFalse(body.contains("Exception"), body);
        assertFalse(body.contains("\tat "), body);
    }

    private static HttpResponse<String> send(Service svc, String method, String path, String body) {
        HttpRequest request = HttpRequest.newBuilder(svc.uri(path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
            return svc.client().send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElseThrow(() -> new AssertionError("no " + name + " header"));
    }

    static JsonNode json(HttpResponse<String> r) {
        try {
            return MAPPER.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r.body(), e);
        }
    }

    private static long maxAge(HttpResponse<String> r) {
        String cc = header(r, "Cache-Control");
        Matcher m = MAX_AGE.matcher(cc);
        assertTrue(m.find(), "Cache-Control: " + cc);
        return Long.parseLong(m.group(1));
    }

    private static Instant httpDate(String text) {
        return ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
    }

    private static String httpDate(Instant t) {
        return ZonedDateTime.ofInstant(t, ZoneOffset.UTC).format(DateTimeFormatter.RFC_1123_DATE_TIME);
    }

    /** Polls {@code get} until {@code done} holds, for up to 5 s; fails with the last value otherwise. */
    static <T> T await(Supplier<T> get, Predicate<T> done) throws InterruptedException {
        return Await.until(get, done, WAIT);
    }

    private static void awaitHits(Upstream up, int atLeast) throws InterruptedException {
        await(up::hits, h -> h >= atLeast);
    }
}
