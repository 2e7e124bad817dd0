package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void pollAndStreamOneSource() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1}");
                Service svc = Service.start("""
                        aggregator:
                          sources:
                            - id: one
                              url: %s/data
                              interval: 300ms
                        """.formatted(up.url()))) {
            HttpResponse<String> r = svc.get("/api/sources/one");
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"data\":{\"a\":1}"), r.body());
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/one/events"))) {
                SseClient.Frame retry = sse.next(Duration.ofSeconds(5));
                long retryMillis = Long.parseLong(retry.retry());
                assertTrue(retryMillis >= 3000 && retryMillis <= 5000, "3 s plus up to 2 s of jitter: " + retryMillis);
                SseClient.Frame snap = sse.nextEvent(Duration.ofSeconds(5));
                assertEquals("snapshot", snap.event());
                up.json("{\"a\":2}");
                SseClient.Frame upd = sse.nextEvent(Duration.ofSeconds(5));
                assertNotNull(upd);
                assertEquals("update", upd.event());
                assertTrue(upd.data().contains("\"a\":2"), upd.data());
            }
        }
    }
}
