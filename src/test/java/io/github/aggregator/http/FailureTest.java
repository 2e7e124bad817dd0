package io.github.aggregator.http;

import static io.github.aggregator.http.PollingTest.assertNoInternals;
import static io.github.aggregator.http.PollingTest.assertProblem;
import static io.github.aggregator.http.PollingTest.await;
import static io.github.aggregator.http.PollingTest.header;
import static io.github.aggregator.http.PollingTest.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What subscribers see when an upstream fails in each way it can, and when it heals: the last good data marked stale
 * with a short reason, one SSE status event each way, and recovery on the next scheduled fetch.
 */
class FailureTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Duration QUIET = Duration.ofMillis(150);
    private static final String GOOD = "{\"data\":{\"v\":1},\"meta\":\"kept out by select\"}";
    private static final String CLOSED_PORT_URL = "http://127.0.0.1:" + Ports.free() + "/";

    static Stream<Arguments> failures() {
        return Stream.of(
                Arguments.of(
                        "upstream 500",
                        Upstream.Reply.status(
                                500, "text/plain", "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n"),
                        "HTTP 500"),
                Arguments.of(
                        "upstream 401",
                        Upstream.Reply.status(401, "application/json", "{\"error\":\"bad key\"}"),
                        "401"),
                Arguments.of("upstream 404", Upstream.Reply.status(404, "text/html", "<h1>Not Found</h1>"), "404"),
                Arguments.of("connection refused (redirected to a closed port)", redirect(CLOSED_PORT_URL), "refused"),
                Arguments.of(
                        "read timeout",
                        Upstream.Reply.custom(exchange -> {
                            Thread.sleep(3000); // never answers within the 500ms timeout
                        }),
                        "timed out"),
                Arguments.of(
                        "HTML instead of JSON",
                        Upstream.Reply.status(200, "text/html", "<!doctype html><html><body>Maintenance</body></html>"),
                        "JSON"),
                Arguments.of("invalid JSON", Upstream.Reply.json("{\"data\": {\"v\": 1"), "JSON"),
                Arguments.of("empty 200", Upstream.Reply.json(""), "empty"),
                Arguments.of("select matches nothing", Upstream.Reply.json("{\"other\":{\"v\":1}}"), "/data"),
                Arguments.of(
                        "body over maxBodySize",
                        Upstream.Reply.json("{\"data\":\"" + "x".repeat(10 * 1024) + "\"}"),
                        "too large"),
                Arguments.of("chunked body over maxBodySize", chunked(10 * 1024), "too large"),
                Arguments.of("unknown host (redirected)", redirect("http://no-such-host.invalid/"), "no-such-host"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void servesLastGoodDataWhileFailingAndRecovers(String kind, Upstream.Reply bad, String expected) throws Exception {
        try (Upstream up = new Upstream().json(GOOD);
                Service svc = Service.start(source("src", up.url() + "/data"))) {
            int[] hitsAtBreak = new int[1];
            staleThenRecovers(
                    svc,
                    "src",
                    () -> {
                        hitsAtBreak[0] = up.hits();
                        up.reply(bad);
                    },
                    () -> up.json(GOOD),
                    expected);
            assertTrue(up.hits() >= hitsAtBreak[0] + 4, "fetches went on while failing: " + up.hits());
        }
    }

    @Test
    void connectionRefusedWhenTheUpstreamStopsListening() throws Exception {
        try (PortUpstream up = new PortUpstream(Ports.free()).started(GOOD);
                Service svc = Service.start(source("src", up.url()))) {
            staleThenRecovers(svc, "src", up::stop, () -> up.start(GOOD), "connection refused");
        }
    }

    @ParameterizedTest(name = "first fetch fails: {0}")
    @MethodSource("firstFailures")
    void firstFetchFailsThen503UntilHealed(String kind, Upstream.Reply bad, String expected) throws Exception {
        try (Upstream up = new Upstream().reply(bad);
                Service svc = Service.start(longColdWait(source("src", up.url() + "/data")))) {
            firstFails(svc, "src", () -> up.json(GOOD), expected);
        }
    }

    static Stream<Arguments> firstFailures() {
        return Stream.of(
                Arguments.of("upstream 500", Upstream.Reply.status(500, "text/plain", "oops"), "HTTP 500"),
                Arguments.of("invalid JSON", Upstream.Reply.json("not json"), "JSON"));
    }

    @Test
    void firstFetchRefusedThen503UntilTheUpstreamStarts() throws Exception {
        try (PortUpstream up = new PortUpstream(Ports.free());
                Service svc = Service.start(longColdWait(source("src", up.url())))) {
            firstFails(svc, "src", () -> up.start(GOOD), "connection refused");
        }
    }

    @Test
    void unknownHostFromTheStartIs503NamingTheHost() throws Exception {
        try (Service svc = Service.start(source("src", "http://no-such-host.invalid/data"))) {
            HttpResponse<String> r = svc.get("/api/sources/src");
            assertProblem(r, 503);
            String detail = json(r).get("detail").asText();
            assertTrue(detail.contains("unknown host no-such-host.invalid"), detail);
            JsonNode entry = entry(svc, "src");
            assertTrue(entry.get("lastError").asText().contains("no-such-host.invalid"), entry.toString());
        }
    }

    // ---- scenarios -----------------------------------------------------------------------------------------------

    /**
     * After a good first fetch: break the upstream, check the stale view over GET, the list and SSE, let it fail a few
     * more times, heal it and check the recovered view.
     */
    private static void staleThenRecovers(Service svc, String id, Runnable breakIt, Runnable heal, String expected)
            throws Exception {
        String path = "/api/sources/" + id;
        HttpResponse<String> first = svc.get(path);
        assertEquals(200, first.statusCode(), first.body());
        JsonNode good = json(first);
        assertEquals(1, good.get("version").asLong());
        assertFalse(good.get("stale").asBoolean());
        assertEquals(parse("{\"v\":1}"), good.get("data"));

        try (SseClient sse = SseClient.open(svc.client(), svc.uri(path + "/events"))) {
            assertEquals(200, sse.status());
            SseClient.Frame retry = sse.next(WAIT);
            assertNotNull(retry, "no retry frame");
            assertNotNull(retry.retry(), retry.toString());
            SseClient.Frame snapshot = sse.nextEvent(WAIT);
            assertNotNull(snapshot, "no snapshot event");
            assertEquals("snapshot", snapshot.event());

            breakIt.run();

            // GET: last good data, stale, with a short specific reason
            JsonNode stale =
                    await(() -> json(svc.get(path)), e -> e.get("stale").asBoolean());
            HttpResponse<String> staleResponse = svc.get(path);
            assertEquals(200, staleResponse.statusCode(), staleResponse.body());
            assertNoInternals(staleResponse.body());
            assertEquals(1, stale.get("version").asLong(), stale.toString());
            assertEquals(good.get("data"), stale.get("data"));
            assertEquals(good.get("changedAt"), stale.get("changedAt"));
            String error = stale.path("error").asText(null);
            assertShortSpecific(error, expected);

            // the list shows it too
            JsonNode entry = entry(svc, id);
            assertTrue(entry.get("stale").asBoolean(), entry.toString());
            assertEquals(error, entry.get("lastError").asText(), entry.toString());

            // SSE: exactly one status event for turning stale...
            SseClient.Frame turned = sse.nextEvent(WAIT);
            assertNotNull(turned, "no status event when the source turned stale");
            assertEquals("status", turned.event(), turned.toString());
            JsonNode turnedData = parse(turned.data());
            assertTrue(turnedData.get("stale").asBoolean(), turned.data());
            assertShortSpecific(turnedData.path("error").asText(null), expected);

            // ...even across several consecutive failures
            awaitAttempts(svc, id, 3);
            assertTrue(json(svc.get(path)).get("stale").asBoolean(), "still failing");
            assertNull(sse.nextEvent(QUIET), "a second event while still failing");

            heal.run();

            JsonNode healed =
                    await(() -> json(svc.get(path)), e -> !e.get("stale").asBoolean());
            assertFalse(healed.has("error"), healed.toString());
            assertEquals(1, healed.get("version").asLong(), "same content after healing, same version");
            assertEquals(good.get("data"), healed.get("data"));
            JsonNode recoveredEntry = entry(svc, id);
            assertFalse(recoveredEntry.get("stale").asBoolean(), recoveredEntry.toString());
            assertTrue(recoveredEntry.get("lastError").isNull(), recoveredEntry.toString());

            // ...and exactly one for recovering
            SseClient.Frame recovered = sse.nextEvent(WAIT);
            assertNotNull(recovered, "no status event when the source recovered");
            assertEquals("status", recovered.event(), recovered.toString());
            JsonNode recoveredData = parse(recovered.data());
            assertFalse(recoveredData.get("stale").asBoolean(), recovered.data());
            assertFalse(recoveredData.has("error"), recovered.data());
            awaitAttempts(svc, id, 2);
            assertNull(sse.nextEvent(QUIET), "an event after recovery with unchanged content");
        }
    }

    /**
     * The first fetch fails: 503 with the reason, answered when that fetch fails; after healing, 200 with the data. The
     * service runs with {@link #longColdWait}: ten minutes against the client's 30 s, so the answer cannot come from the
     * cold-wait running out, only from the failed fetch ending the wait.
     */
    private static void firstFails(Service svc, String id, Runnable heal, String expected) throws Exception {
        String path = "/api/sources/" + id;
        HttpResponse<String> r = svc.get(path);
        assertProblem(r, 503);
        String retryAfter = header(r, "Retry-After");
        assertTrue(retryAfter.matches("\\d+") && Long.parseLong(retryAfter) >= 1, retryAfter);
        String detail = json(r).get("detail").asText();
        assertTrue(detail.contains(expected), "the reason belongs in the detail: " + detail);

        JsonNode entry = entry(svc, id);
        assertEquals(0, entry.get("version").asLong(), entry.toString());
        assertTrue(entry.get("lastError").asText("").contains(expected), entry.toString());

        try (SseClient sse = SseClient.open(svc.client(), svc.uri(path + "/events"))) {
            assertEquals(200, sse.status());
            heal.run();
            HttpResponse<String> ok = await(() -> svc.get(path), x -> x.statusCode() == 200);
            JsonNode env = json(ok);
            assertEquals(1, env.get("version").asLong());
            assertFalse(env.get("stale").asBoolean());
            assertFalse(env.has("error"), ok.body());
            assertEquals(parse("{\"v\":1}"), env.get("data"));
            // the subscriber that joined while failing gets the data as soon as it exists
            SseClient.Frame f;
            do {
                f = sse.nextEvent(WAIT);
                assertNotNull(f, "no snapshot after the first good fetch");
                if (f.data() != null) {
                    assertNoInternals(f.data());
                }
            } while (!"snapshot".equals(f.event()));
            assertEquals(1, f.version());
            assertEquals(parse("{\"v\":1}"), parse(f.data()).get("data"));
        }
        JsonNode healedEntry = entry(svc, id);
        assertFalse(healedEntry.get("stale").asBoolean(), healedEntry.toString());
        assertTrue(healedEntry.get("lastError").isNull(), healedEntry.toString());
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static String source(String id, String url) {
        return """
                aggregator:
                  coldWait: 1s
                  sources:
                    - id: %s
                      url: %s
                      interval: 200ms
                      maxBackoff: 400ms
                      timeout: 500ms
                      maxBodySize: 1KiB
                      select: /data
                """.formatted(id, url);
    }

    /** {@code yaml} with a cold-wait far beyond the test client's timeout. */
    private static String longColdWait(String yaml) {
        return yaml.replace("coldWait: 1s", "coldWait: 10m");
    }

    private static void assertShortSpecific(String error, String expected) {
        assertNotNull(error, "no error");
        assertTrue(error.contains(expected), "error \"" + error + "\" should mention " + expected);
        assertTrue(error.length() <= 120, "error too long: " + error);
        assertFalse(error.contains("\n"), error);
        assertNoInternals(error);
    }

    private static JsonNode entry(Service svc, String id) {
        for (JsonNode s : json(svc.get("/api/sources")).get("sources")) {
            if (s.get("id").asText().equals(id)) {
                return s;
            }
        }
        throw new AssertionError("no " + id + " in /api/sources");
    }

    /** Waits until {@code n} more fetches of {@code id} were scheduled (each one moves {@code nextFetchAt}). */
    private static void awaitAttempts(Service svc, String id, int n) throws InterruptedException {
        Set<String> seen = new HashSet<>();
        await(
                () -> {
                    seen.add(entry(svc, id).get("nextFetchAt").asText());
                    return seen.size();
                },
                size -> size > n);
    }

    private static JsonNode parse(String text) {
        try {
            return PollingTest.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    private static Upstream.Reply redirect(String location) {
        return new Upstream.Reply(302, Map.of("Location", location), new byte[0], null);
    }

    /** A valid JSON body of about {@code size} bytes sent without a Content-Length. */
    private static Upstream.Reply chunked(int size) {
        byte[] body = ("{\"data\":\"" + "x".repeat(size) + "\"}").getBytes(StandardCharsets.UTF_8);
        return Upstream.Reply.custom(exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, 0);
            try (OutputStream out = exchange.getResponseBody()) {
                for (int i = 0; i < body.length; i += 512) {
                    out.write(body, i, Math.min(512, body.length - i));
                    out.flush();
                }
            } catch (IOException e) {
                // the fetcher may hang up once it has read enough
            }
        });
    }

    /** A JSON upstream on a fixed loopback port that can stop listening (connection refused) and start again. */
    private static final class PortUpstream implements AutoCloseable {
        private final int port;
        private HttpServer server; // guarded by this

        PortUpstream(int port) {
            this.port = port;
        }

        String url() {
            return "http://127.0.0.1:" + port + "/data";
        }

        PortUpstream started(String json) {
            start(json);
            return this;
        }

        synchronized void start(String json) {
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            try {
                server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/", exchange -> {
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.start();
        }

        synchronized void stop() {
            if (server != null) {
                server.stop(0);
                server = null;
            }
        }

        @Override
        public void close() {
            stop();
        }
    }
}
