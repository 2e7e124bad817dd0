package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import org.junit.jupiter.api.Test;

/** Behind a reverse proxy the per-client limit counts the address the proxy reports, not the proxy's own. */
class ClientAddressTest {

    @Test
    void perClientLimitUsesTheLastEntryOfTheConfiguredHeader() throws Exception {
        try (Upstream up = new Upstream().json("{\"n\":1}");
                Service svc = Service.start("""
                        aggregator:
                          maxSubscribersPerClient: 1
                          clientAddressHeader: X-Forwarded-For
                          sources:
                            - id: one
                              url: %s/data
                              interval: 500ms
                        """.formatted(up.url()))) {
            String path = "/api/sources/one/events";
            try (SseClient a = SseClient.open(svc.client(), svc.uri(path), "X-Forwarded-For", "10.0.0.1");
                    SseClient b = SseClient.open(svc.client(), svc.uri(path), "X-Forwarded-For", "10.0.0.2")) {
                assertEquals(200, a.status(), "first client behind the proxy");
                assertEquals(200, b.status(), "another client behind the same proxy is not refused");
                assertEquals(503, svc.get(path, "X-Forwarded-For", "10.0.0.1").statusCode(), "same client again");
                // entries before the last can be written by the client itself: only the last one counts
                assertEquals(
                        503,
                        svc.get(path, "X-Forwarded-For", "192.0.2.99, 10.0.0.2").statusCode(),
                        "a forged first entry does not make a new client");
            }
        }
    }
}
