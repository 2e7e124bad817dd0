package io.github.aggregator.bench;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.http.HttpMediaType;
import io.helidon.webserver.WebServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The baseline for the JSON endpoint: a Helidon web server with one route, {@code GET /api/sources/{id}}, answering a
 * fixed body (a copy of a real response of the service) with the same Content-Type, and nothing else: no lookup, no
 * serialization, no ETag. Listens on 127.0.0.1, a free port, printed as {@code port N} on stdout. Takes the same
 * Helidon web server settings as the service (its {@code server.*} keys), so both run the same transport.
 *
 * <p>Usage: {@code java -cp ... io.github.aggregator.bench.BareServer BODY_FILE CONTENT_TYPE [KEY=VALUE ...]}
 */
public final class BareServer {
    private BareServer() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: BareServer BODY_FILE CONTENT_TYPE [KEY=VALUE ...]");
            System.exit(2);
        }
        byte[] body = Files.readAllBytes(Path.of(args[0]));
        HttpMediaType type = HttpMediaType.create(args[1]);
        Map<String, String> settings = new HashMap<>(Map.of("server.host", "127.0.0.1", "server.port", "0"));
        for (int i = 2; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            settings.put("server." + kv[0], kv[1]);
        }
        WebServer server = WebServer.builder()
                .config(Config.just(ConfigSources.create(settings)).get("server"))
                .routing(r -> r.get("/api/sources/{id}", (req, res) -> {
                    res.headers().contentType(type);
                    res.send(body);
                }))
                .build()
                .start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "shutdown"));
        System.out.println("port " + server.port());
        System.out.flush();
    }
}
