package io.github.aggregator.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.source.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The WHATWG EventSource of npm's {@code eventsource} package (5.x), installed once under {@code target/} with {@code
 * npm install --prefix}, and a small Node script that prints every event it receives as one JSON line: {@code
 * {"type","lastEventId","data"}}.
 */
final class EventSourceClient {
    private static final Path DIR = Path.of("target", "eventsource-client");
    private static final String SCRIPT = """
            import { EventSource } from 'eventsource';
            const es = new EventSource(process.argv[2]);
            for (const type of ['snapshot', 'update', 'status', 'removed']) {
              es.addEventListener(type, (e) => {
                console.log(JSON.stringify({ type, lastEventId: e.lastEventId, data: JSON.parse(e.data) }));
              });
            }
            es.onerror = () => console.log(JSON.stringify({ type: 'error' }));
            // the package unrefs its reconnect timer: without something else alive, Node would exit while waiting
            setInterval(() => {}, 1 << 30);
            """;

    private EventSourceClient() {}

    /** Installs the package when it is not there yet; returns the script to run with {@code node SCRIPT URL}. */
    static synchronized Path install() throws Exception {
        Path script = DIR.resolve("client.mjs").toAbsolutePath();
        if (!Files.isDirectory(DIR.resolve("node_modules").resolve("eventsource"))) {
            Files.createDirectories(DIR);
            Process npm = new ProcessBuilder(
                            "npm", "install", "--prefix", DIR.toString(), "--no-audit", "--no-fund", "eventsource@5")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(npm.getInputStream().readAllBytes());
            if (!npm.waitFor(5, TimeUnit.MINUTES) || npm.exitValue() != 0) {
                throw new AssertionError("npm install eventsource@5 failed (node and npm are needed): " + out);
            }
        }
        // next to node_modules, so that the import resolves
        Files.writeString(script, SCRIPT);
        return script;
    }

    /** The next snapshot or update the client printed (errors, i.e. reconnects, and status events are skipped). */
    static JsonNode nextMessage(BlockingQueue<String> lines, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        java.util.List<String> skipped = new java.util.ArrayList<>();
        while (true) {
            String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError(
                        "the EventSource client received no snapshot or update within " + within + ": " + skipped);
            }
            skipped.add(line);
            if (!line.startsWith("{")) {
                throw new AssertionError("the EventSource client printed: " + line);
            }
            JsonNode n = Json.MAPPER.readTree(line);
            String type = n.get("type").asText();
            if (type.equals("snapshot") || type.equals("update")) {
                return (ObjectNode) n;
            }
        }
    }
}
