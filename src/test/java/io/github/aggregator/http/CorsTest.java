package io.github.aggregator.http;

import static io.github.aggregator.http.AccessTest.firstEvent;
import static io.github.aggregator.http.AccessTest.header;
import static io.github.aggregator.http.AccessTest.send;
import static io.github.aggregator.http.PollingTest.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * CORS against real services: preflight for allowed and refused origins and methods, the headers of actual requests,
 * credentials only for origins listed by name (never with {@code *}), {@code Vary: Origin}, and a cross-origin
 * EventSource with credentials (a cookie) on a token source.
 */
class CorsTest {
    static final String DASH = "https://dash.example.com";
    static final String KEY = "cors-test-key-0123456789";

    private static Upstream upstream;
    /** Origins listed by name, with credentials. */
    private static Service listed;
    /** {@code "*"} plus one origin listed by name, with credentials. */
    private static Service star;
    /** No cors section. */
    private static Service none;

    @BeforeAll
    static void start() {
        upstream = new Upstream().json("{\"v\":1}");
        String sources = """
                aggregator:
                  sources:
                    - id: open
                      url: %1$s/open
                      interval: 1h
                    - id: secret
                      url: %1$s/secret
                      interval: 1h
                      access: token
                access:
                  keys:
                    - key: ${KEY}
                      sources: [secret]
                """.formatted(upstream.url());
        Map<String, String> env = Map.of("KEY", KEY);
        listed = Service.start(sources + """
                cors:
                  allowedOrigins: [https://dash.example.com, "http://localhost:3000"]
                  allowCredentials: true
                  maxAge: 5m
                """, env);
        star = Service.start(sources + """
                cors:
                  allowedOrigins: ["*", https://dash.example.com]
                  allowCredentials: true
                """, env);
        none = Service.start(sources, env);
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {listed, star, none, upstream}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // best effort
            }
        }
    }

    @Test
    void aPreflightFromAListedOriginIsAnswered204WithTheRules() throws Exception {
        HttpResponse<String> r = send(
                listed,
                "OPTIONS",
                "/api/sources/secret/events",
                "Origin",
                DASH,
                "Access-Control-Request-Method",
                "GET",
                "Access-Control-Request-Headers",
                "authorization, last-event-id");
        assertEquals(204, r.statusCode(), r.body());
        assertEquals(DASH, header(r, "Access-Control-Allow-Origin"));
        assertEquals("true", header(r, "Access-Control-Allow-Credentials"));
        assertEquals(List.of("get", "head"), values(r, "Access-Control-Allow-Methods"));
        assertTrue(values(r, "Access-Control-Allow-Headers").containsAll(List.of("authorization", "last-event-id")));
        assertEquals("300", header(r, "Access-Control-Max-Age"));
        assertTrue(values(r, "Vary").contains("origin"), r.headers().toString());
        assertEquals("", r.body());
    }

    @Test
    void aPreflightFromAnotherOriginOrForAnotherMethodIsRefused() throws Exception {
        for (HttpResponse<String> r : List.of(
                send(
                        listed,
                        "OPTIONS",
                        "/api/sources/open",
                        "Origin",
                        "https://evil.example.com",
                        "Access-Control-Request-Method",
                        "GET"),
                send(listed, "OPTIONS", "/api/sources/open", "Origin", DASH, "Access-Control-Request-Method", "DELETE"),
                send(listed, "OPTIONS", "/api/refresh", "Origin", DASH, "Access-Control-Request-Method", "POST"),
                send(none, "OPTIONS", "/api/sources/open", "Origin", DASH, "Access-Control-Request-Method", "GET"))) {
            assertProblem(r, 403);
            assertNull(
                    header(r, "Access-Control-Allow-Credentials"), r.headers().toString());
            assertFalse(
                    r.headers().firstValue("Access-Control-Allow-Methods").isPresent(),
                    r.headers().toString());
        }
        // the refused origin is not told it may read
        HttpResponse<String> evil = send(
                listed,
                "OPTIONS",
                "/api/sources/open",
                "Origin",
                "https://evil.example.com",
                "Access-Control-Request-Method",
                "GET");
        assertNull(header(evil, "Access-Control-Allow-Origin"));
    }

    @Test
    void aPlainOptionsRequestIs405NotAServerError() throws Exception {
        HttpResponse<String> r = send(listed, "OPTIONS", "/api/sources/open");
        assertProblem(r, 405);
        assertEquals("GET, HEAD", header(r, "Allow"));
    }

    @Test
    void anActualRequestFromAListedOriginMayBeReadWithCredentials() throws Exception {
        HttpResponse<String> r = send(listed, "GET", "/api/sources/open", "Origin", "http://localhost:3000");
        assertEquals(200, r.statusCode());
        assertEquals("http://localhost:3000", header(r, "Access-Control-Allow-Origin"));
        assertEquals("true", header(r, "Access-Control-Allow-Credentials"));
        assertTrue(
                values(r, "Access-Control-Expose-Headers")
                        .containsAll(List.of("etag", "last-modified", "retry-after", "www-authenticate")),
                r.headers().toString());
        assertTrue(
                values(r, "Vary").containsAll(List.of("origin", "accept-encoding")),
                r.headers().toString());

        // a 401 is readable too, so a page can see why
        HttpResponse<String> refused = send(listed, "GET", "/api/sources/secret", "Origin", DASH);
        assertProblem(refused, 401);
        assertEquals(DASH, header(refused, "Access-Control-Allow-Origin"));
    }

    @Test
    void anotherOriginGetsNoCorsHeadersButTheAnswerStillVariesByOrigin() throws Exception {
        HttpResponse<String> r = send(listed, "GET", "/api/sources/open", "Origin", "https://evil.example.com");
        assertEquals(200, r.statusCode());
        assertNull(header(r, "Access-Control-Allow-Origin"));
        assertNull(header(r, "Access-Control-Allow-Credentials"));
        assertTrue(values(r, "Vary").contains("origin"), r.headers().toString());
        HttpResponse<String> same = send(listed, "GET", "/api/sources/open");
        assertNull(header(same, "Access-Control-Allow-Origin"));
        assertTrue(values(same, "Vary").contains("origin"), "cached answers must not be shared across origins");
    }

    @Test
    void withoutACorsSectionNothingChanges() throws Exception {
        HttpResponse<String> r = send(none, "GET", "/api/sources/open", "Origin", DASH);
        assertEquals(200, r.statusCode());
        assertNull(header(r, "Access-Control-Allow-Origin"));
        assertEquals(List.of("accept-encoding"), values(r, "Vary"));
    }

    @Test
    void starAllowsAnyOriginButNeverWithCredentials() throws Exception {
        HttpResponse<String> other = send(star, "GET", "/api/sources/open", "Origin", "https://anyone.example.org");
        assertEquals("*", header(other, "Access-Control-Allow-Origin"));
        assertNull(
                header(other, "Access-Control-Allow-Credentials"),
                other.headers().toString());
        HttpResponse<String> preflight = send(
                star,
                "OPTIONS",
                "/api/sources/open",
                "Origin",
                "https://anyone.example.org",
                "Access-Control-Request-Method",
                "GET");
        assertEquals(204, preflight.statusCode());
        assertEquals("*", header(preflight, "Access-Control-Allow-Origin"));
        assertNull(header(preflight, "Access-Control-Allow-Credentials"));

        // the origin listed by name gets itself back, with credentials
        HttpResponse<String> dash = send(star, "GET", "/api/sources/open", "Origin", DASH);
        assertEquals(DASH, header(dash, "Access-Control-Allow-Origin"));
        assertEquals("true", header(dash, "Access-Control-Allow-Credentials"));
    }

    @Test
    void aCrossOriginEventSourceWithCredentialsReadsATokenSource() throws Exception {
        // what a browser sends for new EventSource(url, {withCredentials: true}) with the token in a cookie
        try (SseClient sse = SseClient.open(
                listed.client(),
                listed.uri("/api/sources/secret/events"),
                "Origin",
                DASH,
                "Cookie",
                "access_token=" + KEY)) {
            assertEquals(200, sse.status());
            assertEquals(
                    DASH,
                    sse.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
            assertEquals(
                    "true",
                    sse.headers().firstValue("Access-Control-Allow-Credentials").orElse(null));
            assertEquals("snapshot", firstEvent(sse).event());
        }
        // and the multiplexed stream
        try (SseClient sse = SseClient.open(
                listed.client(),
                listed.uri("/api/events?sources=open,secret"),
                "Origin",
                DASH,
                "Cookie",
                "access_token=" + KEY)) {
            assertEquals(200, sse.status());
            assertEquals(
                    DASH,
                    sse.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
            assertEquals("snapshot", firstEvent(sse).event());
        }
    }

    @Test
    void pathsOutsideTheApiGetNoCorsHeaders() throws Exception {
        HttpResponse<String> r = send(listed, "GET", "/demo/clock", "Origin", DASH);
        assertEquals(200, r.statusCode());
        assertNull(header(r, "Access-Control-Allow-Origin"));
    }

    /** Every value of a header, split at commas, trimmed and in lower case. */
    private static List<String> values(HttpResponse<?> r, String name) {
        return r.headers().allValues(name).stream()
                .flatMap(v -> Arrays.stream(v.split(",")))
                .map(v -> v.trim().toLowerCase(Locale.ROOT))
                .filter(v -> !v.isEmpty())
                .toList();
    }
}
