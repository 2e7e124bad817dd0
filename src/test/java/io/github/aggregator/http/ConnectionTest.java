package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile HTTP/1.1 and HTTP/2 clients over raw sockets: a body smuggling requests past {@code Connection: close}, a
 * client that drops in its headers or trickles them, request lines and header blocks over the limits, and an HTTP/2
 * connection dropped with streams open. The service answers each in one response (or closes), never logs a stack trace.
 */
class ConnectionTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.1 (\\d{3}) ");

    private static Upstream upstream;
    private static Service svc;
    private static LogCapture logs;

    @BeforeAll
    static void start() {
        logs = LogCapture.start();
        upstream = new Upstream().json("{\"v\":1}");
        svc = Service.start("""
                server:
                  port: 0
                  host: 127.0.0.1
                  header-timeout: 2s
                  keep-alive-timeout: 3s
                aggregator:
                  heartbeat: 200ms
                  sources:
                    - id: open
                      url: %s/open
                      interval: 1h
                """.formatted(upstream.url()));
    }

    @AfterAll
    static void stop() {
        try {
            svc.close();
            upstream.close();
            for (String r : logs.records()) {
                assertFalse(
                        r.contains("\tat ") || r.contains("Exception"), "a stack trace or exception was logged: " + r);
            }
        } finally {
            logs.close();
        }
    }

    @Test
    void aBodyAfterConnectionCloseIsNeverReadAsRequests() throws Exception {
        svc.get("/api/sources/open"); // the first fetch is done
        String inner = "GET /api/sources/open HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20);
        for (String method : List.of("GET", "POST")) {
            String request = method + " /api/sources/open HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                    + inner.length() + "\r\n\r\n" + inner;
            String answer = exchange(request.getBytes(StandardCharsets.US_ASCII));
            assertEquals(1, statuses(answer).size(), method + ": one answer, not " + statuses(answer));
        }
        // pipelined requests after one that asked to close are not served either
        String pipelined = "GET /api/sources/open HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                + "GET /api/sources/open HTTP/1.1\r\nHost: x\r\n\r\n".repeat(5);
        assertEquals(
                1,
                statuses(exchange(pipelined.getBytes(StandardCharsets.US_ASCII)))
                        .size());
        // a 1 MiB body of requests gets one answer
        String big = "GET /api/sources/open HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1 << 20 / 44);
        String request = "GET /api/sources/open HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                + big.length() + "\r\n\r\n" + big;
        assertTrue(
                statuses(exchange(request.getBytes(StandardCharsets.US_ASCII))).size() <= 1);
        // with keep-alive the body is skipped and the next request is served
        String keepAlive = "GET /api/sources/open HTTP/1.1\r\nHost: x\r\nContent-Length: " + inner.length() + "\r\n\r\n"
                + inner + "GET /api/sources/open HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        assertEquals(List.of("200", "200"), statuses(exchange(keepAlive.getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void oversizedRequestLinesAndHeadersGetProblemJson() throws Exception {
        for (int size : List.of(9_000, 20_000, 100_000, 1_000_000)) {
            String line = "GET /api/sources/open?token=" + "t".repeat(size) + " HTTP/1.1\r\nHost: x\r\n\r\n";
            String answer = exchange(line.getBytes(StandardCharsets.US_ASCII));
            assertEquals(List.of("414"), statuses(answer), size + "-byte request line: " + head(answer));
            assertTrue(answer.contains("application/problem+json"), head(answer));
        }
        for (int size : List.of(20_000, 100_000, 1_000_000)) {
            String request = "GET /api/sources/open HTTP/1.1\r\nHost: x\r\nX-Big: " + "h".repeat(size) + "\r\n\r\n";
            String answer = exchange(request.getBytes(StandardCharsets.US_ASCII));
            assertEquals(List.of("431"), statuses(answer), size + "-byte header: " + head(answer));
            assertTrue(answer.contains("application/problem+json"), head(answer));
        }
        assertEquals(200, svc.get("/api/sources/open").statusCode());
    }

    @Test
    void aClientThatDropsInItsHeadersLeavesNoTrace() throws Exception {
        int before = logs.records().size();
        for (int i = 0; i < 20; i++) {
            try (Socket s = socket()) {
                s.getOutputStream()
                        .write("GET /api/sources/open HTTP/1.1\r\nHost: x\r\nX-Half: "
                                .getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
            }
        }
        assertEquals(200, svc.get("/api/sources/open").statusCode());
        List<String> added = logs.records().subList(before, logs.records().size());
        assertTrue(
                added.stream().noneMatch(r -> r.contains("\tat ") || r.contains("Internal server error")),
                "logged: " + added);
    }

    @Test
    void aClientTricklingItsHeadersIsCutOff() throws Exception {
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Socket s = socket();
                s.getOutputStream().write("GET /api/sources/open HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            long deadline = System.nanoTime() + WAIT.toNanos();
            int closed = 0;
            while (closed < slow.size() && System.nanoTime() < deadline) {
                closed = 0;
                for (Socket s : slow) {
                    if (s.isClosed() || !dripOne(s)) {
                        s.close();
                        closed++;
                    }
                }
                Thread.sleep(500); // the pace of the trickle, not a wait for a state
            }
            assertEquals(slow.size(), closed, "trickling clients cut off by the 2 s header timeout");
        } finally {
            for (Socket s : slow) {
                s.close();
            }
        }
        assertEquals(200, svc.get("/api/sources/open").statusCode());
    }

    @Test
    void aKeptAliveConnectionIsClosedAfterTheKeepAliveTimeoutUnlessItSendsRequests() throws Exception {
        String request = "GET /api/sources/open HTTP/1.1\r\nHost: x\r\n\r\n";
        try (Socket busy = socket();
                Socket idle = socket()) {
            assertEquals("200", answer(idle, request));
            // every request starts the timeout again: six requests a second apart outlast the 3 s on one connection
            for (int i = 0; i < 6; i++) {
                assertEquals("200", answer(busy, request), "request " + i + " on a busy connection");
                Thread.sleep(1000); // the pace of the requests, not a wait for a state
            }
            // the idle one, answered once six seconds ago, was closed 3 s (and up to one check) after its answer
            boolean closed;
            try {
                closed = idle.getInputStream().read() == -1;
            } catch (SocketException e) {
                closed = true;
            }
            assertTrue(closed, "an idle kept-alive connection is closed after keep-alive-timeout");
        }
    }

    /** Writes {@code request} on {@code s} and reads one answer (headers and a Content-Length body); its status. */
    private static String answer(Socket s, String request) throws IOException {
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                return "closed";
            }
            head.append((char) b);
        }
        Matcher length = Pattern.compile("(?i)content-length: (\\d+)").matcher(head);
        if (length.find()) {
            in.readNBytes(Integer.parseInt(length.group(1)));
        }
        Matcher status = STATUS_LINE.matcher(head);
        return status.find() ? status.group(1) : head.toString();
    }

    @Test
    void anHttp2ConnectionDroppedWithStreamsOpenLeavesNoTrace() throws Exception {
        int before = logs.records().size();
        for (int round = 0; round < 5; round++) {
            try (Socket socket = socket()) {
                OutputStream out = socket.getOutputStream();
                out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                ProtocolTest.frame(out, 0x4, 0, 0, new byte[0]);
                for (int stream = 1; stream <= 39; stream += 2) {
                    ByteArrayOutputStream block = new ByteArrayOutputStream();
                    block.write(0x82); // :method GET
                    block.write(0x86); // :scheme http
                    ProtocolTest.literal(block, 4, stream % 4 == 1 ? "/api/sources/open/events" : "/api/events");
                    ProtocolTest.literal(block, 1, "127.0.0.1:" + svc.port());
                    ProtocolTest.frame(out, 0x1, 0x4 | 0x1, stream, block.toByteArray());
                }
                out.flush();
                if (round % 2 == 1) {
                    // the other rounds drop the connection at once; these once the server has answered some streams
                    InputStream in = socket.getInputStream();
                    byte[] buf = new byte[8192];
                    int total = 0;
                    while (total < 2_000) {
                        int n = in.read(buf);
                        if (n < 0) {
                            break;
                        }
                        total += n;
                    }
                }
            }
        }
        Await.isTrue(
                () -> svc.get("/api/sources").body().contains("\"subscribers\":0"),
                WAIT,
                "every stream of the dropped connections ended");
        List<String> added = logs.records().subList(before, logs.records().size());
        assertTrue(added.stream().noneMatch(r -> r.contains("\tat ") || r.contains("Exception")), "logged: " + added);
    }

    /** Writes one more header byte; false when the server has closed the connection. */
    private static boolean dripOne(Socket s) {
        try {
            s.getOutputStream().write('X');
            s.getOutputStream().flush();
            s.setSoTimeout(1);
            try {
                return s.getInputStream().read() != -1;
            } catch (SocketTimeoutException e) {
                return true;
            }
        } catch (IOException e) {
            return false;
        }
    }

    private static Socket socket() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), svc.port());
        s.setSoTimeout((int) WAIT.toMillis());
        return s;
    }

    /** Sends {@code request} while reading, and returns everything the server sent until it closed. */
    private static String exchange(byte[] request) throws Exception {
        try (Socket s = socket()) {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    s.getInputStream().transferTo(got);
                } catch (IOException e) {
                    // reset after the answer: what arrived counts
                }
            });
            try {
                OutputStream out = s.getOutputStream();
                for (int off = 0; off < request.length; off += 16 * 1024) {
                    out.write(request, off, Math.min(16 * 1024, request.length - off));
                }
                out.flush();
            } catch (SocketException e) {
                // the server closed early; what it answered counts
            }
            reader.join(WAIT);
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static List<String> statuses(String answer) {
        List<String> all = new ArrayList<>();
        Matcher m = STATUS_LINE.matcher(answer);
        while (m.find()) {
            all.add(m.group(1));
        }
        return all;
    }

    private static String head(String answer) {
        return answer.length() > 300 ? answer.substring(0, 300) : answer;
    }
}
