package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Service;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http1.Http1Config;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The web server settings the service changes from Helidon's defaults, on every listener unless the config sets them:
 * Nagle's algorithm off (with it on, each HTTP/2 answer and SSE event over HTTP/2 waited for the client's delayed ACK),
 * plain sockets and a small stream buffer (memory per SSE subscriber). bench/README.md has the figures.
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
            assertFalse(settings.useNio(), "plain sockets: one 8 KiB buffer per connection instead of two");
            assertEquals(512, settings.writeBufferSize());
            assertEquals(1, settings.sockets().size(), settings.sockets().toString());
            assertTrue(settings.sockets().get("second").connectionOptions().tcpNoDelay(), "named socket");
            assertFalse(settings.sockets().get("second").useNio());
            assertFalse(http1(settings).validateResponseHeaders(), "the service's own header values");
            assertEquals(200, svc.get("/api/sources/clock").statusCode());
        }
    }

    private static Http1Config http1(WebServerConfig settings) {
        return settings.protocols().stream()
                .filter(Http1Config.class::isInstance)
                .map(Http1Config.class::cast)
                .findFirst()
                .orElseThrow();
    }

    @Test
    void theConfigOverridesEachDefault() {
        try (Service svc = Service.start("""
                server:
                  port: 0
                  host: 127.0.0.1
                  use-nio: true
                  write-buffer-size: 4096
                  connection-options:
                    tcp-no-delay: false
                  protocols:
                    http_1_1:
                      validate-response-headers: true
                """ + SOURCES)) {
            WebServerConfig settings = svc.app().serverSettings();
            assertTrue(http1(settings).validateResponseHeaders());
            assertFalse(settings.connectionOptions().tcpNoDelay());
            assertTrue(settings.useNio());
            assertEquals(4096, settings.writeBufferSize());
            assertEquals(200, svc.get("/api/sources/clock").statusCode());
        }
    }

    /**
     * A section that names only its address is built without Helidon's config (a faster start); the server must be
     * the one Helidon's config builds from the same section, field for field (the prototypes' own text, with object
     * identities left out).
     */
    @Test
    void aSectionThatNamesOnlyItsAddressGetsTheServerHelidonsConfigBuilds() {
        List<Map<String, Object>> sections = List.of(
                Map.of("port", "0", "host", "127.0.0.1"),
                Map.of("port", "8080"),
                Map.of("host", "0.0.0.0", "header-timeout", "5s", "keep-alive-timeout", "30s"),
                Map.of());
        for (Map<String, Object> section : sections) {
            Map<String, Object> tree = Map.of("server", section);
            Map<String, String> flat = new LinkedHashMap<>();
            section.forEach((k, v) -> flat.put("server." + k, v.toString()));
            assertTrue(ServerSettings.isPlain(tree), section + " is built without Helidon's config");
            ServerSettings settings = ServerSettings.of(flat, tree);
            try (var limits = settings.limits()) {
                String plain = text(settings.builder().buildPrototype());
                String viaConfig = text(ServerSettings.fromConfig(tree, limits).buildPrototype());
                assertEquals(viaConfig, plain, section.toString());
                assertTrue(plain.contains("useNio=false"), plain);
            }
        }
    }

    @Test
    void anyOtherKeyOrAStructuredValueTakesHelidonsConfig() {
        assertFalse(ServerSettings.isPlain(Map.of("server", Map.of("port", "0", "use-nio", "true"))));
        assertFalse(ServerSettings.isPlain(Map.of("server", Map.of("port", "0", "sockets", List.of()))));
        assertFalse(ServerSettings.isPlain(Map.of("server", Map.of("host", Map.of("a", "b")))));
        Map<String, Object> empty = new LinkedHashMap<>();
        empty.put("host", null);
        assertFalse(ServerSettings.isPlain(Map.of("server", empty)), "a value the config path reads as empty text");
    }

    /** The prototype's text without the identity hashes of the objects it names (listeners, contexts, features). */
    private static String text(WebServerConfig config) {
        return config.toString().replaceAll("@[0-9a-f]+([,}\\]])", "@$1");
    }
}
