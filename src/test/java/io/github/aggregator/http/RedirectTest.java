package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Redirects are followed by the fetcher itself, so secrets in source headers only go to the configured origin. */
class RedirectTest {

    private static void redirect(HttpExchange ex, String location) throws IOException {
        ex.getResponseHeaders().set("Location", location);
        ex.sendResponseHeaders(302, -1);
    }

    private static void json(HttpExchange ex, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.getResponseHeaders().set("ETag", "\"e1\"");
        ex.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Test
    void sameOriginRedirectKeepsSourceHeadersAndValidators() throws Exception {
        try (Upstream up = new Upstream();
                Service svc = start(up.url() + "/start")) {
            up.reply(Upstream.Reply.custom(ex -> {
                if (ex.getRequestURI().getPath().equals("/start")) {
                    redirect(ex, "/final?x=1");
                } else {
                    json(ex, "{\"ok\":1}");
                }
            }));
            await(() -> finals(up).size() >= 2, "two fetches reached /final");
            List<Upstream.Request> finals = finals(up);
            assertEquals("s3cret", finals.get(0).headers().getFirst("x-api-key"));
            assertNotNull(finals.get(0).headers().getFirst("User-Agent"));
            assertEquals("x=1", finals.get(0).uri().getRawQuery());
            assertEquals("\"e1\"", finals.get(1).headers().getFirst("If-None-Match"), "validators survive");
            assertEquals(200, svc.get("/api/sources/hop").statusCode());
        }
    }

    @Test
    void crossOriginRedirectDropsSourceHeaders() throws Exception {
        try (Upstream other = new Upstream();
                Upstream up = new Upstream();
                Service svc = start(up.url() + "/start")) {
            other.reply(Upstream.Reply.custom(ex -> json(ex, "{\"ok\":2}")));
            up.reply(Upstream.Reply.custom(ex -> redirect(ex, other.url() + "/elsewhere")));
            await(() -> other.hits() >= 2, "two fetches reached the other origin");
            for (Upstream.Request r : other.requests()) {
                assertNull(r.headers().getFirst("x-api-key"), "the key must not leave the configured origin");
                assertNull(r.headers().getFirst("If-None-Match"));
                assertNotNull(r.headers().getFirst("User-Agent"));
            }
            assertTrue(svc.get("/api/sources/hop").body().contains("\"ok\":2"));
        }
    }

    private static List<Upstream.Request> finals(Upstream up) {
        return up.requests().stream()
                .filter(r -> r.uri().getPath().equals("/final"))
                .toList();
    }

    private static Service start(String url) {
        return Service.start("""
                aggregator:
                  sources:
                    - id: hop
                      url: %s
                      interval: 200ms
                      headers:
                        x-api-key: ${KEY}
                """.formatted(url), Map.of("KEY", "s3cret"));
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(20);
        }
    }
}
