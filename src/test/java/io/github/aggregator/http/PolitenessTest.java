package io.github.aggregator.http;

import static io.github.aggregator.http.PollingTest.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * How the service treats its upstreams, asserted on what a real scripted upstream received: conditional requests,
 * Retry-After, backoff after failures, the User-Agent and the {@code minInterval} floor.
 */
class PolitenessTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final String LM1 = "Fri, 01 Mar 2024 12:00:00 GMT";
    private static final String LM2 = "Fri, 01 Mar 2024 13:00:00 GMT";

    // ---- conditional requests ------------------------------------------------------------------------------------

    /** Which validators the upstream sends with its 200s. */
    enum Validators {
        ETAG(true, false),
        LAST_MODIFIED(false, true),
        BOTH(true, true),
        NONE(false, false);

        final boolean etag;
        final boolean lastModified;

        Validators(boolean etag, boolean lastModified) {
            this.etag = etag;
            this.lastModified = lastModified;
        }
    }

    @ParameterizedTest
    @EnumSource(Validators.class)
    void conditionalRequestsEchoTheValidatorsAndA304MovesOnlyFetchedAt(Validators validators) throws Exception {
        Versioned content = new Versioned(validators);
        content.set("{\"n\":1}", "\"v1\"", LM1);
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(content));
                Service svc = Service.start(source("cond", up.url() + "/cond", "200ms", ""))) {
            JsonNode first = json(svc.get("/api/sources/cond"));
            assertEquals(1, first.get("version").asLong(), first.toString());
            assertFalse(instant(first, "changedAt").isAfter(instant(first, "fetchedAt")), first.toString());

            awaitHits(up, 4);
            JsonNode later = await(
                    () -> json(svc.get("/api/sources/cond")),
                    e -> instant(e, "fetchedAt").isAfter(instant(first, "fetchedAt")));
            assertEquals(1, later.get("version").asLong(), "no change, no new version: " + later);
            assertEquals(first.get("changedAt"), later.get("changedAt"), later.toString());
            assertFalse(later.get("stale").asBoolean(), later.toString());
            assertFalse(later.has("error"), later.toString());
            assertEquals(first.get("data"), later.get("data"));

            List<Upstream.Request> requests = up.requests();
            assertConditional(requests.get(0), validators, null, null);
            for (Upstream.Request r : requests.subList(1, requests.size())) {
                assertConditional(r, validators, "\"v1\"", LM1);
            }
            List<Integer> statuses = content.statuses();
            assertEquals(200, statuses.get(0));
            int expected = validators == Validators.NONE ? 200 : 304;
            assertTrue(
                    statuses.subList(1, statuses.size()).stream().allMatch(s -> s == expected),
                    "every later answer is " + expected + ": " + statuses);

            // new content with new validators: a new version, and the new validators are sent from then on
            content.set("{\"n\":2}", "\"v2\"", LM2);
            JsonNode changed = await(
                    () -> json(svc.get("/api/sources/cond")),
                    e -> e.get("version").asLong() == 2);
            assertTrue(instant(changed, "changedAt").isAfter(instant(later, "fetchedAt")), changed.toString());
            int seen = up.requests().size();
            awaitHits(up, seen + 2);
            for (Upstream.Request r : up.requests().subList(seen, seen + 2)) {
                assertConditional(r, validators, "\"v2\"", LM2);
            }
            JsonNode settled = json(svc.get("/api/sources/cond"));
            assertEquals(2, settled.get("version").asLong(), settled.toString());
            assertEquals(changed.get("changedAt"), settled.get("changedAt"), settled.toString());
        }
    }

    @Test
    void notModifiedAfterFailuresClearsStale() throws Exception {
        Versioned content = new Versioned(Validators.ETAG);
        content.set("{\"n\":1}", "\"v1\"", LM1);
        AtomicBoolean failing = new AtomicBoolean();
        List<Integer> statusesAfterHealing = new CopyOnWriteArrayList<>();
        AtomicBoolean healed = new AtomicBoolean();
        Upstream.Handler handler = exchange -> {
            if (failing.get()) {
                send(exchange, 500, "text/plain", "down");
                return;
            }
            int status = content.answer(exchange);
            if (healed.get()) {
                statusesAfterHealing.add(status);
            }
        };
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(handler));
                Service svc = Service.start(source("nm", up.url() + "/nm", "200ms", ""))) {
            JsonNode good = json(svc.get("/api/sources/nm"));
            assertEquals(1, good.get("version").asLong(), good.toString());

            failing.set(true);
            JsonNode stale = await(
                    () -> json(svc.get("/api/sources/nm")), e -> e.get("stale").asBoolean());
            assertTrue(stale.get("error").asText().contains("500"), stale.toString());
            assertTrue(entry(svc, "nm").get("consecutiveFailures").asInt() >= 1);

            int seen = up.requests().size();
            healed.set(true);
            failing.set(false);
            JsonNode recovered = await(
                    () -> json(svc.get("/api/sources/nm")), e -> !e.get("stale").asBoolean());
            assertEquals(1, recovered.get("version").asLong(), recovered.toString());
            assertFalse(recovered.has("error"), recovered.toString());
            assertEquals(good.get("changedAt"), recovered.get("changedAt"), recovered.toString());
            assertTrue(instant(recovered, "fetchedAt").isAfter(instant(good, "fetchedAt")), recovered.toString());
            assertEquals(good.get("data"), recovered.get("data"));
            // what cleared it was a 304: the validators survived the failures
            assertFalse(statusesAfterHealing.isEmpty());
            assertTrue(statusesAfterHealing.stream().allMatch(s -> s == 304), statusesAfterHealing.toString());
            List<Upstream.Request> sinceHealing = up.requests();
            for (Upstream.Request r : sinceHealing.subList(seen, sinceHealing.size())) {
                assertEquals("\"v1\"", r.headers().getFirst("If-None-Match"));
            }
            JsonNode entry = entry(svc, "nm");
            assertEquals(0, entry.get("consecutiveFailures").asInt(), entry.toString());
            assertFalse(entry.get("stale").asBoolean(), entry.toString());
            assertTrue(entry.get("lastError").isNull(), entry.toString());
        }
    }

    // ---- Retry-After ---------------------------------------------------------------------------------------------

    static Stream<Arguments> retryAfters() {
        return Stream.of(
                Arguments.of(429, false), Arguments.of(503, false), Arguments.of(429, true), Arguments.of(503, true));
    }

    /**
     * Every answer is a 429/503 asking for 5 s of quiet (as seconds, or as an HTTP-date on a whole second 5 to 6 s
     * ahead); the interval is 1 s. On a test clock: {@code nextFetchAt} is exactly the time asked for, the clock moved
     * to a millisecond before it brings no request, and the next request comes once it reaches it.
     */
    @ParameterizedTest(name = "{0} with an HTTP-date: {1}")
    @MethodSource("retryAfters")
    void retryAfterHoldsOffLongerThanTheInterval(int status, boolean httpDate) throws Exception {
        TestClock clock = new TestClock();
        List<Instant> notBefore = new CopyOnWriteArrayList<>();
        List<Instant> arrivals = new CopyOnWriteArrayList<>();
        Upstream.Handler handler = exchange -> {
            Instant now = clock.instant();
            arrivals.add(now);
            String retryAfter;
            if (httpDate) {
                Instant at = now.plusSeconds(5).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
                notBefore.add(at);
                retryAfter = httpDate(at);
            } else {
                notBefore.add(now.plusSeconds(5));
                retryAfter = "5";
            }
            exchange.getResponseHeaders().set("Retry-After", retryAfter);
            send(exchange, status, "application/json", "{\"error\":\"slow down\"}");
        };
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(handler));
                Service svc = Service.start(source("ra", up.url() + "/ra", "1s", ""), Map.of(), clock)) {
            // to the start jitter (at most a tenth of the interval) a millisecond at a time, each step settled: the
            // clock stands still while the first fetch runs, so the upstream, the Retry-After and nextFetchAt all
            // read the same time
            for (int ms = 0; up.hits() == 0; ms++) {
                assertTrue(ms <= 100, "no fetch within the start jitter");
                svc.step(clock, Duration.ofMillis(1));
            }
            awaitHits(up, 1);
            JsonNode entry = await(
                    () -> entry(svc, "ra"), e -> e.get("consecutiveFailures").asInt() >= 1);
            assertTrue(entry.get("lastError").asText().contains(Integer.toString(status)), entry.toString());
            Instant asked = notBefore.get(0);
            assertEquals(asked, Instant.parse(entry.get("nextFetchAt").asText()), "nextFetchAt is the time asked for");
            assertTrue(Duration.between(arrivals.get(0), asked).toMillis() >= 5000, "asked " + asked);

            clock.advance(Duration.between(clock.instant(), asked).minusMillis(1));
            assertEquals(1, up.hits(), "a request before the time asked for");
            clock.advance(Duration.ofMillis(1));
            awaitHits(up, 2); // and it does come back then
            assertFalse(arrivals.get(1).isBefore(asked), "second request at " + arrivals.get(1) + ", asked " + asked);
        }
    }

    // ---- backoff -------------------------------------------------------------------------------------------------

    /**
     * A 500-ing upstream, interval 200ms, maxBackoff 2s, on the test clock. After the n-th failure the next fetch is
     * due uniformly in [200, min(2000, 200·2^n)] ms: {@code nextFetchAt} lies there, the clock moved to a millisecond
     * before it brings no request and to it one. The waits grow (without backoff they would all be 200 ms), and the
     * first success resets the wait to the interval.
     */
    @Test
    void failuresBackOffAndTheFirstSuccessResets() throws Exception {
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream().reply(Upstream.Reply.status(500, "text/plain", "broken"));
                Service svc = Service.start(
                        source("bo", up.url() + "/bo", "200ms", "      maxBackoff: 2s\n      timeout: 1s\n"),
                        Map.of(),
                        clock)) {
            svc.step(clock, Duration.ofMillis(20)); // past the start jitter (at most a tenth of the interval)
            assertEquals(1, up.hits());
            long waited = 0;
            for (int n = 1; n <= 10; n++) {
                JsonNode e = entry(svc, "bo");
                assertEquals(n, e.get("consecutiveFailures").asInt(), e.toString());
                assertTrue(e.get("stale").asBoolean() || e.get("version").asLong() == 0, e.toString());
                long wait = Duration.between(clock.instant(), instant(e, "nextFetchAt"))
                        .toMillis();
                if (n > 1) { // the first fetch ran while the clock moved past the jitter; from the second on it stands
                    long ceiling = Math.min(2000, 200L << n);
                    assertTrue(wait >= 200 && wait <= ceiling, "wait " + wait + " ms after failure " + n);
                    waited += wait;
                }
                svc.step(clock, Duration.ofMillis(wait - 1));
                assertEquals(n, up.hits(), "a request before nextFetchAt, after failure " + n);
                svc.step(clock, Duration.ofMillis(1));
                assertEquals(n + 1, up.hits(), "no request at nextFetchAt, after failure " + n);
            }
            assertTrue(waited > 9 * 200, "nine waits of " + waited + " ms in all: no backoff");

            // heal: from the first success on, fetches are one interval apart again
            up.json("{\"ok\":true}");
            JsonNode e = entry(svc, "bo");
            svc.step(clock, Duration.between(clock.instant(), instant(e, "nextFetchAt")));
            JsonNode healed = entry(svc, "bo");
            assertEquals(0, healed.get("consecutiveFailures").asInt(), healed.toString());
            assertFalse(healed.get("stale").asBoolean(), healed.toString());
            assertEquals(clock.instant().plusMillis(200), instant(healed, "nextFetchAt"), healed.toString());
            int hits = up.hits();
            for (int i = 1; i <= 5; i++) {
                svc.step(clock, Duration.ofMillis(200));
                assertEquals(hits + i, up.hits(), "one request per interval after healing");
            }
        }
    }

    // ---- User-Agent ----------------------------------------------------------------------------------------------

    static Stream<Arguments> userAgents() {
        String configured = "acme-wall/2.1 (+https://acme.example/wall; ops@acme.example)";
        String top = "  userAgent: '" + configured + "'\n";
        return Stream.of(
                Arguments.of("default", "", "", AggregatorConfig.DEFAULT_USER_AGENT),
                Arguments.of("configured", top, "", configured),
                Arguments.of(
                        "source header", top, "      headers:\n        User-Agent: partner-feed/7\n", "partner-feed/7"),
                Arguments.of(
                        "source header in lower case",
                        "",
                        "      headers:\n        user-agent: partner-feed/7\n",
                        "partner-feed/7"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("userAgents")
    void userAgent(String kind, String aggregatorExtra, String sourceExtra, String expected) throws Exception {
        try (Upstream up = new Upstream().json("{}");
                Service svc = Service.start(source("ua", up.url() + "/ua", "200ms", sourceExtra)
                        .replace("aggregator:\n", "aggregator:\n" + aggregatorExtra))) {
            awaitHits(up, 2);
            for (Upstream.Request r : up.requests()) {
                assertEquals(List.of(expected), r.headers().get("User-Agent"), kind);
            }
            assertEquals(200, svc.get("/api/sources/ua").statusCode());
        }
    }

    // ---- minInterval ---------------------------------------------------------------------------------------------

    /**
     * On the test clock, an on-demand source read every 150 ms with idleAfter 20 ms: whenever it has gone idle, the
     * next read wakes it. However it is woken, the upstream never sees two requests closer than the 1 s floor, by the
     * clock's readings at their arrivals (the floor runs from the end of a fetch, so a slow request cannot eat into
     * it).
     */
    @Test
    void onDemandWakesNeverUndercutMinInterval() throws Exception {
        String extra = "      poll: on-demand\n      minInterval: 1s\n      idleAfter: 20ms\n";
        TestClock clock = new TestClock();
        List<Instant> arrivals = new CopyOnWriteArrayList<>();
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(exchange -> {
                    arrivals.add(clock.instant());
                    send(exchange, 200, "application/json", "{\"n\":1}");
                }));
                Service svc = Service.start(source("od", up.url() + "/od", "1s", extra), Map.of(), clock)) {
            svc.step(clock, Duration.ofMinutes(1));
            assertEquals(0, up.hits(), "an on-demand source nobody reads is not fetched");
            assertEquals("idle", entry(svc, "od").get("state").asText());

            // 5 s of the clock: a read every 150 ms; the state sampled every 50 ms in between, counting idle spells
            int wakes = 0;
            boolean wasIdle = false;
            for (int tick = 0; tick < 100; tick++) {
                boolean idle = entry(svc, "od").get("state").asText().equals("idle");
                if (idle && !wasIdle) {
                    wakes++;
                }
                wasIdle = idle;
                if (tick % 3 == 0) {
                    HttpResponse<String> r = svc.get("/api/sources/od");
                    assertEquals(200, r.statusCode(), r.body());
                    svc.settle(clock);
                    wasIdle = false;
                }
                svc.step(clock, Duration.ofMillis(50));
            }
            List<Long> gaps = new ArrayList<>();
            for (int i = 1; i < arrivals.size(); i++) {
                gaps.add(Duration.between(arrivals.get(i - 1), arrivals.get(i)).toMillis());
            }
            assertTrue(gaps.stream().allMatch(g -> g >= 1000), "ms between requests: " + gaps);
            assertTrue(wakes >= 2, "reads woke the source only " + wakes + " times");
            assertTrue(arrivals.size() >= 3, arrivals.size() + " requests in 5 s of reading");
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static void assertConditional(Upstream.Request r, Validators v, String etag, String lastModified) {
        assertEquals(v.etag && etag != null ? List.of(etag) : null, r.headers().get("If-None-Match"), "If-None-Match");
        assertEquals(
                v.lastModified && lastModified != null ? List.of(lastModified) : null,
                r.headers().get("If-Modified-Since"),
                "If-Modified-Since");
    }

    /**
     * Content with validators that answers conditional requests as an HTTP cache-aware origin does: If-None-Match
     * decides when present, else If-Modified-Since. Records the status of each answer.
     */
    private static final class Versioned implements Upstream.Handler {
        private record Version(String body, String etag, String lastModified) {}

        private final Validators validators;
        private final AtomicReference<Version> current = new AtomicReference<>();
        private final List<Integer> statuses = new CopyOnWriteArrayList<>();

        Versioned(Validators validators) {
            this.validators = validators;
        }

        void set(String body, String etag, String lastModified) {
            current.set(
                    new Version(body, validators.etag ? etag : null, validators.lastModified ? lastModified : null));
        }

        List<Integer> statuses() {
            return List.copyOf(statuses);
        }

        @Override
        public void handle(HttpExchange exchange) throws IOException {
            answer(exchange);
        }

        int answer(HttpExchange exchange) throws IOException {
            Version v = current.get();
            if (v.etag() != null) {
                exchange.getResponseHeaders().set("ETag", v.etag());
            }
            if (v.lastModified() != null) {
                exchange.getResponseHeaders().set("Last-Modified", v.lastModified());
            }
            String inm = exchange.getRequestHeaders().getFirst("If-None-Match");
            String ims = exchange.getRequestHeaders().getFirst("If-Modified-Since");
            boolean notModified;
            if (inm != null) {
                notModified = inm.equals(v.etag());
            } else {
                notModified = ims != null
                        && v.lastModified() != null
                        && !date(v.lastModified()).isAfter(date(ims));
            }
            int status = notModified ? 304 : 200;
            statuses.add(status);
            if (notModified) {
                exchange.sendResponseHeaders(304, -1);
                exchange.close();
            } else {
                send(exchange, 200, "application/json", v.body());
            }
            return status;
        }
    }

    private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static String source(String id, String url, String interval, String extra) {
        return """
                aggregator:
                  sources:
                    - id: %s
                      url: %s
                      interval: %s
                %s""".formatted(id, url, interval, extra);
    }

    private static JsonNode entry(Service svc, String id) {
        for (JsonNode s : json(svc.get("/api/sources")).get("sources")) {
            if (s.get("id").asText().equals(id)) {
                return s;
            }
        }
        throw new AssertionError("no " + id + " in /api/sources");
    }

    private static Instant instant(JsonNode envelope, String field) {
        return Instant.parse(envelope.get(field).asText());
    }

    private static Instant date(String httpDate) {
        return ZonedDateTime.parse(httpDate, DateTimeFormatter.RFC_1123_DATE_TIME)
                .toInstant();
    }

    private static String httpDate(Instant t) {
        return ZonedDateTime.ofInstant(t, ZoneOffset.UTC).format(DateTimeFormatter.RFC_1123_DATE_TIME);
    }

    private static void awaitHits(Upstream up, int atLeast) throws InterruptedException {
        awaitHits(up, atLeast, WAIT);
    }

    private static void awaitHits(Upstream up, int atLeast, Duration within) throws InterruptedException {
        await(() -> up.requests().size(), n -> n >= atLeast, within);
    }

    private static <T> T await(Supplier<T> get, Predicate<T> done) throws InterruptedException {
        return await(get, done, WAIT);
    }

    /** Polls {@code get} until {@code done} holds, for up to {@code within}; fails with the last value otherwise. */
    private static <T> T await(Supplier<T> get, Predicate<T> done, Duration within) throws InterruptedException {
        return Await.until(get, done, within);
    }
}
