package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.cache.DurableStore;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.ProcessConfig;
import io.github.aggregator.testing.ServiceProcess;
import io.github.aggregator.testing.Upstream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The durable store's faults on the real service in its own JVM: it starts and serves whatever the data directory is
 * like, says so in one log line, in {@code /observe/health} and in the metrics.
 */
class StoreFaultTest {

    private static Path config(Upstream up) throws Exception {
        return ProcessConfig.write("aggregator-fault", """
                aggregator:
                  storeRetry: 2s
                  sources:
                    - id: s
                      url: %s/s
                      interval: 200ms
                """.formatted(up.url()));
    }

    /** The store's check in {@code /observe/health}: its details. */
    private static JsonNode storeHealth(ServiceProcess svc) throws Exception {
        var r = svc.get("/observe/health/ready");
        assertEquals(200, r.statusCode(), "a store problem never makes the instance unready: " + r.body());
        for (JsonNode c : Json.MAPPER.readTree(r.body()).get("checks")) {
            if (c.get("name").asText().equals("store")) {
                assertEquals("UP", c.get("status").asText());
                return c.get("details");
            }
        }
        throw new AssertionError("no store check: " + r.body());
    }

    private static List<String> storeLines(ServiceProcess svc) {
        return Arrays.stream(svc.output().split("\n"))
                .filter(l -> l.contains("store:"))
                .toList();
    }

    private static String metric(ServiceProcess svc, String name) throws Exception {
        for (String line : svc.get("/observe/metrics").body().split("\n")) {
            if (line.startsWith(name + " ")) {
                return line.substring(name.length() + 1);
            }
        }
        throw new AssertionError("no " + name);
    }

    @Test
    void aCorruptFileIsSetAsideWithOneLineAndTheServiceStartsWithAFreshStore() throws Exception {
        try (Upstream up = new Upstream().json("{\"n\":1}")) {
            Path file = config(up);
            Path data = file.resolveSibling("data");
            Files.createDirectories(data);
            Files.write(
                    data.resolve(DurableStore.FILE),
                    "garbage, not a store ".repeat(1_000).getBytes());
            try (ServiceProcess svc = new ServiceProcess(file, data)) {
                JsonNode env = svc.start().awaitData("s");
                assertEquals(1, env.get("version").asLong());
                List<String> warnings = storeLines(svc).stream()
                        .filter(l -> l.contains("could not be read"))
                        .toList();
                assertEquals(1, warnings.size(), svc.output());
                assertTrue(warnings.getFirst().contains("moved it to"), warnings.getFirst());
                assertFalse(svc.output().contains("\tat "), "no stack trace:\n" + svc.output());
                assertEquals("ok", storeHealth(svc).get("state").asText());
                assertEquals(0, svc.stop());
                // and what it wrote since is there at the next start
                JsonNode again = svc.start().awaitData("s");
                assertEquals(1, again.get("version").asLong(), "no new version for the same data");
            }
        }
    }

    @Test
    void aReadOnlyDataDirectoryLeavesTheServiceInMemoryWithOneLineHealthAndMetrics() throws Exception {
        try (Upstream up = new Upstream().json("{\"n\":1}")) {
            Path file = config(up);
            Path data = file.resolveSibling("data");
            Files.createDirectories(data);
            boolean immutable = readOnly(data);
            try (ServiceProcess svc = new ServiceProcess(file, data)) {
                JsonNode env = svc.start().awaitData("s");
                assertEquals(1, env.get("version").asLong(), "serving from memory");
                List<String> lines = storeLines(svc);
                assertEquals(1, lines.size(), svc.output());
                assertTrue(lines.getFirst().contains("not writable"), lines.getFirst());
                assertTrue(lines.getFirst().contains("running in memory only"), lines.getFirst());
                JsonNode health = storeHealth(svc);
                assertEquals("memory only", health.get("state").asText(), health.toString());
                assertTrue(health.get("problem").asText().contains("not writable"), health.toString());
                assertEquals("0", metric(svc, "aggregator_store_up"));
                double failures = Double.parseDouble(metric(svc, "aggregator_store_failures_total"));
                assertTrue(failures >= 1);
                up.json("{\"n\":2}");
                svc.awaitVersion("s", 2);
                // tried again every storeRetry (2 s here), without another line
                io.github.aggregator.testing.Await.isTrue(
                        () -> Double.parseDouble(metric(svc, "aggregator_store_failures_total")) > failures,
                        java.time.Duration.ofSeconds(90),
                        "a retry");
                assertEquals(1, storeLines(svc).size(), "one line however often it is retried: " + storeLines(svc));
            } finally {
                writable(data, immutable);
            }
        }
    }

    @Test
    void aSecondInstanceOnTheSameDirectorySaysSoInOneLineAndRunsInMemory() throws Exception {
        try (Upstream up = new Upstream().json("{\"n\":1}")) {
            Path file = config(up);
            Path data = file.resolveSibling("data");
            try (ServiceProcess first = new ServiceProcess(file, data);
                    ServiceProcess second = new ServiceProcess(file, data)) {
                first.start().awaitData("s");
                assertEquals("ok", storeHealth(first).get("state").asText());
                JsonNode env = second.start().awaitData("s");
                assertEquals(1, env.get("version").asLong());
                List<String> lines = storeLines(second);
                assertEquals(1, lines.size(), second.output());
                assertTrue(lines.getFirst().contains("in use by another process"), lines.getFirst());
                assertEquals("memory only", storeHealth(second).get("state").asText());
                assertEquals("ok", storeHealth(first).get("state").asText(), "the first keeps its store");
                assertTrue(second.alive(), "the second runs on");
                up.json("{\"n\":2}");
                first.awaitVersion("s", 2);
                second.awaitVersion("s", 2);
            }
        }
    }

    /**
     * A disk that fills up while the service runs, simulated for this process alone by a file-size limit ({@code
     * ulimit -f}: writes past it fail with "File too large", as with ENOSPC; filling a real file system would need a
     * mount, i.e. root with mount rights, which the tests do not assume): the store's write fails, the service says
     * so once, in health and metrics, keeps the file (it is not unreadable), and goes on delivering from memory.
     */
    @Test
    void aDiskThatFillsUpWhileRunningLeavesTheServiceDeliveringFromMemory() throws Exception {
        java.util.Random random = new java.util.Random(12);
        try (Upstream up = new Upstream().json("{\"n\":0}")) {
            Path file = config(up);
            Path data = file.resolveSibling("data");
            try (ServiceProcess svc = new ServiceProcess(file, data).fileSizeLimit(512)) {
                svc.start().awaitData("s");
                // incompressible changes, until the store's file reaches the limit
                int n = 0;
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
                while (!"0".equals(metric(svc, "aggregator_store_up"))) {
                    byte[] noise = new byte[24_000];
                    random.nextBytes(noise);
                    up.json("{\"n\":" + (++n) + ",\"noise\":\""
                            + java.util.HexFormat.of().formatHex(noise) + "\"}");
                    svc.awaitVersion("s", svc.awaitData("s").get("version").asLong() + 1);
                    assertTrue(System.nanoTime() < deadline, "the store never failed; output:\n" + svc.output());
                }
                List<String> lines = storeLines(svc);
                assertEquals(1, lines.size(), svc.output());
                assertTrue(lines.getFirst().contains("writing failed"), lines.getFirst());
                assertTrue(lines.getFirst().contains("running in memory only"), lines.getFirst());
                JsonNode health = storeHealth(svc);
                assertEquals("memory only", health.get("state").asText(), health.toString());
                assertTrue(Double.parseDouble(metric(svc, "aggregator_store_failures_total")) >= 1);
                // delivery goes on
                long before = svc.awaitData("s").get("version").asLong();
                up.json("{\"n\":\"after\"}");
                JsonNode after = svc.awaitVersion("s", before + 1);
                assertEquals("after", after.get("data").get("n").asText());
                assertFalse(svc.output().contains("\tat "), "no stack trace:\n" + svc.output());
                assertTrue(lines.getFirst().contains("File too large"), "the file system's words: " + lines);
                // it is tried again later (every storeRetry), and a full disk never makes the file "unreadable"
                double failures = Double.parseDouble(metric(svc, "aggregator_store_failures_total"));
                io.github.aggregator.testing.Await.isTrue(
                        () -> Double.parseDouble(metric(svc, "aggregator_store_failures_total")) > failures,
                        java.time.Duration.ofSeconds(90),
                        "a retry");
                try (var files = Files.list(data)) {
                    assertTrue(
                            files.noneMatch(p -> p.getFileName().toString().contains("unreadable")),
                            "a full disk does not make the file unreadable: " + svc.output());
                }
                assertEquals("memory only", storeHealth(svc).get("state").asText());
                assertEquals(1, storeLines(svc).size(), "one line however often it is retried: " + storeLines(svc));
                System.out.println("disk full after " + n + " changes: " + lines.getFirst());
            }
        }
    }

    /** Makes {@code dir} read-only, for root too (chattr +i) where the file system allows; true when chattr did it. */
    private static boolean readOnly(Path dir) throws Exception {
        boolean immutable = run("chattr", "+i", dir.toString());
        if (!immutable) {
            run("chmod", "555", dir.toString());
        }
        Path probe = dir.resolve("probe");
        try {
            Files.createFile(probe);
            Files.delete(probe);
            writable(dir, immutable);
            Assumptions.abort("this file system lets the test user write into a read-only directory");
        } catch (java.io.IOException expected) {
            // read-only indeed
        }
        return immutable;
    }

    private static void writable(Path dir, boolean immutable) throws Exception {
        if (immutable) {
            run("chattr", "-i", dir.toString());
        }
        run("chmod", "755", dir.toString());
    }

    private static boolean run(String... cmd) throws Exception {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            return false; // no such command here
        }
    }
}
