package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** POST /api/refresh: off without a token, token-protected, reports changed / unchanged / failed / deferred. */
class RefreshTest {
    private static final String TOKEN = "test-admin-token-0123456789";

    private static HttpResponse<String> post(Service svc, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(svc.uri(path))
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return svc.client().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String yaml(String url, String admin) {
        return """
                %saggregator:
                  sources:
                    - id: slow
                      url: %s/slow
                      interval: 1h
                    - id: floor
                      url: %s/floor
                      interval: 1h
                      minInterval: 1h
                      timeout: 1s
                """.formatted(admin, url, url);
    }

    @Test
    void offWithoutAToken() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}");
                Service svc = Service.start(yaml(up.url(), ""))) {
            assertEquals(404, post(svc, "/api/refresh", TOKEN).statusCode());
            assertEquals(404, post(svc, "/api/refresh/slow", TOKEN).statusCode());
        }
    }

    @Test
    void tokenProtectedAndReportsEachSource() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}");
                Service svc = Service.start(yaml(up.url(), "admin:\n  token: ${ADMIN}\n"), Map.of("ADMIN", TOKEN))) {
            assertEquals(200, svc.get("/api/sources/slow").statusCode());
            assertEquals(200, svc.get("/api/sources/floor").statusCode());
            int hits = up.hits();

            HttpResponse<String> none = post(svc, "/api/refresh", null);
            assertEquals(401, none.statusCode());
            assertFalse(none.body().contains(TOKEN));
            assertEquals(401, post(svc, "/api/refresh", TOKEN + "x").statusCode());
            assertEquals(hits, up.hits(), "refused requests fetch nothing");

            // unchanged content: "unchanged"; the minInterval source is not fetched again: "deferred"
            JsonNode first =
                    Json.MAPPER.readTree(post(svc, "/api/refresh", TOKEN).body());
            assertEquals("unchanged", result(first, "slow"), first.toString());
            assertEquals("deferred", result(first, "floor"), first.toString());
            assertTrue(first.toString().contains("nextFetchAt"), first.toString());

            up.json("{\"v\":2}");
            JsonNode changed =
                    Json.MAPPER.readTree(post(svc, "/api/refresh/slow", TOKEN).body());
            assertEquals("changed", result(changed, "slow"), changed.toString());
            assertEquals(2, changed.get("results").get(0).get("version").asInt());

            up.reply(Upstream.Reply.status(500, "text/plain", "down"));
            JsonNode failed =
                    Json.MAPPER.readTree(post(svc, "/api/refresh/slow", TOKEN).body());
            assertEquals("failed", result(failed, "slow"), failed.toString());
            assertTrue(failed.get("results").get(0).get("error").asText().contains("HTTP 500"));

            assertEquals(404, post(svc, "/api/refresh/nope", TOKEN).statusCode());
            long floorHits = up.requests().stream()
                    .filter(r -> r.uri().getPath().equals("/floor"))
                    .count();
            assertEquals(1, floorHits, "minInterval is never undercut by a refresh");
        }
    }

    private static String result(JsonNode body, String id) {
        for (JsonNode r : body.get("results")) {
            if (r.get("id").asText().equals(id)) {
                return r.get("result").asText();
            }
        }
        throw new AssertionError("no result for " + id + " in " + body);
    }
}
