package io.github.aggregator.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.app.Aggregator;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Scheduler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * A real aggregator on a free loopback port, started from a YAML text, plus a real HTTP client. {@code server.port} is
 * set to 0 unless the YAML sets it.
 */
public final class Service implements AutoCloseable {
    private final Aggregator app;
    private final Path file;
    private final HttpClient client =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Service(Aggregator app, Path file) {
        this.app = app;
        this.file = file;
    }

    /**
     * Starts the service on {@code yaml} (written to a temp file) with {@code env} for substitution. Unless the YAML
     * or {@code env} names a data directory, the durable store lives in a new directory beside the file.
     */
    public static Service start(String yaml, Map<String, String> env) {
        return start(yaml, env, Scheduler.system(Clock.systemUTC(), "poller-timer"));
    }

    /** Starts the service with {@code time} (e.g. a {@link TestClock}) deciding polling, heartbeats and write timeouts. */
    public static Service start(String yaml, Map<String, String> env, Scheduler time) {
        try {
            Path dir = Files.createTempDirectory("aggregator-test");
            Path file = dir.resolve("application.yaml");
            String text = yaml.contains("server:") ? yaml : "server:\n  port: 0\n  host: 127.0.0.1\n" + yaml;
            Files.writeString(file, text);
            if (!env.containsKey("AGGREGATOR_DATA_DIR") && !text.contains("dataDir:")) {
                // a durable store of its own, beside the config: never one shared with another test
                env = new java.util.HashMap<>(env);
                env.put("AGGREGATOR_DATA_DIR", dir.resolve("data").toString());
            }
            return new Service(Aggregator.start(ConfigSchema.load(file, env), Clock.systemUTC(), env, time), file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Service start(String yaml) {
        return start(yaml, Map.of());
    }

    /** Starts the service on the config file at {@code file} as it is (its path may be a symbolic link). */
    public static Service onFile(Path file, Map<String, String> env) {
        return new Service(Aggregator.start(ConfigSchema.load(file, env), Clock.systemUTC(), env), file);
    }

    public int port() {
        return app.port();
    }

    /** The running service's connection limits (what its HTTP/1.1 connections hold). */
    public io.github.aggregator.http.ConnectionLimits connections() {
        return app.connections();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port() + path);
    }

    public HttpClient client() {
        return client;
    }

    /** GET {@code path} with optional header name/value pairs; the body as a string. */
    public HttpResponse<String> get(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path))
                .timeout(Duration.ofSeconds(30))
                .GET();
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** POST {@code path} without a body, with optional header name/value pairs; the body as a string. */
    public HttpResponse<String> post(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path))
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The {@code subscribers} count of source {@code id} in {@code GET /api/sources}; fails when it is not listed. */
    public int subscribers(String id) throws IOException {
        HttpResponse<String> r = get("/api/sources");
        if (r.statusCode() != 200) {
            throw new AssertionError("GET /api/sources answered " + r.statusCode() + ": " + r.body());
        }
        for (JsonNode s : Json.MAPPER.readTree(r.body()).get("sources")) {
            if (s.get("id").asText().equals(id)) {
                return s.get("subscribers").asInt();
            }
        }
        throw new AssertionError("no source " + id + " in /api/sources: " + r.body());
    }

    /**
     * Moves {@code clock} (the one this service was started with) by {@code d}, then {@link #settle}s, so that the
     * fetches the step started are handled before the next step. The write timeout runs on the same clock: a step
     * longer than {@code writeTimeout} taken while a stream still writes cuts that write off, so a test that steps
     * far with streams open sets {@code writeTimeout} above its steps.
     */
    public void step(TestClock clock, Duration d) throws Exception {
        clock.advance(d);
        settle(clock);
    }

    /**
     * Waits, with a deadline, until no fetch is in flight: every active upstream source has its next fetch scheduled
     * on {@code clock}, beside the write watchdog's one sweep. A fetch runs on its own thread and schedules the next
     * one only after its result was handled, so a step taken before that would find nothing due.
     */
    public void settle(TestClock clock) throws Exception {
        Await.isTrue(
                () -> clock.pending() == 1 + activeUpstreams(),
                Duration.ofSeconds(20),
                "every active source's next fetch scheduled (pending " + clock.pending() + ")");
    }

    private int activeUpstreams() throws IOException {
        int n = 0;
        for (JsonNode s : Json.MAPPER.readTree(get("/api/sources").body()).get("sources")) {
            if (s.has("live")) { // a parametrised source: each live instance polls on its own
                for (JsonNode i : s.get("live")) {
                    n += i.get("state").asText().equals("active") ? 1 : 0;
                }
            } else if (s.has("poll") && s.get("state").asText().equals("active")) {
                n++;
            }
        }
        return n;
    }

    /** The config file the service runs on (and watches). */
    public Path configFile() {
        return file;
    }

    public Aggregator app() {
        return app;
    }

    @Override
    public void close() {
        app.close();
        client.close();
    }
}
