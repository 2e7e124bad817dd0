package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An upstream whose successful answers say, through its own rate-limit headers, that no request remains until a
 * reset 30 s away; the interval is 1 s. On a test clock: {@code nextFetchAt} is the reset, neither the schedule nor an
 * explicit refresh sends a request before it, and polling resumes at it. The data stays fresh meanwhile.
 */
class RateLimitHeadersTest {
    private static final String ADMIN = "admin-token-0123456789";
    private static final Duration WAIT = Duration.ofSeconds(30);

    static Stream<Arguments> styles() {
        Function<Instant, Map<String, String>> ietf =
                reset -> Map.of("RateLimit", "\"default\";r=0;t=30", "RateLimit-Policy", "\"default\";q=10;w=60");
        Function<Instant, Map<String, String>> github = reset -> Map.of(
                "X-RateLimit-Limit", "10",
                "X-RateLimit-Remaining", "0",
                "X-RateLimit-Reset", Long.toString(reset.getEpochSecond()));
        Function<Instant, Map<String, String>> seconds =
                reset -> Map.of("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "30");
        return Stream.of(
                Arguments.of("IETF RateLimit", ietf),
                Arguments.of("X-RateLimit-Reset as epoch seconds", github),
                Arguments.of("X-RateLimit-Reset as seconds", seconds));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("styles")
    void noRequestBeforeTheReset(String style, Function<Instant, Map<String, String>> headers) throws Exception {
        TestClock clock = new TestClock();
        List<Instant> arrivals = new CopyOnWriteArrayList<>();
        List<Instant> resets = new CopyOnWriteArrayList<>();
        Upstream.Handler handler = exchange -> {
            Instant now = clock.instant();
            arrivals.add(now);
            Instant reset = now.plusSeconds(30);
            resets.add(reset);
            headers.apply(reset).forEach(exchange.getResponseHeaders()::set);
            send(exchange, "{\"n\":" + arrivals.size() + "}");
        };
        String yaml = "admin:\n  token: " + ADMIN + "\naggregator:\n  sources:\n    - id: rl\n      url: %s/rl\n"
                + "      interval: 1s\n      timeout: 1s\n";
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(handler));
                Service svc = Service.start(yaml.formatted(up.url()), Map.of(), clock)) {
            clock.advance(Duration.ofMillis(100)); // past the start jitter
            Await.until(arrivals::size, n -> n >= 1, WAIT);
            JsonNode entry =
                    Await.until(() -> entry(svc), e -> e.path("version").asLong() >= 1, WAIT);
            // an epoch reset has whole seconds: the wait ends at that second
            Instant reset = style.contains("epoch")
                    ? Instant.ofEpochSecond(resets.get(0).getEpochSecond())
                    : resets.get(0);
            Instant next = Instant.parse(entry.get("nextFetchAt").asText());
            if (style.contains("epoch")) {
                assertEquals(reset, next, "nextFetchAt is the reset");
            } else {
                // a reset in seconds counts from when the service read the answer, which can be up to the 100 ms
                // advanced above after the upstream's own reading of the clock
                assertFalse(next.isBefore(reset), "nextFetchAt " + next + " before the reset " + reset);
                assertFalse(next.isAfter(reset.plusMillis(100)), "nextFetchAt " + next + " long after " + reset);
                reset = next;
            }
            assertFalse(entry.get("stale").asBoolean(), "a spent upstream limit is no failure");

            clock.advance(Duration.ofSeconds(10));
            HttpResponse<String> refresh = post(svc, "/api/refresh/rl");
            assertEquals(200, refresh.statusCode(), refresh.body());
            assertEquals(
                    "deferred",
                    json(refresh.body()).get("results").get(0).get("result").asText());
            clock.advance(Duration.between(clock.instant(), reset).minusMillis(1));
            assertEquals(1, arrivals.size(), "a request before the reset");
            clock.advance(Duration.ofMillis(1));
            Await.until(arrivals::size, n -> n >= 2, WAIT);
            assertFalse(arrivals.get(1).isBefore(reset), "second request at " + arrivals.get(1) + ", reset " + reset);
        }
    }

    private static HttpResponse<String> post(Service svc, String path) throws Exception {
        return svc.client()
                .send(
                        java.net.http.HttpRequest.newBuilder(svc.uri(path))
                                .header("Authorization", "Bearer " + ADMIN)
                                .POST(java.net.http.HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode entry(Service svc) {
        return json(svc.get("/api/sources").body()).get("sources").get(0);
    }

    private static JsonNode json(String body) {
        try {
            return Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw new AssertionError(body, e);
        }
    }

    private static void send(com.sun.net.httpserver.HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
