package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.MainProcess;
import io.github.aggregator.testing.Ports;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A first start on the shipped config, as a newcomer runs it (its own JVM, the repository's config/application.yaml,
 * only {@code PORT} set): the whole log is the one line saying where the service listens, how many sources it polls
 * and where the dashboard is; nothing at WARNING or SEVERE, also once every demo source (the combined one too) serves.
 * With {@code AGGREGATOR_LOG_FORMAT=json} every line is one JSON object.
 */
class StartupLogTest {
    /** A JVM starting next to other builds on a small machine may be slow; this bounds only the start. */
    private static final Duration START = Duration.ofSeconds(60);

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void aFirstStartOnTheShippedConfigLogsOneLineAndNoWarning() throws Exception {
        int port = Ports.free();
        List<String> lines = runShippedConfig(port, Map.of());
        assertEquals(1, lines.size(), "one line on a first start; the log:\n" + String.join("\n", lines));
        String line = lines.get(0);
        assertFalse(line.contains("WARNING") || line.contains("SEVERE"), line);
        assertTrue(line.contains(" INFO "), line);
        assertTrue(
                line.endsWith(" INFO " + Aggregator.class.getName() + ": listening on http://0.0.0.0:" + port
                        + ", polling 2 sources and combining 1 from " + Main.DEFAULT_CONFIG
                        + "; dashboard at http://localhost:" + port + "/"),
                line);
    }

    @Test
    void jsonLogsAreOneObjectPerLine() throws Exception {
        int port = Ports.free();
        List<String> lines = runShippedConfig(port, Map.of(Main.LOG_FORMAT, "json"));
        assertEquals(1, lines.size(), "one line on a first start; the log:\n" + String.join("\n", lines));
        JsonNode record = Json.MAPPER.readTree(lines.get(0));
        assertTrue(record.isObject(), lines.get(0));
        assertEquals("INFO", record.get("level").asText(), lines.get(0));
        assertEquals(Aggregator.class.getName(), record.get("logger").asText(), lines.get(0));
        assertTrue(record.get("time").asText().endsWith("Z"), lines.get(0));
        assertTrue(
                record.get("message").asText().startsWith("listening on http://0.0.0.0:" + port + ","), lines.get(0));
    }

    @Test
    void anUnknownLogFormatIsRefusedInOneLine() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Main.Started started = Main.start(
                new String[0], Map.of(Main.LOG_FORMAT, "xml"), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, started.exitCode());
        assertEquals(
                "aggregator: AGGREGATOR_LOG_FORMAT must be text or json, not \"xml\"\n",
                err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aPortAlreadyTakenIsOneLineAndExitCode1() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("0.0.0.0", 0));
            Path log = Files.createTempFile("startup-log", ".txt");
            ProcessBuilder pb = MainProcess.builder();
            pb.environment().remove(Main.LOG_FORMAT);
            pb.environment().put("PORT", Integer.toString(taken.getLocalPort()));
            pb.environment().put("AGGREGATOR_DATA_DIR", ""); // nothing else to say
            pb.redirectErrorStream(true).redirectOutput(log.toFile());
            Process process = pb.start();
            try {
                assertTrue(process.waitFor(START.toSeconds(), TimeUnit.SECONDS), "still running on a taken port");
                List<String> lines = Files.readAllLines(log).stream()
                        .filter(l -> !l.isBlank() && !l.contains("store: off"))
                        .toList();
                assertEquals(1, process.exitValue(), String.join("\n", lines));
                assertEquals(
                        List.of("aggregator: cannot listen on 0.0.0.0:" + taken.getLocalPort()
                                + ": Address already in use"),
                        lines);
            } finally {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Runs the service on the shipped config until every demo source serves (the combined one not stale) and the clock
     * has moved a few times, stops it with SIGTERM and returns the whole log (stdout and stderr), line by line.
     */
    private static List<String> runShippedConfig(int port, Map<String, String> env) throws Exception {
        Path log = Files.createTempFile("startup-log", ".txt");
        ProcessBuilder pb = MainProcess.builder();
        pb.environment().remove("APIVERVE_API_KEY"); // the newcomer has no key: weather-nyc stays off
        pb.environment().remove(Main.LOG_FORMAT);
        pb.environment().put("PORT", Integer.toString(port));
        pb.environment().putAll(env);
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process process = pb.start();
        try (HttpClient client = HttpClient.newHttpClient()) {
            long deadline = System.nanoTime() + START.toNanos();
            while (!serving(client, port)) {
                if (!process.isAlive()) {
                    fail("the service exited with " + process.exitValue() + "; output:\n" + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    fail("the demo sources did not all serve within " + START + "; output:\n" + Files.readString(log));
                }
                Thread.sleep(100);
            }
            process.destroy(); // SIGTERM
            assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "still running after SIGTERM");
            assertEquals(0, process.exitValue(), Files.readString(log));
            return Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Whether demo-ticker and demo-board serve fresh data and demo-clock has changed at least three times. */
    private static boolean serving(HttpClient client, int port) throws InterruptedException {
        try {
            JsonNode board = get(client, port, "demo-board");
            JsonNode clock = get(client, port, "demo-clock");
            JsonNode ticker = get(client, port, "demo-ticker");
            return board != null
                    && !board.get("stale").asBoolean()
                    && ticker != null
                    && clock != null
                    && clock.get("version").asLong() >= 3;
        } catch (IOException e) {
            return false; // not listening yet
        }
    }

    private static JsonNode get(HttpClient client, int port, String id) throws IOException, InterruptedException {
        HttpResponse<String> r = client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/sources/" + id))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode() == 200 ? Json.MAPPER.readTree(r.body()) : null;
    }
}
