package io.github.aggregator.bench;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.webserver.WebServer;
import java.nio.charset.StandardCharsets;

/**
 * The floor for {@code bench/startup.sh}: a bare Helidon SE web server with one route, {@code GET
 * /api/sources/{id}}, answering a fixed JSON body shaped like the service's envelope. No config file, no store, no
 * upstream call: what a start costs that Helidon and the JVM set. Listens on {@code PORT} (default 8080) on every
 * address, as the service does; runs from a jar whose manifest names the service's own libraries, so the class path
 * (and Helidon's service discovery over it) is the service's.
 */
public final class StartupFloor {
    private static final byte[] BODY = ("{\"id\":\"demo-clock\",\"version\":1,\"fetchedAt\":\"2026-01-01T00:00:00Z\","
                    + "\"changedAt\":\"2026-01-01T00:00:00Z\",\"stale\":false,\"data\":{\"now\":\"2026-01-01T00:00:00Z\"}}")
            .getBytes(StandardCharsets.UTF_8);

    private StartupFloor() {}

    public static void main(String[] args) {
        String port = System.getenv().getOrDefault("PORT", "8080");
        WebServer.builder()
                .port(Integer.parseInt(port))
                .routing(r -> r.get("/api/sources/{id}", (req, res) -> {
                    res.headers().contentType(MediaTypes.APPLICATION_JSON);
                    res.send(BODY);
                }))
                .build()
                .start(); // Helidon's own shutdown hook stops it
    }
}
