package io.github.aggregator.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The service in a JVM of its own ({@link MainProcess}) on a fixed port and data directory, so that it can be stopped
 * (SIGTERM or {@code kill -9}) and started again in the same place, as a platform restarts an instance. Its output
 * goes to a file, one per start.
 */
public final class ServiceProcess implements AutoCloseable {
    /** A JVM starting next to other builds on a small machine may be slow; this bounds only the start. */
    public static final Duration START = Duration.ofSeconds(120);

    private final Path config;
    private final Path dataDir;
    private final int port;
    private final HttpClient client =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process process;
    private Path log;
    private int starts;
    private long fileSizeLimitKb;

    /**
     * @param config the config file (its {@code server.port} is replaced by {@code PORT})
     * @param dataDir the durable store's directory ({@code AGGREGATOR_DATA_DIR}); null for {@code ""} (off)
     */
    public ServiceProcess(Path config, Path dataDir) {
        this(config, dataDir, Ports.free());
    }

    public ServiceProcess(Path config, Path dataDir, int port) {
        this.config = config;
        this.dataDir = dataDir;
        this.port = port;
    }

    /**
     * Runs the next starts under {@code ulimit -f} (a file-size limit, in KiB, for every file the process writes): a
     * write past it fails with "File too large", as on a full disk, for this process only (the JVM ignores SIGXFSZ).
     */
    public ServiceProcess fileSizeLimit(long kb) {
        this.fileSizeLimitKb = kb;
        return this;
    }

    /** Starts the process; returns at once (see {@link #awaitListening}). */
    public ServiceProcess start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("already running");
        }
        ProcessBuilder pb = MainProcess.builder("--config", config.toString());
        // C1 only: a start ~40% quicker on a small machine (the JIT's second tier is what a start waits for most), and
        // these processes never run long enough for C2 to pay off; the restart tests start dozens of them
        pb.command().add(1, "-XX:TieredStopAtLevel=1");
        pb.environment().put("PORT", Integer.toString(port));
        pb.environment().put("AGGREGATOR_DATA_DIR", dataDir == null ? "" : dataDir.toString());
        log = config.resolveSibling("output-" + port + "-" + (++starts) + ".log");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        if (fileSizeLimitKb > 0) {
            java.util.List<String> command = new java.util.ArrayList<>(
                    java.util.List.of("bash", "-c", "ulimit -f " + fileSizeLimitKb + " && exec \"$@\"", "service"));
            command.addAll(pb.command());
            pb.command(command);
        }
        process = pb.start();
        return this;
    }

    /** Waits until the server answers at all (any status). */
    public ServiceProcess awaitListening() throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError("the service exited with " + process.exitValue() + "; output:\n" + output());
            }
            try {
                get("/observe/health/live");
                return this;
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the service did not answer within " + START + "; output:\n" + output());
            }
            Thread.sleep(50);
        }
    }

    /** Waits until {@code GET /api/sources/{id}} answers 200 and returns that envelope. */
    public JsonNode awaitData(String id) throws Exception {
        awaitListening();
        long deadline = System.nanoTime() + START.toNanos();
        while (true) {
            HttpResponse<String> r = get("/api/sources/" + id);
            if (r.statusCode() == 200) {
                return Json.MAPPER.readTree(r.body());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no data for " + id + ": " + r.statusCode() + " " + r.body());
            }
            Thread.sleep(50);
        }
    }

    /** Waits until {@code id} is at {@code version} (or later) and returns that envelope. */
    public JsonNode awaitVersion(String id, long version) throws Exception {
        long deadline = System.nanoTime() + START.toNanos();
        while (true) {
            JsonNode env = awaitData(id);
            if (env.get("version").asLong() >= version) {
                return env;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " did not reach version " + version + ": " + env);
            }
            Thread.sleep(50);
        }
    }

    /** SIGTERM, then waits for the exit; returns the exit code. */
    public int stop() throws Exception {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("still running 30 s after SIGTERM; output:\n" + output());
        }
        return process.exitValue();
    }

    /** {@code kill -9}: no shutdown hook, no last write. */
    public void kill() throws Exception {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    public boolean alive() {
        return process != null && process.isAlive();
    }

    public int port() {
        return port;
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    public HttpClient client() {
        return client;
    }

    public HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** What the current (or last) start printed. */
    public String output() {
        try {
            return log == null ? "" : Files.readString(log);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Override
    public void close() throws Exception {
        if (alive()) {
            kill();
        }
        client.close();
    }
}
