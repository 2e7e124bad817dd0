package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.aggregator.config.ConfigException;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code select} then {@code transform} (jq) before change detection, and {@code format: text}, against a real service
 * and a real scripted upstream on loopback.
 */
class TransformTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void aChangingServerTimeAloneNeitherBumpsTheVersionNorReachesSubscribers() throws Exception {
        AtomicInteger value = new AtomicInteger(1);
        AtomicInteger served = new AtomicInteger();
        Upstream.Handler clock = exchange -> {
            // every answer differs: a fresh server time on each request
            String time = Instant.now() + "#" + served.incrementAndGet();
            send(exchange, "application/json", "{\"serverTime\":\"" + time + "\",\"value\":" + value.get() + "}");
        };
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(clock));
                Service svc = Service.start(
                        yaml(source("clock", up.url() + "/clock", "200ms", "transform: 'del(.serverTime)'")))) {
            JsonNode first = json(svc.get("/api/sources/clock"));
            assertEquals(1, first.get("version").asLong(), first.toString());
            assertEquals(MAPPER.readTree("{\"value\":1}"), first.get("data"), "the transform removed serverTime");

            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/clock/events"))) {
                Frame snapshot = nextData(sse);
                assertNotNull(snapshot, "no snapshot");
                assertEquals("snapshot", snapshot.event());
                assertEquals(1, snapshot.version());

                // several intervals in which only serverTime changes
                int hits = up.hits();
                awaitTrue(() -> up.hits() >= hits + 5, "the upstream was polled five more times");
                JsonNode later = await(
                        () -> json(svc.get("/api/sources/clock")),
                        e -> Instant.parse(e.get("fetchedAt").asText())
                                .isAfter(Instant.parse(first.get("fetchedAt").asText())));
                assertEquals(1, later.get("version").asLong(), "timestamp-only changes keep the version: " + later);
                assertEquals(first.get("changedAt"), later.get("changedAt"), later.toString());
                assertEquals(MAPPER.readTree("{\"value\":1}"), later.get("data"));

                // a real change: one new version, and it is the very next event the subscriber sees
                value.set(2);
                Frame update = nextData(sse);
                assertNotNull(update, "no update for a real change");
                assertEquals("update", update.event(), update.toString());
                assertEquals(2, update.version(), "no update was sent for the timestamp-only changes");
                JsonNode env = MAPPER.readTree(update.data());
                assertEquals(MAPPER.readTree("{\"value\":2}"), env.get("data"));
                assertEquals(
                        2, json(svc.get("/api/sources/clock")).get("version").asLong());
            }
        }
    }

    static Stream<Arguments> runtimeFailures() {
        return Stream.of(
                // transform, a good body, its data, a body that makes jq fail, part of jq's message
                Arguments.of(".a + 1", "{\"a\":1}", "2", "{\"a\":\"x\"}", "cannot be added"),
                Arguments.of(
                        "if .fail then error(\"boom\") else .v end",
                        "{\"fail\":false,\"v\":\"ok\"}",
                        "\"ok\"",
                        "{\"fail\":true}",
                        "boom"),
                Arguments.of(".items[]", "{\"items\":[1]}", "1", "{\"items\":[]}", "no output"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runtimeFailures")
    void aTransformFailingAtRunTimeIsAFetchFailureKeepingTheLastGoodData(
            String transform, String good, String goodData, String bad, String message) throws Exception {
        try (Upstream up = new Upstream().json(good);
                Service svc = Service.start(
                        yaml(source("jq", up.url() + "/jq", "200ms", "transform: '" + transform + "'")))) {
            JsonNode ok = json(svc.get("/api/sources/jq"));
            assertEquals(MAPPER.readTree(goodData), ok.get("data"), ok.toString());
            assertFalse(ok.get("stale").asBoolean());

            up.json(bad);
            JsonNode stale = await(
                    () -> json(svc.get("/api/sources/jq")), e -> e.get("stale").asBoolean());
            String error = stale.get("error").asText();
            assertTrue(error.contains(message), "the error carries jq's message: " + error);
            assertTrue(error.startsWith("transform failed"), error);
            assertEquals(MAPPER.readTree(goodData), stale.get("data"), "the last good data is kept");
            assertEquals(ok.get("version"), stale.get("version"));
            PollingTest.assertNoInternals(stale.toString());

            JsonNode listed = json(svc.get("/api/sources")).get("sources").get(0);
            assertEquals(error, listed.get("lastError").asText(), listed.toString());

            // the next good answer recovers
            up.json(good.replace("1", "2"));
            JsonNode recovered = await(
                    () -> json(svc.get("/api/sources/jq")), e -> !e.get("stale").asBoolean());
            assertFalse(recovered.has("error") && !recovered.get("error").isNull(), recovered.toString());
        }
    }

    @Test
    void aTransformThatDoesNotCompileIsAStartupErrorNamingSourceAndField() throws IOException {
        String yaml = yaml(source("broken", "http://127.0.0.1:9/x", "1s", "transform: '.a |||'"));
        Path file = write(yaml);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of()));
        String m = e.getMessage();
        assertTrue(m.contains("source \"broken\""), m);
        assertTrue(m.contains("field \"transform\""), m);
        assertFalse(m.contains("\n"), "one line: " + m);
        // and the service refuses to start on it
        assertThrows(ConfigException.class, () -> Service.start(yaml).close());
    }

    @Test
    void selectComesFirstAndSeveralOutputsBecomeAnArray() throws Exception {
        String body = """
                {"payload": {"items": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
                 "items": [{"name": "not-selected"}]}""";
        try (Upstream up = new Upstream().json(body);
                Service svc = Service.start(yaml(
                        source(
                                "many",
                                up.url() + "/many",
                                "200ms",
                                "select: /payload",
                                "transform: '.items[] | .name'"),
                        source(
                                "one",
                                up.url() + "/one",
                                "200ms",
                                "select: /payload",
                                "transform: '.items | length'")))) {
            assertEquals(
                    MAPPER.readTree("[\"a\",\"b\",\"c\"]"),
                    json(svc.get("/api/sources/many")).get("data"));
            assertEquals(MAPPER.readTree("3"), json(svc.get("/api/sources/one")).get("data"), "one output stays one");
        }
    }

    @Test
    void formatTextServesTheBodyAsAString() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(exchange -> {
                    calls.incrementAndGet();
                    String path = exchange.getRequestURI().getPath();
                    switch (path) {
                        case "/hello" -> send(exchange, "text/plain; charset=utf-8", "hello");
                        case "/shout" -> send(exchange, "text/plain", "HELLO World");
                        default -> send(exchange, "application/json", "{\"a\":1}");
                    }
                }));
                Service svc = Service.start(yaml(
                        source("hello", up.url() + "/hello", "200ms", "format: text"),
                        source("shout", up.url() + "/shout", "200ms", "format: text", "transform: ascii_downcase"),
                        source("raw", up.url() + "/raw", "200ms", "format: text")))) {
            JsonNode hello = json(svc.get("/api/sources/hello"));
            assertTrue(hello.get("data").isTextual(), hello.toString());
            assertEquals("hello", hello.get("data").asText());
            assertFalse(hello.get("stale").asBoolean());

            assertEquals(
                    "hello world",
                    json(svc.get("/api/sources/shout")).get("data").asText());

            // a JSON body read as text stays text
            JsonNode raw = json(svc.get("/api/sources/raw"));
            assertTrue(raw.get("data").isTextual(), raw.toString());
            assertEquals("{\"a\":1}", raw.get("data").asText());
            assertTrue(calls.get() >= 3);
        }
    }

    @Test
    void formatTextWithSelectIsAConfigError() throws IOException {
        Path file = write(yaml(source("txt", "http://127.0.0.1:9/x", "1s", "format: text", "select: /a")));
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of()));
        assertTrue(e.getMessage().contains("source \"txt\""), e.getMessage());
        assertTrue(e.getMessage().contains("field \"select\""), e.getMessage());
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /** The YAML of a service with {@code sources}. */
    static String yaml(String... sources) {
        return "aggregator:\n  sources:\n" + String.join("", sources);
    }

    /** One entry of the sources list, with further {@code fields} (one {@code key: value} each). */
    static String source(String id, String url, String interval, String... fields) {
        StringBuilder sb = new StringBuilder();
        sb.append("    - id: ").append(id).append('\n');
        sb.append("      url: ").append(url).append('\n');
        sb.append("      interval: ").append(interval).append('\n');
        for (String f : fields) {
            sb.append("      ").append(f).append('\n');
        }
        return sb.toString();
    }

    static void send(com.sun.net.httpserver.HttpExchange exchange, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static Path write(String yaml) throws IOException {
        Path file = Files.createTempDirectory("transform-test").resolve("application.yaml");
        Files.writeString(file, "server:\n  port: 0\n" + yaml);
        return file;
    }

    /** The next frame that carries an event (not the retry line, not a heartbeat), or null after {@link #WAIT}. */
    static Frame nextData(SseClient sse) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            Frame f = sse.nextEvent(Duration.ofNanos(left));
            if (f == null || f.event() != null) {
                return f;
            }
        }
    }

    static JsonNode json(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        try {
            return MAPPER.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r.body(), e);
        }
    }

    /** Polls {@code get} until {@code done} holds, for up to {@link #WAIT}; fails with the last value otherwise. */
    static <T> T await(Supplier<T> get, Predicate<T> done) throws InterruptedException {
        return Await.until(get, done, WAIT);
    }

    static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + WAIT + ": " + what);
            }
            Thread.sleep(10);
        }
    }
}
