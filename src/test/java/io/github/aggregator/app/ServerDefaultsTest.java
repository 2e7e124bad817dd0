package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Service;
import io.helidon.webserver.WebServerConfig;
import org.junit.jupiter.api.Test;

/**
 * Nagle's algorithm is off on every listener unless the config turns it back on: with it on, each HTTP/2 answer and
 * SSE event over HTTP/2 waited for the client's delayed ACK (bench/README.md has the h2load figures).
 */
class ServerDefaultsTest {
    private static final String SOURCES = """
            aggregator:
              sources:
                - id: clock
                  url: /demo/clock
            """;

    @Test
    void everyListenerSendsSmallWritesAtOnce() {
        try (Service svc = Service.start("""
                server:
                  port: 0
                  host: 127.0.0.1
                  sockets:
                    - name: second
                      port: 0
                      host: 127.0.0.1
                """ + SOURCES)) {
            WebServerConfig settings = svc.app().serverSettings();
            assertTrue(settings.connectionOptions().tcpNoDelay(), "default socket");
            assertEquals(1, settings.sockets().size(), settings.sockets().toString());
            assertTrue(settings.sockets().get("second").connectionOptions().tcpNoDelay(), "named socket");
            assertEquals(200, svc.get("/api/sources/clock").statusCode());
        }
    }

    @Test
    void theConfigCanTurnNagleBackOn() {
        try (Service svc = Service.start("""
                server:
                  port: 0
                  host: 127.0.0.1
                  connection-options:
                    tcp-no-delay: false
                """ + SOURCES)) {
            assertFalse(svc.app().serverSettings().connectionOptions().tcpNoDelay());
            assertEquals(200, svc.get("/api/sources/clock").statusCode());
        }
    }
}
