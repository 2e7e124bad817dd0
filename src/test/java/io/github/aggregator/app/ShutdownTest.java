package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.MainProcess;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The real service as its own process, stopped the way a platform stops it (SIGTERM): every open stream gets a final
 * comment and ends, and the process then exits with 0, without a stack trace.
 */
class ShutdownTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    /** A JVM starting next to other builds on a small machine may be slow; this bounds only the start. */
    private static final Duration START = Duration.ofSeconds(60);

    @Test
    void sigtermEndsEveryStreamWithAFinalCommentAndExitsWithoutAStackTrace() throws Exception {
        Path dir = Files.createTempDirectory("aggregator-shutdown");
        Path log = dir.resolve("output.log");
        try (Upstream a = new Upstream().json("{\"n\":1}");
                Upstream b = new Upstream().json("{\"n\":2}");
                HttpClient client = HttpClient.newBuilder()
                        .connectTimeout(Duration.ofSeconds(5))
                        .build()) {
            Path config = dir.resolve("application.yaml");
            Files.writeString(config, """
                    server:
                      port: 0
                      host: 127.0.0.1
                    aggregator:
                      heartbeat: 30s
                      sources:
                        - id: a
                          url: %s/a
                          interval: 200ms
                        - id: b
                          url: %s/b
                          interval: 200ms
                    """.formatted(a.url(), b.url()));
            ConfigSchema.check(config, Map.of());
            // server.port 0 would hide the port from us: choose a free one and hand it over in PORT
            int port = Ports.free();
            ProcessBuilder pb = MainProcess.builder("--config", config.toString());
            pb.environment().put("PORT", Integer.toString(port));
            pb.redirectErrorStream(true).redirectOutput(log.toFile());
            Process process = pb.start();
            try {
                awaitUp(client, process, port, log);
                try (SseClient one = SseClient.open(client, uri(port, "/api/sources/a/events"));
                        SseClient many = SseClient.open(client, uri(port, "/api/events?sources=a,b"))) {
                    assertEquals(200, one.status());
                    assertEquals(200, many.status());
                    assertNotNull(one.next(WAIT).retry());
                    assertEquals("snapshot", one.nextEvent(WAIT).event());
                    assertNotNull(many.next(WAIT).retry());
                    assertEquals("snapshot", many.nextEvent(WAIT).event());
                    assertEquals("snapshot", many.nextEvent(WAIT).event());
                    assertEquals(2, subscribers(client, port, "a"), "both streams follow a");

                    process.destroy(); // SIGTERM
                    for (SseClient sse : List.of(one, many)) {
                        Frame last = sse.next(WAIT); // no heartbeat within 30 s: the next frame is the last
                        assertNotNull(last, "no closing frame; output:\n" + output(log));
                        assertTrue(last.isComment(), "the last frame is a comment: " + last);
                        assertEquals(List.of("server shutting down"), last.comments());
                        awaitEnded(sse);
                        assertNull(sse.next(Duration.ZERO), "nothing after the closing comment");
                    }
                    // the streams have ended: nothing is left to hold the process up, so it exits (a stop that
                    // still waited for a stream, on its 30 s heartbeat, would not)
                    assertTrue(
                            process.waitFor(WAIT.toMillis(), TimeUnit.MILLISECONDS),
                            "still running " + WAIT + " after its streams ended; output:\n" + output(log));
                    // SIGTERM is a normal stop: after the shutdown hook the process exits with 0 (not the JVM's 143)
                    assertEquals(0, process.exitValue(), "exit code; output:\n" + output(log));
                    String output = output(log);
                    assertFalse(output.contains("\tat "), "a stack trace in the output:\n" + output);
                    assertFalse(output.contains("Exception"), "an exception in the output:\n" + output);
                }
            } finally {
                if (process.isAlive()) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    private static void awaitUp(HttpClient client, Process process, int port, Path log) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        while (true) {
            if (!process.isAlive()) {
                fail("the service exited with " + process.exitValue() + "; output:\n" + output(log));
            }
            try {
                HttpResponse<String> r = client.send(
                        HttpRequest.newBuilder(uri(port, "/api/sources/b"))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                fail("the service did not answer within " + START + "; output:\n" + output(log));
            }
            Thread.sleep(100);
        }
    }

    private static int subscribers(HttpClient client, int port, String id) throws Exception {
        HttpResponse<String> r = client.send(
                HttpRequest.newBuilder(uri(port, "/api/sources")).build(), HttpResponse.BodyHandlers.ofString());
        for (JsonNode n : Json.MAPPER.readTree(r.body()).get("sources")) {
            if (n.get("id").asText().equals(id)) {
                return n.get("subscribers").asInt();
            }
        }
        throw new AssertionError("no " + id + " in " + r.body());
    }

    private static void awaitEnded(SseClient sse) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!sse.ended()) {
            if (System.nanoTime() > deadline) {
                fail("the stream did not end within " + WAIT);
            }
            Thread.sleep(20);
        }
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static String output(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
