package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The wire form of an HTTP/1.1 stream, read byte by byte by a strict chunk parser on a plain socket: the fan-out
 * workers write each change as a ready-made chunk straight to the connection (see EventsService), between the
 * handler's own writes through the response, so the framing of both must line up exactly. Every chunk holds whole SSE
 * frames, its size line is exact, and the stream ends with the terminating chunk when the server closes it.
 */
class ChunkedStreamTest {
    private static final String ADMIN = "chunked-stream-test-admin-token";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void everyEventArrivesAsWholeFramesInExactChunksInOrder() throws Exception {
        AtomicInteger n = new AtomicInteger();
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream();
                Service svc = Service.start("""
                        admin:
                          token: ${ADMIN}
                        aggregator:
                          sources:
                            - id: s
                              url: %s/data
                              interval: 24h
                        """.formatted(up.url()), Map.of("ADMIN", ADMIN), clock)) {
            // a multi-line, non-ASCII payload of varying length: the chunk sizes are bytes, not characters
            up.reply(Upstream.Reply.custom(ex -> {
                int v = n.incrementAndGet();
                byte[] body =
                        ("{\"n\":" + v + ",\"text\":\"" + "é".repeat(v * 7) + "\"}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
                ex.close();
            }));
            refresh(svc);
            try (Socket socket = new Socket("127.0.0.1", svc.port())) {
                socket.setSoTimeout((int) WAIT.toMillis());
                socket.getOutputStream()
                        .write(("GET /api/sources/s/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        + "Accept: text/event-stream\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                InputStream in = socket.getInputStream();
                String head = headers(in);
                assertTrue(head.startsWith("HTTP/1.1 200"), head);
                assertTrue(head.toLowerCase(Locale.ROOT).contains("\ntransfer-encoding: chunked\r"), head);
                Await.isTrue(() -> svc.subscribers("s") == 1, WAIT, "the stream is subscribed");

                List<String> updates = new ArrayList<>();
                String first = chunk(in); // the retry frame and the snapshot, written by the handler
                assertTrue(first.contains("event: snapshot\n"), first);
                for (int round = 2; round <= 6; round++) {
                    refresh(svc);
                    int want = round;
                    Await.isTrue(
                            () -> {
                                String c = chunk(in);
                                if (c.contains("event: update\n")) {
                                    updates.add(c);
                                    return number(c) == want;
                                }
                                return false;
                            },
                            WAIT,
                            "the update with n=" + round);
                }
                assertEquals(5, updates.size(), "one update per change, each in its own chunk: " + updates);
                for (int i = 0; i < updates.size(); i++) {
                    assertEquals(i + 2, number(updates.get(i)), "in order: " + updates);
                }

                svc.close(); // the server ends the stream: a closing comment, then the terminating chunk
                String last = chunk(in);
                while (!last.isEmpty()) {
                    last = chunk(in);
                }
                assertEquals(-1, in.read(), "nothing follows the terminating chunk");
            }
        }
    }

    /** Reads the response head up to its blank line. */
    private static String headers(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int tail = 0;
        while (tail != 0x0d0a0d0a) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the connection ended in the response head: " + head);
            }
            head.write(b);
            tail = (tail << 8) | b;
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    /**
     * One chunk's data, strictly (RFC 9112 7.1: hex size, CRLF, exactly that many bytes, CRLF); "" for the terminating
     * chunk. A non-empty chunk must hold whole SSE frames: it ends with a blank line.
     */
    private static String chunk(InputStream in) throws IOException {
        String sizeLine = line(in);
        assertTrue(sizeLine.matches("[0-9a-f]+"), "a chunk size line: \"" + sizeLine + "\"");
        int size = Integer.parseInt(sizeLine, 16);
        byte[] data = in.readNBytes(size);
        assertEquals(size, data.length, "the connection ended inside a chunk");
        if (size == 0) {
            assertEquals("", line(in), "the terminating chunk ends with an empty line");
            return "";
        }
        assertEquals("", line(in), "CRLF right after the chunk's " + size + " bytes");
        String text = new String(data, StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\n\n"), "a chunk of whole frames: " + text);
        return text;
    }

    /** One CRLF-terminated line, without the CRLF; a bare LF fails. */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the connection ended in a line: " + line);
            }
            if (b == '\r') {
                assertEquals('\n', in.read(), "CR is followed by LF");
                return line.toString(StandardCharsets.US_ASCII);
            }
            assertTrue(b != '\n', "a bare LF in a chunk line");
            line.write(b);
        }
    }

    private static void refresh(Service svc) throws Exception {
        HttpResponse<String> r = svc.post("/api/refresh/s", "Authorization", "Bearer " + ADMIN);
        assertEquals(200, r.statusCode(), r.body());
    }

    /** The counter in the data line of an update chunk. */
    private static int number(String chunk) throws IOException {
        for (String l : chunk.split("\n")) {
            if (l.startsWith("data: ")) {
                return Json.MAPPER
                        .readTree(l.substring(6))
                        .path("data")
                        .path("n")
                        .asInt(-1);
            }
        }
        return -1;
    }
}
