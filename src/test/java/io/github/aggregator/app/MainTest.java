package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.MainProcess;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MainTest {
    /** Line 6 has an interval that is not a duration. */
    private static final String BAD_INTERVAL = """
            aggregator:
              sources:
                - id: fine
                  url: /demo/clock
                - id: broken-one
                  interval: every now and then
                  url: /demo/ticker
            """;

    @TempDir
    Path dir;

    private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

    @Test
    void badConfigExitsWithTwoAndOneLineNamingFileSourceAndField() throws IOException {
        Path file = write("bad.yaml", BAD_INTERVAL);

        Main.Started started = Main.start(new String[] {"--config", file.toString()}, Map.of(), err);

        assertEquals(2, started.exitCode());
        assertNull(started.app());
        String line = onlyLine();
        assertTrue(line.contains(file + ":6:"), line);
        assertTrue(line.contains("source \"broken-one\""), line);
        assertTrue(line.contains("field \"interval\""), line);
    }

    @Test
    void missingConfigFileExitsWithTwoNamingIt() {
        Path file = dir.resolve("absent.yaml");

        Main.Started started = Main.start(new String[] {"--config", file.toString()}, Map.of(), err);

        assertEquals(2, started.exitCode());
        assertTrue(onlyLine().contains(file.toString()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"--port", "config.yaml", "--config=x.yaml", "-c"})
    void unknownArgumentExitsWithTwo(String arg) {
        Main.Started started = Main.start(new String[] {arg}, Map.of(), err);

        assertEquals(2, started.exitCode());
        assertNull(started.app());
        assertTrue(onlyLine().contains("\"" + arg + "\""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"--help", "-h"})
    void helpExitsWithZeroAndNothingOnStderr(String arg) {
        Main.Started started = Main.start(new String[] {arg}, Map.of(), err);

        assertEquals(0, started.exitCode());
        assertNull(started.app());
        assertEquals("", errBytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void checkConfigValidatesWithoutStarting() throws IOException {
        Path good = write("good.yaml", "aggregator:\n  sources:\n    - id: a\n      url: /demo/clock\n");
        Main.Started ok = Main.start(new String[] {"check-config", "--config", good.toString()}, Map.of(), err);
        assertEquals(0, ok.exitCode());
        assertNull(ok.app(), "nothing is started");

        Path bad = write("bad.yaml", BAD_INTERVAL);
        Main.Started refused = Main.start(new String[] {"check-config", "--config", bad.toString()}, Map.of(), err);
        assertEquals(2, refused.exitCode());
        assertTrue(onlyLine().contains("field \"interval\""));
    }

    @Test
    void configFlagWithoutValueExitsWithTwo() {
        Main.Started started = Main.start(new String[] {"--config"}, Map.of(), err);

        assertEquals(2, started.exitCode());
        assertNull(started.app());
        assertTrue(onlyLine().contains("--config"));
    }

    @Test
    void configFlagChoosesTheFileOverTheEnvironment() throws Exception {
        Path flag = write("flag.yaml", valid("from-flag"));
        Path fromEnv = write("env.yaml", valid("from-env"));

        Main.Started started = Main.start(
                new String[] {"--config", flag.toString()}, Map.of("AGGREGATOR_CONFIG", fromEnv.toString()), err);

        assertServes(started, "from-flag", "from-env");
    }

    @Test
    void environmentChoosesTheFileWithoutTheFlag() throws Exception {
        Path fromEnv = write("env.yaml", valid("from-env"));

        Main.Started started = Main.start(new String[0], Map.of("AGGREGATOR_CONFIG", fromEnv.toString()), err);

        assertServes(started, "from-env", "from-flag");
    }

    @Test
    void environmentNamingABadFileExitsWithTwo() throws IOException {
        Path file = write("bad.yaml", BAD_INTERVAL);

        Main.Started started = Main.start(new String[0], Map.of("AGGREGATOR_CONFIG", file.toString()), err);

        assertEquals(2, started.exitCode());
        assertTrue(onlyLine().contains(file + ":6:"));
    }

    @Test
    void realProcessExitsWithTwoAndOneLineOnStderr() throws Exception {
        Path file = write("bad.yaml", BAD_INTERVAL);
        Path out = dir.resolve("stdout.txt");
        Path errFile = dir.resolve("stderr.txt");
        ProcessBuilder pb = MainProcess.builder("--config", file.toString())
                .redirectOutput(out.toFile())
                .redirectError(errFile.toFile());

        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("the process did not exit within 60s");
        }

        String stderr = Files.readString(errFile);
        assertEquals(2, p.exitValue(), stderr);
        List<String> lines = stderr.lines().toList();
        assertEquals(1, lines.size(), stderr);
        String line = lines.get(0);
        assertTrue(line.contains(file + ":6:"), line);
        assertTrue(line.contains("source \"broken-one\""), line);
        assertTrue(line.contains("field \"interval\""), line);
        String all = stderr + Files.readString(out);
        assertFalse(all.contains("at io."), all);
        assertFalse(all.contains("Exception"), all);
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private static String valid(String id) {
        return """
                server:
                  port: 0
                  host: 127.0.0.1
                aggregator:
                  sources:
                    - id: %s
                      url: /demo/clock
                      interval: 1s
                """.formatted(id);
    }

    private Path write(String name, String yaml) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, yaml);
        ConfigSchema.check(file, Map.of());
        return file;
    }

    /** What was written to the error stream: exactly one line, returned without its line end. */
    private String onlyLine() {
        String text = errBytes.toString(StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        assertEquals(1, lines.size(), "expected one line, got: " + text);
        assertFalse(lines.get(0).isBlank(), text);
        return lines.get(0);
    }

    /** The service started, listens, and lists source {@code id} but not {@code notId}; then closes it. */
    private void assertServes(Main.Started started, String id, String notId) throws Exception {
        assertEquals(0, started.exitCode(), errBytes.toString(StandardCharsets.UTF_8));
        assertNotNull(started.app());
        try (Aggregator app = started.app();
                HttpClient client = HttpClient.newBuilder()
                        .connectTimeout(Duration.ofSeconds(5))
                        .build()) {
            assertTrue(app.port() > 0);
            HttpResponse<String> r = client.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + "/api/sources"))
                            .timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"id\":\"" + id + "\""), r.body());
            assertFalse(r.body().contains(notId), r.body());
        }
        assertEquals("", errBytes.toString(StandardCharsets.UTF_8));
    }
}
