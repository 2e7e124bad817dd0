package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Upstreams that misbehave at the socket level, after a good first fetch: resets and early closes mid-body, a server
 * that accepts and never answers, bodies and headers that trickle, bodies over the default size limit, redirect loops.
 * For each: the fetch is bounded, the last good data is served stale with a short specific reason that leaks no
 * secret, SSE subscribers get one status event each way, a second source polled alongside stays fresh, and the next
 * scheduled fetch after healing recovers the source.
 */
class FaultTest {
    /** The request header secret, from the environment. */
    private static final String KEY = "key-" + Long.toHexString(Double.doubleToLongBits(Math.random()));
    /** A secret the faulty upstream sends in a response header. */
    private static final String COOKIE = "cookie-" + Long.toHexString(Double.doubleToLongBits(Math.random()));

    private static final String GOOD = "{\"v\":1}";
    private static final Duration INTERVAL = Duration.ofMillis(300);
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final Duration QUIET = Duration.ofMillis(300);
    private static final Duration SLACK = Duration.ofSeconds(2);
    /** The trickles send one byte per this; shorter than every timeout, so only the whole-call bound can stop them. */
    private static final Duration DRIP = Duration.ofMillis(200);

    private static final int MIB = 1024 * 1024;
    private static final int DEFAULT_MAX_BODY = 5 * MIB;
    private static final byte[] TEN_MIB = bigJson(10 * MIB);

    private static final String CLOSED = "connection closed by upstream";
    private static final String TOO_LARGE = "too large (over " + DEFAULT_MAX_BODY + " bytes)";

    private final List<String> seen = new CopyOnWriteArrayList<>();
    private final LogCapture logs = new LogCapture();

    /**
     * One way to misbehave.
     *
     * @param timeout the source's {@code timeout}
     * @param hangsUp whether the service itself must end the faulty connection (its timeout does), rather than the
     *     upstream
     */
    record Fault(String name, String timeout, Behavior behavior, String expected, boolean hangsUp) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Fault> faults() {
        return Stream.of(
                new Fault("connection reset mid-body", "2s", FaultTest::resetMidBody, CLOSED, false),
                new Fault("connection closed short of Content-Length", "2s", FaultTest::closeMidBody, CLOSED, false),
                new Fault("connection reset before any response", "2s", FaultTest::resetAtOnce, CLOSED, false),
                new Fault("accepts and never answers", "500ms", FaultTest::neverAnswer, "timed out after 500ms", true),
                new Fault("body trickles a byte at a time", "1s", FaultTest::trickleBody, "timed out after 1s", true),
                new Fault(
                        "headers trickle a byte at a time",
                        "1s",
                        FaultTest::trickleHeaders,
                        "timed out after 1s",
                        true),
                new Fault("10 MiB with Content-Length", "5s", FaultTest::bigWithLength, TOO_LARGE, false),
                new Fault("10 MiB chunked", "5s", FaultTest::bigChunked, TOO_LARGE, false),
                new Fault("302 to itself", "2s", FaultTest::redirectToItself, "redirect", false),
                new Fault("302 from A to B and back", "2s", FaultTest::redirectPingPong, "redirect", false));
    }

    @BeforeEach
    void captureLogs() {
        Logger.getLogger("").addHandler(logs);
    }

    @AfterEach
    void noSecretAnywhere() {
        Logger.getLogger("").removeHandler(logs);
        for (String text : seen) {
            assertFalse(text.contains(KEY), "the request secret was served: " + text);
            assertFalse(text.contains(COOKIE), "an upstream header value was served: " + text);
        }
        for (String line : logs.lines) {
            assertFalse(line.contains(KEY), "the request secret was logged: " + line);
            assertFalse(line.contains(COOKIE), "an upstream header value was logged: " + line);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("faults")
    void servesLastGoodDataThroughTheFaultAndRecovers(Fault fault) throws Exception {
        try (RawUpstream raw = new RawUpstream(FaultTest::good);
                Upstream other = new Upstream().reply(Upstream.Reply.custom(counting()));
                Service svc =
                        Service.start(yaml(raw.url() + "/data", fault.timeout(), other.url()), Map.of("KEY", KEY))) {
            String path = "/api/sources/src";
            JsonNode good = envelope(svc, path);
            assertEquals(1, good.get("version").asLong(), good.toString());
            assertFalse(good.get("stale").asBoolean(), good.toString());
            assertEquals(parse(GOOD), good.get("data"));
            assertEquals(KEY, raw.exchanges().getFirst().headers().get("x-api-key"), "the secret header is sent");
            JsonNode otherBefore =
                    await(() -> entry(svc, "other"), e -> e.get("version").asLong() >= 1);

            try (SseClient sse = SseClient.open(svc.client(), svc.uri(path + "/events"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT), "no retry frame");
                SseClient.Frame snapshot = event(sse, WAIT);
                assertNotNull(snapshot, "no snapshot event");
                assertEquals("snapshot", snapshot.event(), snapshot.toString());

                long brokeAt = System.nanoTime();
                raw.behave(fault.behavior());

                // GET: the last good data, stale, with a short specific reason
                JsonNode stale =
                        await(() -> envelope(svc, path), e -> e.get("stale").asBoolean());
                assertEquals(1, stale.get("version").asLong(), stale.toString());
                assertEquals(good.get("data"), stale.get("data"));
                assertEquals(good.get("changedAt"), stale.get("changedAt"));
                String error = stale.path("error").asText(null);
                assertShortSpecific(error, fault.expected());

                Exchange faulty = raw.firstServedBy(fault.behavior());
                assertNotNull(faulty, "the upstream never saw the faulty request");
                assertEquals(KEY, faulty.headers().get("x-api-key"));
                if (fault.hangsUp()) {
                    // the error names the timeout that ended the call; the upstream, which would go on for minutes
                    // (the trickles send a byte every DRIP, well inside the timeout), sees the service hang up
                    awaitHangUp(faulty);
                }

                // the list: the reason, the failure count and when the next attempt is due
                JsonNode entry = entry(svc, "src");
                assertTrue(entry.get("stale").asBoolean(), entry.toString());
                assertEquals(error, entry.get("lastError").asText(), entry.toString());
                assertTrue(entry.get("consecutiveFailures").asInt() >= 1, entry.toString());
                Instant next = Instant.parse(entry.get("nextFetchAt").asText());
                assertTrue(
                        next.isBefore(Instant.now().plus(INTERVAL).plus(SLACK)),
                        "next fetch too far out: " + next + " (maxBackoff is the interval)");

                // SSE: one status event for turning stale...
                SseClient.Frame turned = event(sse, WAIT);
                assertNotNull(turned, "no status event when the source turned stale");
                assertEquals("status", turned.event(), turned.toString());
                JsonNode turnedData = parse(turned.data());
                assertTrue(turnedData.get("stale").asBoolean(), turned.data());
                assertShortSpecific(turnedData.path("error").asText(null), fault.expected());

                // ...and no other across several consecutive failures
                await(() -> entry(svc, "src"), e -> e.get("consecutiveFailures").asInt() >= 3);
                assertTrue(envelope(svc, path).get("stale").asBoolean(), "still failing");
                assertNull(event(sse, QUIET), "a second event while still failing");
                if (fault.name().contains("302")) {
                    int failures = entry(svc, "src").get("consecutiveFailures").asInt();
                    long requests = raw.exchanges().stream()
                            .filter(x -> x.acceptedAt() > brokeAt)
                            .count();
                    assertTrue(
                            requests <= (failures + 1) * 6L,
                            requests + " requests for " + failures + " failed fetches: the loop is not bounded");
                }

                // the other source kept being polled, fresh
                JsonNode otherDuring = entry(svc, "other");
                assertFalse(otherDuring.get("stale").asBoolean(), otherDuring.toString());
                assertTrue(otherDuring.get("lastError").isNull(), otherDuring.toString());
                assertEquals(0, otherDuring.get("consecutiveFailures").asInt(), otherDuring.toString());
                assertTrue(
                        otherDuring.get("version").asLong()
                                >= otherBefore.get("version").asLong() + 2,
                        "the healthy source stalled: " + otherBefore + " then " + otherDuring);
                JsonNode otherEnvelope = envelope(svc, "/api/sources/other");
                assertFalse(otherEnvelope.get("stale").asBoolean(), otherEnvelope.toString());

                raw.behave(FaultTest::good);

                JsonNode healed =
                        await(() -> envelope(svc, path), e -> !e.get("stale").asBoolean());
                assertFalse(healed.has("error"), healed.toString());
                assertEquals(1, healed.get("version").asLong(), "same content after healing, same version");
                assertEquals(good.get("data"), healed.get("data"));
                JsonNode healedEntry = entry(svc, "src");
                assertFalse(healedEntry.get("stale").asBoolean(), healedEntry.toString());
                assertTrue(healedEntry.get("lastError").isNull(), healedEntry.toString());
                assertEquals(0, healedEntry.get("consecutiveFailures").asInt(), healedEntry.toString());

                // ...one status event for recovering, and nothing more while the content stays the same
                SseClient.Frame recovered = event(sse, WAIT);
                assertNotNull(recovered, "no status event when the source recovered");
                assertEquals("status", recovered.event(), recovered.toString());
                JsonNode recoveredData = parse(recovered.data());
                assertFalse(recoveredData.get("stale").asBoolean(), recovered.data());
                assertFalse(recoveredData.has("error"), recovered.data());
                int hits = raw.exchanges().size();
                await(() -> raw.exchanges().size(), n -> n >= hits + 2);
                assertNull(event(sse, QUIET), "an event after recovery with unchanged content");
                assertFalse(envelope(svc, "/api/sources/other").get("stale").asBoolean());
                assertTrue(
                        logs.lines.stream().anyMatch(l -> l.contains("source src") && l.contains(error)),
                        "the failure was logged (so the secret check on logs means something): " + logs.lines);
            }
        }
    }

    @Test
    void followsOneRedirectToAGoodEndpoint() throws Exception {
        Behavior moved = ex -> {
            if (ex.path().equals("/data")) {
                ex.head(302, "Found", "Location: /moved", "Content-Length: 0");
            } else {
                good(ex);
            }
        };
        try (RawUpstream raw = new RawUpstream(moved);
                Upstream other = new Upstream().json("{}");
                Service svc = Service.start(yaml(raw.url() + "/data", "2s", other.url()), Map.of("KEY", KEY))) {
            JsonNode env = envelope(svc, "/api/sources/src");
            assertEquals(1, env.get("version").asLong(), env.toString());
            assertFalse(env.get("stale").asBoolean(), env.toString());
            assertEquals(parse(GOOD), env.get("data"));
            List<String> paths =
                    raw.exchanges().stream().map(Exchange::path).limit(2).toList();
            assertEquals(List.of("/data", "/moved"), paths);
            // every later fetch follows it too, and none fails
            await(() -> raw.exchanges().size(), n -> n >= 6);
            JsonNode entry = entry(svc, "src");
            assertFalse(entry.get("stale").asBoolean(), entry.toString());
            assertEquals(0, entry.get("consecutiveFailures").asInt(), entry.toString());
        }
    }

    // ---- the faults ----------------------------------------------------------------------------------------------

    private static void good(Exchange ex) throws IOException {
        byte[] body = GOOD.getBytes(StandardCharsets.UTF_8);
        ex.head(200, "OK", "Content-Type: application/json", "Content-Length: " + body.length);
        ex.out().write(body);
        ex.out().flush();
    }

    /**
     * Headers promising 10000 bytes, part of the body, then a TCP reset. No pause is needed for the fetcher to be in the
     * body when the reset comes: with Nagle off, the headers and the partial body leave in their own segments before the
     * reset does, loopback delivers them in order, and the receiving side hands out queued data before it reports a
     * reset.
     */
    private static void resetMidBody(Exchange ex) throws IOException {
        ex.socket().setTcpNoDelay(true);
        ex.head(200, "OK", "Content-Type: application/json", "Content-Length: 10000");
        ex.out().write("{\"v\":[1,2,3,".getBytes(StandardCharsets.UTF_8));
        ex.out().flush();
        ex.reset();
    }

    /**
     * Headers promising 10000 bytes, part of the body, then an orderly close. The FIN follows the bytes in the stream,
     * so the fetcher reads the headers and the partial body before it sees the end; no pause is needed.
     */
    private static void closeMidBody(Exchange ex) throws IOException {
        ex.head(200, "OK", "Content-Type: application/json", "Content-Length: 10000");
        ex.out().write("{\"v\":[1,2,3,".getBytes(StandardCharsets.UTF_8));
        ex.out().flush();
        ex.socket().shutdownOutput();
        ex.awaitHangUp();
    }

    private static void resetAtOnce(Exchange ex) throws IOException {
        ex.reset();
    }

    private static void neverAnswer(Exchange ex) throws IOException {
        ex.awaitHangUp();
    }

    /** A body of 1000 bytes, one byte per {@link #DRIP}: 200 s in all. */
    private static void trickleBody(Exchange ex) throws IOException, InterruptedException {
        ex.head(200, "OK", "Content-Type: application/json", "Content-Length: 1000");
        ex.out().write('[');
        for (int i = 1; i < 1000; i++) {
            ex.drip(i % 2 == 1 ? '1' : ',');
        }
    }

    /** A header line that never ends, one byte per {@link #DRIP}. */
    private static void trickleHeaders(Exchange ex) throws IOException, InterruptedException {
        ex.out().write("HTTP/1.1 200 OK\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 100_000; i++) {
            ex.drip('a');
        }
    }

    private static void bigWithLength(Exchange ex) throws IOException {
        ex.head(200, "OK", "Content-Type: application/json", "Content-Length: " + TEN_MIB.length);
        for (int i = 0; i < TEN_MIB.length; i += 64 * 1024) {
            ex.out().write(TEN_MIB, i, Math.min(64 * 1024, TEN_MIB.length - i));
        }
        ex.out().flush();
    }

    private static void bigChunked(Exchange ex) throws IOException {
        ex.head(200, "OK", "Content-Type: application/json", "Transfer-Encoding: chunked");
        OutputStream out = ex.out();
        for (int i = 0; i < TEN_MIB.length; i += 64 * 1024) {
            int n = Math.min(64 * 1024, TEN_MIB.length - i);
            out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(TEN_MIB, i, n);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static void redirectToItself(Exchange ex) throws IOException {
        ex.head(302, "Found", "Location: " + ex.base() + ex.path(), "Content-Length: 0");
    }

    private static void redirectPingPong(Exchange ex) throws IOException {
        String to = ex.path().equals("/data") ? "/elsewhere" : "/data";
        ex.head(302, "Found", "Location: " + to, "Content-Length: 0");
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static String yaml(String url, String timeout, String otherBase) {
        return """
                aggregator:
                  coldWait: 5s
                  sources:
                    - id: src
                      url: %s
                      interval: %dms
                      maxBackoff: %dms
                      timeout: %s
                      headers:
                        x-api-key: ${KEY}
                    - id: other
                      url: %s/other
                      interval: 200ms
                      maxBackoff: 200ms
                      timeout: 2s
                """.formatted(url, INTERVAL.toMillis(), INTERVAL.toMillis(), timeout, otherBase);
    }

    /** An upstream whose content changes on every call. */
    private static Upstream.Handler counting() {
        AtomicInteger n = new AtomicInteger();
        return exchange -> {
            byte[] body = ("{\"n\":" + n.incrementAndGet() + "}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        };
    }

    private JsonNode envelope(Service svc, String path) {
        HttpResponse<String> r = svc.get(path);
        seen.add(r.headers().map() + " " + r.body());
        assertEquals(200, r.statusCode(), r.body());
        return parse(r.body());
    }

    private JsonNode entry(Service svc, String id) {
        HttpResponse<String> r = svc.get("/api/sources");
        seen.add(r.body());
        assertEquals(200, r.statusCode(), r.body());
        for (JsonNode s : parse(r.body()).get("sources")) {
            if (s.get("id").asText().equals(id)) {
                return s;
            }
        }
        throw new AssertionError("no " + id + " in /api/sources: " + r.body());
    }

    /** The next event that is not a heartbeat, within {@code timeout}, or null. */
    private SseClient.Frame event(SseClient sse, Duration timeout) throws InterruptedException {
        SseClient.Frame f = sse.nextEvent(timeout);
        if (f != null) {
            seen.add(f.toString());
        }
        return f;
    }

    private static void assertShortSpecific(String error, String expected) {
        assertNotNull(error, "no error");
        assertTrue(
                error.toLowerCase(Locale.ROOT).contains(expected.toLowerCase(Locale.ROOT)),
                "error \"" + error + "\" should mention " + expected);
        assertTrue(error.length() <= 120, "error too long: " + error);
        assertFalse(error.contains("\n"), error);
        assertFalse(error.contains("Exception"), error);
        assertFalse(error.contains("\tat "), error);
        assertFalse(error.contains(KEY), error);
        assertFalse(error.contains(COOKIE), error);
    }

    /** Waits, up to {@link #WAIT}, for the upstream to see the service close the faulty connection. */
    private static void awaitHangUp(Exchange ex) throws Exception {
        Await.isTrue(ex::closedByService, WAIT, "the service never closed the faulty connection");
    }

    /** Polls {@code get} until {@code done} holds, for up to {@link #WAIT}; fails with the last value otherwise. */
    private static <T> T await(Supplier<T> get, Predicate<T> done) throws InterruptedException {
        return Await.until(get, done, WAIT);
    }

    private static JsonNode parse(String text) {
        try {
            return PollingTest.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    /** Valid JSON of exactly {@code size} bytes. */
    private static byte[] bigJson(int size) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) 'x');
        byte[] head = "{\"pad\":\"".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, b, 0, head.length);
        b[size - 2] = '"';
        b[size - 1] = '}';
        return b;
    }

    /** What a raw upstream does with one request. */
    @FunctionalInterface
    interface Behavior {
        void serve(Exchange ex) throws IOException, InterruptedException;
    }

    /**
     * One connection to the raw upstream and the request read from it.
     *
     * @param headers request headers, names in lower case
     * @param behavior what served it
     */
    record Exchange(
            String base,
            Socket socket,
            InputStream in,
            OutputStream out,
            long acceptedAt,
            String path,
            Map<String, String> headers,
            Behavior behavior,
            AtomicBoolean hungUp) {

        /** Whether the upstream saw the service close the connection. */
        boolean closedByService() {
            return hungUp.get();
        }

        void markHungUp() {
            hungUp.set(true);
        }

        /** A status line and headers, with a secret cookie and {@code Connection: close}. */
        void head(int status, String reason, String... headers) throws IOException {
            StringBuilder sb = new StringBuilder("HTTP/1.1 " + status + " " + reason + "\r\n");
            for (String h : headers) {
                sb.append(h).append("\r\n");
            }
            sb.append("Set-Cookie: session=").append(COOKIE).append("\r\n");
            sb.append("Connection: close\r\n\r\n");
            out.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        /** Writes one byte after {@link #DRIP}; notes the hang-up when the write fails. */
        void drip(int b) throws IOException, InterruptedException {
            Thread.sleep(DRIP.toMillis());
            try {
                out.write(b);
                out.flush();
            } catch (IOException e) {
                markHungUp();
                throw e;
            }
        }

        /** Blocks until the service closes the connection. */
        void awaitHangUp() throws IOException {
            try {
                while (in.read() >= 0) {
                    // discard
                }
            } finally {
                markHungUp();
            }
        }

        /** Closes with a TCP RST instead of a FIN. */
        void reset() throws IOException {
            socket.setSoLinger(true, 0);
            socket.close();
        }
    }

    /**
     * An HTTP/1.1 upstream on a raw loopback {@link ServerSocket}, for faults a real HTTP server would not commit. Every
     * connection is served by the behavior in force when its request arrived, then closed.
     */
    private static final class RawUpstream implements AutoCloseable {
        private final ServerSocket server;
        private final Set<Socket> open = ConcurrentHashMap.newKeySet();
        private final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
        private volatile Behavior behavior;

        RawUpstream(Behavior initial) throws IOException {
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.behavior = initial;
            Thread.ofVirtual().name("raw-upstream").start(this::accept);
        }

        String url() {
            return "http://127.0.0.1:" + server.getLocalPort();
        }

        void behave(Behavior b) {
            this.behavior = b;
        }

        List<Exchange> exchanges() {
            return List.copyOf(exchanges);
        }

        Exchange firstServedBy(Behavior b) {
            return exchanges.stream().filter(x -> x.behavior() == b).findFirst().orElse(null);
        }

        private void accept() {
            while (true) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return; // closed
                }
                long acceptedAt = System.nanoTime();
                open.add(s);
                Thread.ofVirtual().start(() -> serve(s, acceptedAt));
            }
        }

        private void serve(Socket s, long acceptedAt) {
            Exchange ex = null;
            try (s) {
                InputStream in = new BufferedInputStream(s.getInputStream());
                List<String> lines = readHead(in);
                if (lines.isEmpty()) {
                    return;
                }
                String[] requestLine = lines.getFirst().split(" ");
                Map<String, String> headers = new LinkedHashMap<>();
                for (String line : lines.subList(1, lines.size())) {
                    int colon = line.indexOf(':');
                    if (colon > 0) {
                        headers.put(
                                line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                                line.substring(colon + 1).trim());
                    }
                }
                Behavior b = behavior;
                ex = new Exchange(
                        url(), s, in, s.getOutputStream(), acceptedAt, requestLine[1], headers, b, new AtomicBoolean());
                exchanges.add(ex);
                b.serve(ex);
            } catch (IOException e) {
                if (ex != null) {
                    ex.markHungUp();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                open.remove(s);
            }
        }

        /** The request line and header lines, up to the blank line. */
        private static List<String> readHead(InputStream in) throws IOException {
            List<String> lines = new ArrayList<>();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    String text = line.toString(StandardCharsets.ISO_8859_1).strip();
                    if (text.isEmpty()) {
                        return lines;
                    }
                    lines.add(text);
                    line.reset();
                } else {
                    line.write(c);
                }
            }
            return List.of();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : new HashSet<>(open)) {
                s.close();
            }
        }
    }

    /** Collects every log line while a test runs. */
    private static final class LogCapture extends Handler {
        final List<String> lines = new CopyOnWriteArrayList<>();

        @Override
        public void publish(LogRecord r) {
            lines.add(r.getLoggerName() + " " + r.getMessage() + " " + Arrays.toString(r.getParameters())
                    + (r.getThrown() == null ? "" : " " + r.getThrown()));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    }
}
