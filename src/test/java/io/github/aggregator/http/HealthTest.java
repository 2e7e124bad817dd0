package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.observe.Health;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * {@code /observe/health}, {@code /live} and {@code /ready} on a real service: UP with each check's details once it
 * listens, a failing upstream does not make it unready, and a registered check (the seam the cluster mode uses) turns
 * readiness DOWN with 503 without touching liveness.
 */
class HealthTest {

    @Test
    void upOnceListeningWithDetailsAndStaleUpstreamsDoNotMakeItUnready() throws Exception {
        try (Upstream down = new Upstream().reply(Upstream.Reply.status(503, "text/plain", "busy"));
                Service svc = Service.start("""
                        aggregator:
                          sources:
                            - id: clock
                              url: /demo/clock
                              interval: 1s
                            - id: failing
                              url: %s/x
                              interval: 1s
                        """.formatted(down.url()))) {
            svc.get("/api/sources/clock"); // waits for the first fetch
            JsonNode ready = body(svc.get("/observe/health/ready"), 200);
            assertEquals("UP", ready.get("status").asText());
            assertEquals(List.of("server", "sources", "store"), names(ready));
            JsonNode server = ready.get("checks").get(0);
            assertEquals("UP", server.get("status").asText());
            assertEquals(svc.port(), server.get("details").get("port").asInt());
            JsonNode sources = ready.get("checks").get(1).get("details");
            assertEquals(2, sources.get("enabled").asInt());
            assertEquals(1, sources.get("withData").asInt());
            JsonNode store = ready.get("checks").get(2);
            assertEquals("UP", store.get("status").asText());
            assertEquals("ok", store.get("details").get("state").asText(), store.toString());

            JsonNode live = body(svc.get("/observe/health/live"), 200);
            assertEquals(List.of("poller"), names(live));
            JsonNode all = body(svc.get("/observe/health"), 200);
            assertEquals(List.of("poller", "server", "sources", "store"), names(all));
            assertEquals(
                    "no-store",
                    svc.get("/observe/health")
                            .headers()
                            .firstValue("Cache-Control")
                            .orElse(""));
        }
    }

    @Test
    void aRegisteredReadinessCheckTurnsReadinessDownButNotLiveness() throws Exception {
        try (Service svc = Service.start("""
                aggregator:
                  sources:
                    - id: clock
                      url: /demo/clock
                """)) {
            AtomicBoolean reachable = new AtomicBoolean(true);
            svc.app()
                    .health()
                    .readiness(
                            "redis",
                            () -> reachable.get()
                                    ? Health.Result.up(Map.of("cluster", "degraded"))
                                    : Health.Result.down("unreachable"));

            JsonNode up = body(svc.get("/observe/health/ready"), 200);
            assertEquals(
                    "degraded",
                    up.get("checks").get(3).get("details").get("cluster").asText(),
                    up.toString());

            reachable.set(false);
            JsonNode ready = body(svc.get("/observe/health/ready"), 503);
            assertEquals("DOWN", ready.get("status").asText());
            JsonNode redis = ready.get("checks").get(3);
            assertEquals("redis", redis.get("name").asText());
            assertEquals("DOWN", redis.get("status").asText());
            assertEquals("unreachable", redis.get("details").get("reason").asText());
            assertEquals(
                    "DOWN", body(svc.get("/observe/health"), 503).get("status").asText());
            assertEquals(
                    "UP",
                    body(svc.get("/observe/health/live"), 200).get("status").asText());

            reachable.set(true);
            body(svc.get("/observe/health/ready"), 200);
        }
    }

    @Test
    void aCheckThatThrowsIsDownWithoutItsMessage() throws Exception {
        try (Service svc = Service.start("""
                aggregator:
                  sources:
                    - id: clock
                      url: /demo/clock
                """)) {
            svc.app().health().liveness("broken", () -> {
                throw new IllegalStateException("redis://user:secret-password@10.0.0.1");
            });
            HttpResponse<String> r = svc.get("/observe/health/live");
            JsonNode live = body(r, 503);
            assertEquals(
                    "check failed: IllegalStateException",
                    live.get("checks").get(1).get("details").get("reason").asText());
            assertFalse(r.body().contains("secret"), r.body());
        }
    }

    private static JsonNode body(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        return Json.MAPPER.readTree(r.body());
    }

    private static List<String> names(JsonNode report) {
        List<String> names = new ArrayList<>();
        report.get("checks").forEach(c -> names.add(c.get("name").asText()));
        return names;
    }
}
