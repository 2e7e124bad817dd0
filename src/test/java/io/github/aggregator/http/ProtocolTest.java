package io.github.aggregator.http;

import static io.github.aggregator.http.MultiplexTest.WAIT;
import static io.github.aggregator.http.MultiplexTest.awaitTrue;
import static io.github.aggregator.http.MultiplexTest.content;
import static io.github.aggregator.http.MultiplexTest.label;
import static io.github.aggregator.http.MultiplexTest.source;
import static io.github.aggregator.http.MultiplexTest.version;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The wire: HTTP/2 (h2c upgrade and prior knowledge), stream resets, gzip for JSON, and unbuffered SSE. */
class ProtocolTest {
    private static final List<String> FIVE = List.of("s1", "s2", "s3", "s4", "s5");
    /** Heartbeats of the test clock in which a reset stream must be noticed. */
    private static final int HEARTBEATS = 6;

    @Test
    void http2CarriesSeveralStreamsOnOneConnection() throws Exception {
        try (Upstream up = new Upstream().json(content("s", 0));
                Service svc = Service.start(yaml("", FIVE, up));
                HttpClient h2 = HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_2)
                        .build()) {
            for (String id : FIVE) {
                version(svc, id);
            }
            // Proof of one connection: the server's ends of the established TCP connections to its port, read
            // from /proc/net/tcp{,6}, before and after. Only this test's h2 client connects in between (the
            // service's own client, used above, is not used again until the count is taken), so the new ones are
            // the h2 client's: exactly one, however many streams it opened.
            Set<String> before = serverConnections(svc.port());

            // the first request upgrades (h2c); the streams then share that connection
            HttpResponse<String> first = h2.send(
                    HttpRequest.newBuilder(svc.uri("/api/sources")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, first.statusCode());
            assertEquals(HttpClient.Version.HTTP_2, first.version(), "h2c upgrade");

            List<H2Stream> streams = new ArrayList<>();
            try {
                for (String id : FIVE) {
                    H2Stream sse = H2Stream.open(h2, svc.uri("/api/sources/" + id + "/events"));
                    streams.add(sse);
                    assertEquals(200, sse.status());
                    assertEquals(HttpClient.Version.HTTP_2, sse.version(), id);
                    assertNotNull(sse.next(WAIT).retry());
                    assertEquals("snapshot " + id, label(sse.nextEvent(WAIT)));
                }
                Set<String> added = new HashSet<>(serverConnections(svc.port()));
                added.removeAll(before);
                assertEquals(1, added.size(), "five streams over one connection; new connections: " + added);

                up.json(content("s", 1));
                for (int i = 0; i < FIVE.size(); i++) {
                    Frame f = streams.get(i).nextEvent(WAIT);
                    assertNotNull(f, "no update on the stream of " + FIVE.get(i));
                    assertEquals("update " + FIVE.get(i), label(f));
                }
            } finally {
                streams.forEach(H2Stream::close);
            }
        }
    }

    @Test
    void http2WithPriorKnowledgeAnswersOnTheSamePort() throws Exception {
        try (Upstream up = new Upstream().json(content("s", 0));
                Service svc = Service.start(yaml("", List.of("s1"), up));
                Socket socket = new Socket(InetAddress.getLoopbackAddress(), svc.port())) {
            version(svc, "s1");
            socket.setSoTimeout((int) WAIT.toMillis());
            OutputStream out = socket.getOutputStream();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            frame(out, 0x4, 0, 0, new byte[0]); // our SETTINGS: all defaults
            out.flush();

            byte[] head = new byte[9];
            in.readFully(head);
            assertEquals(0x4, head[3], "the server's first frame is SETTINGS");
            assertEquals(0, head[4] & 0x1, "not an ACK");
            assertEquals(0, streamId(head), "on stream 0");
            in.readFully(new byte[length(head)]);
            frame(out, 0x4, 0x1, 0, new byte[0]); // ACK it

            // GET /api/sources on stream 1; header block in HPACK without Huffman or indexing
            String authority = "127.0.0.1:" + svc.port();
            ByteArrayOutputStream block = new ByteArrayOutputStream();
            block.write(0x82); // :method GET (static index 2)
            block.write(0x86); // :scheme http (static index 6)
            literal(block, 4, "/api/sources"); // :path
            literal(block, 1, authority); // :authority
            frame(out, 0x1, 0x4 | 0x1, 1, block.toByteArray()); // HEADERS, END_HEADERS | END_STREAM
            out.flush();

            ByteArrayOutputStream body = new ByteArrayOutputStream();
            boolean headers = false;
            while (true) {
                in.readFully(head);
                byte[] payload = new byte[length(head)];
                in.readFully(payload);
                int type = head[3];
                int flags = head[4] & 0xff;
                if (type == 0x7 || type == 0x3) {
                    fail("GOAWAY or RST_STREAM instead of an answer");
                }
                if (type == 0x4 && (flags & 0x1) == 0) {
                    frame(out, 0x4, 0x1, 0, new byte[0]);
                }
                if (streamId(head) == 1 && type == 0x1) {
                    headers = true;
                }
                if (streamId(head) == 1 && type == 0x0) {
                    body.write(payload);
                }
                if (streamId(head) == 1 && (type == 0x0 || type == 0x1) && (flags & 0x1) != 0) {
                    break; // END_STREAM
                }
            }
            assertTrue(headers, "a HEADERS frame answered the request");
            JsonNode list = Json.MAPPER.readTree(body.toByteArray());
            assertEquals("s1", list.get("sources").get(0).get("id").asText(), list.toString());
        }
    }

    /**
     * A reset stream is only noticed on a write, so on the test clock (an hour's heartbeat, a day's write timeout, a
     * day's interval: real time never reaches any of them here) the subscriber must be gone after a few heartbeats'
     * steps of the clock, while the connection stays. Only the clock is advanced after the stream is closed (no fetch
     * falls due, and the service's own client is not used), so the count of connections stays the h2 client's.
     */
    @Test
    void anHttp2StreamClosedByTheClientIsNoticedWhileTheConnectionStays() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "needs /proc/net/tcp");
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream().json(content("s", 0));
                Service svc = Service.start(
                        "aggregator:\n  heartbeat: 1h\n  writeTimeout: 24h\n  sources:\n"
                                + source("s1", up.url(), "      interval: 24h\n"),
                        Map.of(),
                        clock);
                HttpClient h2 = HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_2)
                        .build()) {
            svc.step(clock, Duration.ofHours(3)); // the first fetch, after the start jitter
            version(svc, "s1");
            Set<String> before = serverConnections(svc.port());
            assertEquals(HttpClient.Version.HTTP_2, subscribers(h2, svc).version());
            H2Stream sse = H2Stream.open(h2, svc.uri("/api/sources/s1/events"));
            assertEquals(HttpClient.Version.HTTP_2, sse.version());
            assertNotNull(sse.next(WAIT).retry());
            assertEquals("snapshot s1", label(sse.nextEvent(WAIT)));
            awaitTrue(() -> count(subscribers(h2, svc)) == 1, "one subscriber");
            Set<String> connection = new HashSet<>(serverConnections(svc.port()));
            connection.removeAll(before);
            assertEquals(1, connection.size(), connection.toString());

            sse.close(); // the JDK client resets the stream (RST_STREAM) and keeps the connection
            // each step ends the handler's heartbeat wait, if it had begun it, and so makes it write; a step taken
            // before it began its next wait is lost, hence a few more steps than the two writes it takes
            int steps = 0;
            do {
                assertTrue(
                        ++steps <= HEARTBEATS, "the reset stream still subscribed after " + HEARTBEATS + " heartbeats");
                clock.advance(Duration.ofHours(1));
            } while (!awaitSubscribers(h2, svc, 0, Duration.ofSeconds(2)));

            Set<String> after = new HashSet<>(serverConnections(svc.port()));
            after.removeAll(before);
            assertEquals(connection, after, "the same single connection is still open");
            // and it still serves streams
            try (H2Stream again = H2Stream.open(h2, svc.uri("/api/sources/s1/events"))) {
                assertEquals(HttpClient.Version.HTTP_2, again.version());
                assertNotNull(again.next(WAIT).retry());
                assertEquals("snapshot s1", label(again.nextEvent(WAIT)));
            }
        }
    }

    @Test
    void largeJsonIsGzippedForClientsThatAcceptIt() throws Exception {
        String big = "{\"rows\":[" + "{\"name\":\"Zürich\",\"value\":12345.5},".repeat(80) + "{}]}";
        try (Upstream bigUp = new Upstream().json(big);
                Upstream smallUp = new Upstream().json("{\"a\":1}");
                Service svc = Service.start("aggregator:\n  sources:\n"
                        + source("big", bigUp.url(), "      interval: 1h\n")
                        + source("small", smallUp.url(), "      interval: 1h\n"))) {
            version(svc, "big");
            version(svc, "small");
            HttpResponse<byte[]> identity = bytes(svc, "/api/sources/big");
            assertEquals(200, identity.statusCode());
            assertTrue(identity.body().length >= 1024, "the body is " + identity.body().length + " bytes");
            assertFalse(identity.headers().firstValue("Content-Encoding").isPresent(), "no gzip unasked");
            // the representation varies with Accept-Encoding either way, so caches must know
            assertVaryAcceptEncoding(identity);

            for (String accept : List.of("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.5", "GZIP", "*")) {
                HttpResponse<byte[]> gz = bytes(svc, "/api/sources/big", "Accept-Encoding", accept);
                assertEquals(200, gz.statusCode());
                assertEquals("gzip", gz.headers().firstValue("Content-Encoding").orElse(null), accept);
                assertVaryAcceptEncoding(gz);
                assertTrue(gz.body().length < identity.body().length, "compressed: " + gz.body().length);
                byte[] unzipped;
                try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz.body()))) {
                    unzipped = in.readAllBytes();
                }
                assertArrayEquals(identity.body(), unzipped, "the same JSON, for " + accept);
                assertEquals(
                        identity.headers().firstValue("ETag"), gz.headers().firstValue("ETag"), "the same version");
            }
            for (String accept : List.of("gzip;q=0", "gzip; q=0.000, deflate", "identity", "br", "*;q=0")) {
                HttpResponse<byte[]> plain = bytes(svc, "/api/sources/big", "Accept-Encoding", accept);
                assertFalse(plain.headers().firstValue("Content-Encoding").isPresent(), accept);
                assertArrayEquals(identity.body(), plain.body(), accept);
            }

            HttpResponse<byte[]> small = bytes(svc, "/api/sources/small", "Accept-Encoding", "gzip");
            assertTrue(small.body().length < 1024, "the body is " + small.body().length + " bytes");
            assertFalse(small.headers().firstValue("Content-Encoding").isPresent(), "a small body is sent as is");
            assertEquals("small", Json.MAPPER.readTree(small.body()).get("id").asText());
        }
    }

    @Test
    void theGzippedFormFollowsEveryNewVersion() throws Exception {
        String row = "{\"name\":\"Zürich\",\"value\":12345.5},";
        String token = "test-admin-token-0123456789";
        try (Upstream up = new Upstream().json("{\"v\":1,\"rows\":[" + row.repeat(80) + "{}]}");
                Service svc = Service.start("admin:\n  token: " + token + "\naggregator:\n  sources:\n"
                        + source("big", up.url(), "      interval: 1h\n"))) {
            long first = version(svc, "big");
            HttpResponse<byte[]> gz1 = bytes(svc, "/api/sources/big", "Accept-Encoding", "gzip");
            // asked again, the same snapshot answers the same bytes (compressed once and kept with it)
            assertArrayEquals(
                    gz1.body(),
                    bytes(svc, "/api/sources/big", "Accept-Encoding", "gzip").body());
            up.json("{\"v\":2,\"rows\":[" + row.repeat(80) + "{}]}");
            HttpResponse<String> refreshed = svc.client()
                    .send(
                            HttpRequest.newBuilder(svc.uri("/api/refresh/big"))
                                    .header("Authorization", "Bearer " + token)
                                    .POST(HttpRequest.BodyPublishers.noBody())
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertEquals(200, refreshed.statusCode(), refreshed.body());
            awaitTrue(() -> version(svc, "big") > first, "a new version of big");
            HttpResponse<byte[]> identity = bytes(svc, "/api/sources/big");
            HttpResponse<byte[]> gz2 = bytes(svc, "/api/sources/big", "Accept-Encoding", "gzip");
            assertEquals(identity.headers().firstValue("ETag"), gz2.headers().firstValue("ETag"), "the same version");
            assertArrayEquals(identity.body(), gunzip(gz2), "the new version, not the one compressed before");
            assertEquals(
                    2,
                    Json.MAPPER.readTree(identity.body()).get("data").get("v").asInt());
            assertEquals(
                    1, Json.MAPPER.readTree(gunzip(gz1)).get("data").get("v").asInt());
        }
    }

    private static byte[] gunzip(HttpResponse<byte[]> r) throws IOException {
        assertEquals("gzip", r.headers().firstValue("Content-Encoding").orElse(null));
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(r.body()))) {
            return in.readAllBytes();
        }
    }

    /** How the client speaks to the server. */
    enum Protocol {
        HTTP_1_1,
        HTTP_2
    }

    /**
     * On the test clock (a minute's interval, an hour's heartbeat that the test never reaches): an update is the only
     * thing the service writes after the snapshot, so it arrives only if it was flushed on its own, not held in a
     * buffer until more output (a heartbeat) pushes it out.
     */
    @ParameterizedTest
    @EnumSource(Protocol.class)
    void streamsAreNeverCompressedNorBuffered(Protocol protocol) throws Exception {
        String big = "{\"rows\":[" + "{\"name\":\"Zürich\",\"value\":12345.5},".repeat(80) + "{}]}";
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream().json(big);
                Service svc = Service.start(
                        "aggregator:\n  heartbeat: 1h\n  writeTimeout: 24h\n  sources:\n"
                                + source("s1", up.url(), "      interval: 1m\n"),
                        Map.of(),
                        clock);
                HttpClient client = HttpClient.newBuilder()
                        .version(HttpClient.Version.valueOf(protocol.name()))
                        .build()) {
            svc.step(clock, Duration.ofSeconds(2)); // the first fetch, after the start jitter
            version(svc, "s1");
            for (String path : List.of("/api/sources/s1/events", "/api/events?sources=s1", "/api/events")) {
                try (SseClient sse = SseClient.open(client, svc.uri(path), "Accept-Encoding", "gzip")) {
                    assertEquals(200, sse.status(), path);
                    assertEquals(
                            "text/event-stream",
                            sse.headers()
                                    .firstValue("Content-Type")
                                    .orElseThrow()
                                    .split(";")[0]);
                    assertEquals(
                            "no-cache, no-transform",
                            sse.headers().firstValue("Cache-Control").orElse(null),
                            path);
                    assertEquals(
                            "no", sse.headers().firstValue("X-Accel-Buffering").orElse(null), path);
                    assertFalse(sse.headers().firstValue("Content-Encoding").isPresent(), path);
                    assertNotNull(sse.next(WAIT).retry(), "plain text frames: " + path);
                    Frame snapshot = sse.next(WAIT);
                    assertEquals("snapshot s1", label(snapshot));

                    // the upstream changes and the next fetch sees it; no heartbeat is due for the rest of the test
                    up.json(big.replace("{}]}", "{\"at\":\"" + path + "\"}]}"));
                    svc.step(clock, Duration.ofMinutes(1));
                    Frame update = sse.next(WAIT);
                    assertNotNull(update, path + ": the update was held back");
                    assertEquals("update s1", label(update), "no heartbeat first: " + update);
                }
            }
        }
    }

    // ---- helpers

    /**
     * An SSE stream read straight off a JDK client response, for the tests that need the response itself (its HTTP
     * version); frames are parsed as {@link SseClient} does.
     */
    private static final class H2Stream implements AutoCloseable {
        private final HttpResponse<InputStream> response;
        private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();

        private H2Stream(HttpResponse<InputStream> response) {
            this.response = response;
            Thread.ofVirtual().start(this::read);
        }

        static H2Stream open(HttpClient client, URI uri) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(uri)
                    .header("Accept", "text/event-stream")
                    .build();
            return new H2Stream(client.send(request, HttpResponse.BodyHandlers.ofInputStream()));
        }

        int status() {
            return response.statusCode();
        }

        HttpClient.Version version() {
            return response.version();
        }

        private void read() {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                List<String> lines = new ArrayList<>();
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    if (!line.isEmpty()) {
                        lines.add(line);
                        continue;
                    }
                    String event = null;
                    String data = null;
                    String retry = null;
                    List<String> comments = new ArrayList<>();
                    for (String l : lines) {
                        if (l.startsWith(":")) {
                            comments.add(l.substring(1).trim());
                        } else if (l.startsWith("event: ")) {
                            event = l.substring(7);
                        } else if (l.startsWith("data: ")) {
                            data = data == null ? l.substring(6) : data + "\n" + l.substring(6);
                        } else if (l.startsWith("retry: ")) {
                            retry = l.substring(7);
                        }
                    }
                    frames.add(new Frame(event, null, data, comments, retry));
                    lines.clear();
                }
            } catch (IOException e) {
                // closed
            }
        }

        Frame next(Duration timeout) throws InterruptedException {
            return frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** The next frame that is not only a comment. */
        Frame nextEvent(Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            Frame f;
            do {
                f = frames.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } while (f != null && f.isComment());
            return f;
        }

        @Override
        public void close() {
            try {
                response.body().close();
            } catch (IOException e) {
                // already closed
            }
        }
    }

    private static String yaml(String setting, List<String> ids, Upstream up) {
        StringBuilder sb = new StringBuilder("aggregator:\n");
        if (!setting.isEmpty()) {
            sb.append("  ").append(setting).append('\n');
        }
        sb.append("  sources:\n");
        ids.forEach(id -> sb.append(source(id, up.url(), "")));
        return sb.toString();
    }

    /**
     * The server's ends of the established TCP connections to {@code port} on this host, named by their remote end.
     * Read from {@code /proc/net/tcp} and {@code /proc/net/tcp6} (the JDK may use IPv4-mapped IPv6 sockets).
     */
    private static Set<String> serverConnections(int port) throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/net/tcp")), "needs /proc/net/tcp");
        Set<String> out = new HashSet<>();
        for (String file : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path p = Path.of(file);
            if (!Files.isReadable(p)) {
                continue;
            }
            List<String> lines = Files.readAllLines(p);
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                String local = f[1];
                int localPort = Integer.parseInt(local.substring(local.lastIndexOf(':') + 1), 16);
                if (localPort == port && f[3].equals("01")) { // 01 = ESTABLISHED
                    out.add(f[2]);
                }
            }
        }
        return out;
    }

    private static HttpResponse<String> subscribers(HttpClient client, Service svc) throws Exception {
        return client.send(
                HttpRequest.newBuilder(svc.uri("/api/sources"))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Waits up to {@code within} for {@code n} subscribers; returns whether that state was reached. */
    private static boolean awaitSubscribers(HttpClient client, Service svc, int n, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (count(subscribers(client, svc)) != n) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    private static int count(HttpResponse<String> list) throws IOException {
        return Json.MAPPER
                .readTree(list.body())
                .get("sources")
                .get(0)
                .get("subscribers")
                .asInt();
    }

    private static HttpResponse<byte[]> bytes(Service svc, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(svc.uri(path)).timeout(Duration.ofSeconds(10));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return svc.client().send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static void assertVaryAcceptEncoding(HttpResponse<?> r) {
        List<String> vary = r.headers().allValues("Vary");
        assertTrue(
                vary.stream()
                        .flatMap(v -> List.of(v.split(",")).stream())
                        .anyMatch(v -> v.trim().equalsIgnoreCase("Accept-Encoding")),
                "Vary: " + vary);
    }

    static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
        out.write(new byte[] {
            (byte) (payload.length >>> 16),
            (byte) (payload.length >>> 8),
            (byte) payload.length,
            (byte) type,
            (byte) flags,
            (byte) (stream >>> 24),
            (byte) (stream >>> 16),
            (byte) (stream >>> 8),
            (byte) stream
        });
        out.write(payload);
    }

    /** An HPACK "literal header field without indexing", name from the static table, value as a plain string. */
    static void literal(ByteArrayOutputStream block, int nameIndex, String value) {
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        block.write(nameIndex); // 0000 + 4-bit index
        block.write(v.length); // H = 0, 7-bit length (short values only)
        block.write(v, 0, v.length);
    }

    private static int length(byte[] head) {
        return ((head[0] & 0xff) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
    }

    private static int streamId(byte[] head) {
        return ((head[5] & 0x7f) << 24) | ((head[6] & 0xff) << 16) | ((head[7] & 0xff) << 8) | (head[8] & 0xff);
    }
}
