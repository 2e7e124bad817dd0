package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Relay;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's client examples, run as they are shown ({@code examples/node/follow.mjs} with the npm {@code eventsource}
 * package, {@code examples/java/Follow.java} with the JDK's HttpClient) against a real service through a relay that
 * cuts the connection: each client reconnects with {@code Last-Event-ID}, the service resumes it (no snapshot again),
 * and the next change arrives as an update.
 */
class ClientExamplesTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String EVENTSOURCE = "eventsource@4.1.1";

    @Test
    void theNodeExampleResumesWithLastEventId() throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "node-client")).toAbsolutePath();
        if (!Files.isDirectory(dir.resolve("node_modules/eventsource"))) {
            run(dir, 300, npm(), "install", "--prefix", dir.toString(), "--no-audit", "--no-fund", EVENTSOURCE);
        }
        Path script = Files.copy(
                Path.of("examples/node/follow.mjs"), dir.resolve("follow.mjs"), StandardCopyOption.REPLACE_EXISTING);
        follow(url -> new ProcessBuilder(executable("node"), script.toString(), url), "examples/node/follow.mjs");
    }

    @Test
    void theJavaExampleResumesWithLastEventId() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        follow(url -> new ProcessBuilder(java, "examples/java/Follow.java", url), "examples/java/Follow.java");
    }

    @FunctionalInterface
    interface Client {
        ProcessBuilder at(String url);
    }

    private void follow(Client client, String example) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        assertTrue(
                readme.contains(Files.readString(Path.of(example)).strip()),
                "the README shows " + example + " as it is run here");
        try (Upstream up = new Upstream().json("{\"price\":1}");
                Service svc = Service.start("""
                        aggregator:
                          retry: 300ms
                          retrySpread: 0s
                          heartbeat: 200ms
                          sources:
                            - id: q
                              url: %s/q
                              interval: 200ms
                        """.formatted(up.url()));
                Relay relay = new Relay(svc.port())) {
            MultiplexTest.version(svc, "q");
            Process p = client.at("http://127.0.0.1:" + relay.port() + "/api/sources/q/events")
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            BlockingQueue<String> lines = new LinkedBlockingQueue<>();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader in =
                        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
            try {
                String first = next(lines);
                assertTrue(first.matches("snapshot id=1-[0-9a-f]{12} \\{\"id\":\"q\",\"version\":1,.*"), first);
                up.json("{\"price\":2}");
                String update = next(lines);
                assertTrue(
                        update.matches("update id=2-[0-9a-f]{12} .*") && update.contains("\"data\":{\"price\":2}"),
                        update);

                relay.drop(); // the network drops the stream; the service keeps running
                Await.isTrue(() -> relay.heads().size() >= 2, WAIT, "the client came back");
                String again = relay.heads().get(1).toLowerCase(Locale.ROOT);
                assertTrue(
                        java.util.regex.Pattern.compile("\r\nlast-event-id: 2-[0-9a-f]{12}(\r|$)")
                                .matcher(again)
                                .find(),
                        "it resumed with Last-Event-ID: " + again);
                up.json("{\"price\":3}");
                String resumed = next(lines);
                assertTrue(
                        resumed.matches("update id=3-[0-9a-f]{12} .*") && resumed.contains("\"data\":{\"price\":3}"),
                        "resumed: the next change as an update, no snapshot again: " + resumed);
            } finally {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    private static String next(BlockingQueue<String> lines) throws InterruptedException {
        String line = lines.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        if (line == null) {
            fail("no event from the client within " + WAIT);
        }
        return line;
    }

    private static String npm() {
        return executable("npm");
    }

    /** {@code name} on the PATH; fails with one line saying how to install it when it is missing. */
    private static String executable(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (!dir.isBlank() && Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new AssertionError(name + " not found on the PATH: install Node.js and npm"
                + " (`apt-get install -y nodejs npm`; bin/test does this on a machine that lacks them)");
    }

    private static void run(Path dir, int seconds, String... command) throws Exception {
        Process p = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        List<String> out = new ArrayList<>();
        try (BufferedReader in =
                new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                out.add(line);
            }
        }
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish within " + seconds + " s");
        }
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + String.join("\n", out));
    }
}
