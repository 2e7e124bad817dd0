package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A subscriber that stops reading must never delay the other subscribers or the fetcher; its own backlog collapses
 * into one snapshot of the latest state.
 *
 * <p>Nothing here is a rate: the versions come from admin refreshes (each answered once its fetch was handled), and
 * the service runs on a {@link TestClock} that is never advanced, so no poll, heartbeat or write timeout happens on
 * its own. A stalled client is known to be stalled when its queue overflowed ({@code
 * aggregator_queue_overflows_total}): its handler is blocked in a write to full socket buffers. The guarantees are
 * then checked as events: every refresh completes, the reading client gets every version in order, shutdown ends,
 * the stalled client's backlog is one snapshot. Real waits have deadlines only, so a starved machine makes the tests
 * slower, not red.
 */
class SlowSubscriberTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Duration EVENT_WAIT = Duration.ofSeconds(30);
    private static final String ADMIN = "slow-subscriber-test-admin-token";
    private static final String EVENTS = "/api/sources/big/events";
    private static final int RECEIVE_BUFFER = 4 * 1024;
    /**
     * ~512 KB of JSON string per version. Loopback socket buffers hold a few MB (the kernel grows the send buffer
     * up to {@code tcp_wmem}, 4 MB by default), so a stalled client's buffers are full after about ten versions.
     */
    private static final String PAD = "x".repeat(512 * 1024);

    @Test
    void slowSubscriberDelaysNeitherOthersNorTheFetcher() throws Exception {
        try (Upstream up = changingUpstream();
                Service svc = start(up, "subscriberQueue: 4")) {
            refresh(svc);
            try (RawStream stalled = RawStream.open(svc.port(), EVENTS, RECEIVE_BUFFER)) {
                awaitTrue(() -> svc.subscribers("big") == 1, WAIT, "the stalled client subscribed");

                try (SseClient normal = SseClient.open(svc.client(), svc.uri(EVENTS))) {
                    assertNotNull(normal.next(EVENT_WAIT).retry());
                    SseClient.Frame snapshot = normal.nextEvent(EVENT_WAIT);
                    assertNotNull(snapshot);
                    assertEquals("snapshot", snapshot.event());
                    long last = snapshot.version();

                    // new versions until the stalled client's queue overflowed, then five more while it stays stalled:
                    // each refresh completes and the reading client gets each version, in order
                    int afterOverflow = -1; // versions made since the overflow
                    for (int i = 0; afterOverflow < 5; i++) {
                        assertTrue(i < 200, "the stalled client's queue never overflowed in " + i + " versions");
                        long v = refresh(svc);
                        SseClient.Frame f = normal.nextEvent(EVENT_WAIT);
                        assertNotNull(f, "the reading client did not get version " + v);
                        assertEquals("update", f.event(), f.toString());
                        assertEquals(last + 1, f.version(), "every version, in order");
                        last++;
                        if (afterOverflow >= 0) {
                            afterOverflow++;
                        } else if (overflows(svc) > 0) {
                            afterOverflow = 0;
                        }
                    }
                }

                // the server notices the normal client left when a write to it fails: at the next versions
                for (int i = 0; svc.subscribers("big") > 1; i++) {
                    assertTrue(i < 50, "the closed client's stream did not end");
                    refresh(svc);
                }
                assertEquals(1, svc.subscribers("big"), "the stalled client is still there");
                // the stalled client really was behind: once it reads, its backlog has collapsed into a later snapshot
                assertEquals(200, stalled.status());
                RawFrame first = stalled.nextEvent(EVENT_WAIT);
                assertNotNull(first);
                assertEquals("snapshot", first.event());
                RawFrame resync = stalled.nextEventMatching(f -> "snapshot".equals(f.event()), EVENT_WAIT);
                assertNotNull(resync, "no snapshot after the overflow");
            }
        }
    }

    /**
     * Shutdown ends although a handler is blocked in a write: the write timeout never passes on the test clock, so
     * only the shutdown itself can end that stream (it closes the connection after its grace period).
     */
    @Test
    void stalledClientWithFullBuffersDoesNotDelayShutdown() throws Exception {
        try (Upstream up = changingUpstream();
                Service svc = start(up, "subscriberQueue: 2")) {
            refresh(svc);
            try (RawStream stalled = RawStream.open(svc.port(), EVENTS, RECEIVE_BUFFER)) {
                awaitTrue(() -> svc.subscribers("big") == 1, WAIT, "the stalled client subscribed");
                // the queue overflowed: the handler is blocked in a write to full socket buffers
                for (int i = 0; overflows(svc) == 0; i++) {
                    assertTrue(i < 200, "the stalled client's queue never overflowed in " + i + " versions");
                    refresh(svc);
                }

                long start = System.nanoTime();
                Thread closing = Thread.ofPlatform().start(() -> svc.app().close());
                assertTrue(closing.join(Duration.ofSeconds(60)), "close() did not return with a stalled client");
                System.out.println("close() with a stalled client took "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
            }
        }
    }

    @Test
    void overflowCollapsesIntoOneSnapshot() throws Exception {
        try (Upstream up = changingUpstream();
                Service svc = start(up, "subscriberQueue: 2")) {
            refresh(svc);
            try (RawStream client = RawStream.open(svc.port(), EVENTS, RECEIVE_BUFFER)) {
                assertEquals(200, client.status());
                List<RawFrame> before = new ArrayList<>();
                RawFrame snapshot = client.nextEvent(EVENT_WAIT);
                assertNotNull(snapshot);
                assertEquals("snapshot", snapshot.event());
                before.add(snapshot);
                for (int i = 0; i < 2; i++) {
                    refresh(svc);
                    RawFrame f = client.nextEvent(EVENT_WAIT);
                    assertNotNull(f, "no update while reading");
                    before.add(f);
                }
                long lastBeforePause = before.getLast().version();

                // stop reading while the source moves on by many versions, until the queue overflowed
                for (int i = 0; i < 15 || overflows(svc) == 0; i++) {
                    assertTrue(i < 200, "the paused client's queue never overflowed in " + i + " versions");
                    refresh(svc);
                }
                long latestDuringPause = version(svc);

                List<RawFrame> after = new ArrayList<>();
                RawFrame collapsed = null;
                long deadline = System.nanoTime() + EVENT_WAIT.toNanos();
                while (collapsed == null && System.nanoTime() < deadline) {
                    RawFrame f = client.nextEvent(EVENT_WAIT);
                    assertNotNull(f, "the stream stalled after the reader resumed");
                    after.add(f);
                    if ("snapshot".equals(f.event()) && f.version() > lastBeforePause) {
                        collapsed = f;
                    }
                }
                assertNotNull(collapsed, "no snapshot after the pause: " + ids(after));
                assertTrue(
                        collapsed.version() >= latestDuringPause,
                        "the snapshot carries the latest state: " + collapsed.version() + " < " + latestDuringPause);
                refresh(svc);
                RawFrame next = client.nextEvent(EVENT_WAIT);
                assertNotNull(next, "the stream goes on after the snapshot");
                after.add(next);

                List<RawFrame> all = new ArrayList<>(before);
                all.addAll(after);
                List<Long> versions = all.stream().map(RawFrame::version).toList();
                for (int i = 1; i < versions.size(); i++) {
                    assertTrue(
                            versions.get(i) > versions.get(i - 1), "versions went backwards or repeated: " + ids(all));
                }
                long missed = versions.getLast() - versions.getFirst() + 1 - versions.size();
                assertTrue(missed > 0, "every intermediate version was delivered, nothing collapsed: " + ids(all));
                for (RawFrame f : all) {
                    boolean isSnapshot = f == snapshot || f == collapsed;
                    assertEquals(isSnapshot ? "snapshot" : "update", f.event(), ids(all));
                }
            }
        }
    }

    /** The service on a test clock that is never advanced, with an admin token for refreshes; polls once a day. */
    private static Service start(Upstream up, String setting) {
        return Service.start(
                "admin:\n  token: ${ADMIN}\n" + yaml(up, setting).replace("interval: 200ms", "interval: 24h"),
                Map.of("ADMIN", ADMIN),
                new TestClock());
    }

    /**
     * {@code POST /api/refresh/big}: a new version, fetched and handled before the answer (a fetcher held up by a
     * subscriber would leave the refresh deferred, and the version would not come); the version.
     */
    private static long refresh(Service svc) throws Exception {
        long before = listedVersion(svc);
        HttpResponse<String> r = svc.post("/api/refresh/big", "Authorization", "Bearer " + ADMIN);
        assertEquals(200, r.statusCode(), r.body());
        // on a starved machine the refresh may give up waiting before the fetch is handled: the version still comes
        Await.isTrue(() -> listedVersion(svc) > before, EVENT_WAIT, "a new version after a refresh");
        return listedVersion(svc);
    }

    /** The version {@code GET /api/sources} lists for big; 0 before the first fetch (no cold wait). */
    private static long listedVersion(Service svc) {
        return OnDemandTest.listed(svc, "big").get("version").asLong();
    }

    /** {@code aggregator_queue_overflows_total} of source big. */
    private static double overflows(Service svc) {
        String body = svc.get("/observe/metrics").body();
        Matcher m = Pattern.compile("(?m)^aggregator_queue_overflows_total\\{source=\"big\"\\} (\\S+)$")
                .matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    /** An upstream whose content changes on every request: a counter and a large string. */
    private static Upstream changingUpstream() {
        AtomicInteger n = new AtomicInteger();
        return new Upstream().reply(Upstream.Reply.custom(exchange -> {
            byte[] body =
                    ("{\"n\":" + n.incrementAndGet() + ",\"pad\":\"" + PAD + "\"}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }));
    }

    private static String yaml(Upstream up, String setting) {
        return "aggregator:\n  " + setting + "\n" + """
                  sources:
                    - id: big
                      url: %s/data
                      interval: 200ms
                """.formatted(up.url());
    }

    private static long version(Service svc) throws IOException {
        HttpResponse<String> r = svc.get("/api/sources/big");
        assertEquals(200, r.statusCode());
        return Json.MAPPER.readTree(r.body()).get("version").asLong();
    }

    private static String ids(List<RawFrame> frames) {
        return frames.stream().map(f -> f.event() + ":" + f.id()).toList().toString();
    }

    private static void awaitTrue(Await.Check check, Duration within, String what) throws Exception {
        Await.isTrue(check, within, what);
    }

    /**
     * One SSE frame as read off the raw socket; the data is only measured, not kept.
     *
     * @param dataLength bytes on its {@code data:} lines, -1 when it has none
     */
    record RawFrame(String event, String id, int dataLength, List<String> comments, String retry) {
        long version() {
            return Long.parseLong(id.split("-", 2)[0]); // an event id is version-hash
        }
    }

    /**
     * An SSE client on a plain socket that reads only when asked, so a test can stall it. Decodes HTTP/1.1 chunked
     * transfer coding itself and keeps only the first bytes of each line (enough for every field but {@code data}).
     * Not thread-safe.
     */
    static final class RawStream implements AutoCloseable {
        private static final int KEPT = 256;

        private final Socket socket;
        private final InputStream in;
        private final byte[] buf = new byte[64 * 1024];
        private int pos;
        private int limit;
        private int status = -1;
        private boolean chunked;
        private long chunkLeft;
        private boolean eof;
        private final StringBuilder sizeLine = new StringBuilder();
        private final byte[] lineStart = new byte[KEPT];
        private int lineLength;
        private String event;
        private String id;
        private String retry;
        private int dataLength = -1;
        private List<String> comments = new ArrayList<>();

        private RawStream(Socket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
        }

        /** Connects with a small receive buffer and sends the request; reads nothing. */
        static RawStream open(int port, String path, int receiveBuffer) throws IOException {
            Socket s = new Socket();
            s.setReceiveBufferSize(receiveBuffer);
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
            String request =
                    "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAccept: text/event-stream\r\n\r\n";
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            return new RawStream(s);
        }

        /** The response status, reading the head if it was not read yet. */
        int status() throws IOException {
            readHead();
            return status;
        }

        /** The next frame that is not comment-only and not the retry frame, or null on timeout or end of stream. */
        RawFrame nextEvent(Duration timeout) throws IOException {
            return nextEventMatching(f -> f.event() != null, timeout);
        }

        /** The next frame {@code wanted} accepts, or null on timeout or end of stream; skips the others. */
        RawFrame nextEventMatching(Predicate<RawFrame> wanted, Duration timeout) throws IOException {
            readHead();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                while (pos < limit) {
                    byte b = buf[pos++];
                    if (b != '\n') {
                        if (lineLength < KEPT) {
                            lineStart[lineLength] = b;
                        }
                        lineLength++;
                        continue;
                    }
                    RawFrame f = onLine();
                    if (f != null && wanted.test(f)) {
                        return f;
                    }
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (eof || left <= 0) {
                    return null;
                }
                socket.setSoTimeout((int) Math.max(1, left));
                try {
                    fill();
                } catch (SocketTimeoutException e) {
                    return null;
                }
            }
        }

        private void readHead() throws IOException {
            if (status >= 0) {
                return;
            }
            socket.setSoTimeout((int) WAIT.toMillis());
            String statusLine = rawLine();
            status = Integer.parseInt(statusLine.split(" ")[1]);
            for (String h = rawLine(); !h.isEmpty(); h = rawLine()) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                }
            }
        }

        /** One line of the response head, read a byte at a time so no body byte is consumed. */
        private String rawLine() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new IOException("connection closed in the response head");
                }
                if (c != '\r') {
                    b.write(c);
                }
            }
            return b.toString(StandardCharsets.US_ASCII);
        }

        /** Reads the next body bytes, chunk framing removed, into {@code buf}. Keeps its state across timeouts. */
        private void fill() throws IOException {
            pos = 0;
            limit = 0;
            if (chunked) {
                while (chunkLeft == 0) {
                    int c = in.read();
                    if (c < 0) {
                        eof = true;
                        return;
                    }
                    if (c == '\r') {
                        continue;
                    }
                    if (c != '\n') {
                        sizeLine.append((char) c);
                        continue;
                    }
                    String size = sizeLine.toString().trim();
                    sizeLine.setLength(0);
                    if (size.isEmpty()) {
                        continue; // the CRLF that ends the previous chunk's data
                    }
                    int semicolon = size.indexOf(';');
                    chunkLeft = Long.parseLong(semicolon < 0 ? size : size.substring(0, semicolon), 16);
                    if (chunkLeft == 0) {
                        eof = true; // last chunk
                        return;
                    }
                }
            }
            int want = chunked ? (int) Math.min(buf.length, chunkLeft) : buf.length;
            int n = in.read(buf, 0, want);
            if (n < 0) {
                eof = true;
                return;
            }
            limit = n;
            if (chunked) {
                chunkLeft -= n;
            }
        }

        /** Handles one complete SSE line; returns a frame when the line ended one. */
        private RawFrame onLine() {
            int kept = Math.min(lineLength, KEPT);
            if (kept > 0 && lineStart[kept - 1] == '\r' && lineLength == kept) {
                kept--;
            }
            String text = new String(lineStart, 0, kept, StandardCharsets.UTF_8);
            int length = lineLength;
            lineLength = 0;
            if (text.isEmpty()) {
                RawFrame f = null;
                if (event != null || id != null || retry != null || dataLength >= 0 || !comments.isEmpty()) {
                    f = new RawFrame(event, id, dataLength, comments, retry);
                }
                event = null;
                id = null;
                retry = null;
                dataLength = -1;
                comments = new ArrayList<>();
                return f;
            }
            if (text.startsWith(":")) {
                comments.add(text.substring(1).trim());
                return null;
            }
            int colon = text.indexOf(':');
            String field = colon < 0 ? text : text.substring(0, colon);
            String value = colon < 0 ? "" : text.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            switch (field) {
                case "event" -> event = value;
                case "id" -> id = value;
                case "retry" -> retry = value;
                case "data" -> dataLength = Math.max(0, dataLength) + length;
                default -> {}
            }
            return null;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void rawStreamDecodesChunkedFrames() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1}");
                Service svc = Service.start(yaml(up, "retry: 2s\n  retrySpread: 0s"));
                RawStream raw = RawStream.open(svc.port(), EVENTS, 64 * 1024)) {
            version(svc);
            assertEquals(200, raw.status());
            assertTrue(raw.chunked, "Helidon streams with chunked transfer coding");
            RawFrame retry = raw.nextEventMatching(f -> true, WAIT);
            assertNotNull(retry);
            assertEquals("2000", retry.retry());
            RawFrame snapshot = raw.nextEvent(WAIT);
            assertNotNull(snapshot);
            assertEquals("snapshot", snapshot.event());
            assertEquals(version(svc), snapshot.version());
            assertTrue(snapshot.dataLength() > 0);
            up.json("{\"a\":2}");
            RawFrame update = raw.nextEvent(WAIT);
            assertNotNull(update);
            assertEquals("update", update.event());
            assertEquals(snapshot.version() + 1, update.version());
            assertFalse(raw.eof);
        }
    }
}
