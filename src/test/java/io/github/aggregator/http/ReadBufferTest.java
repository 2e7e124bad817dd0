package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http1.Http1Config;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A stream's connection holds a small socket read buffer while it streams ({@link ReadBuffer}): on the running
 * service, and on a bare Helidon server with the same listeners, where the full-size buffer is back once the
 * handler is done and the connection's next request (with a header block many times the small buffer) is read and
 * answered.
 */
class ReadBufferTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int FULL = 8 * 1024;

    @Test
    void aStreamingConnectionHoldsASmallReadBufferAndAnIdleOneAFullOne() throws Exception {
        try (Upstream up = new Upstream();
                Service svc = Service.start("""
                        aggregator:
                          sources:
                            - id: a
                              url: %s/a
                              interval: 1h
                        """.formatted(up.url()))) {
            up.reply(Upstream.Reply.json("{\"n\":1}"));
            assertEquals(200, svc.get("/api/sources/a").statusCode());
            try (Socket stream = new Socket("127.0.0.1", svc.port());
                    Socket idle = new Socket("127.0.0.1", svc.port())) {
                send(idle, "GET /api/sources/a HTTP/1.1\r\nHost: x\r\n\r\n");
                assertTrue(statusLine(idle).contains(" 200 "));
                send(stream, "GET /api/sources/a/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
                BufferedReader events = reader(stream);
                assertTrue(events.readLine().contains(" 200 "));
                for (String line = events.readLine(); line != null && !line.startsWith("data:"); ) {
                    line = events.readLine();
                }
                // the idle kept-alive connection keeps its full buffer; the stream's is the small one
                List<Integer> lengths = Await.until(
                        () -> svc.connections().readBufferLengths(),
                        l -> l.contains(ReadBuffer.STREAMING) && l.contains(FULL),
                        WAIT);
                assertEquals(1, Collections.frequency(lengths, ReadBuffer.STREAMING), lengths.toString());
            }
        }
    }

    @Test
    void theFullBufferIsBackAfterTheHandlerAndTheNextRequestIsReadWhole() throws Exception {
        List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
        try (ConnectionLimits limits = new ConnectionLimits(Duration.ofSeconds(10), Duration.ofSeconds(60))) {
            WebServer server = WebServer.builder()
                    .host("127.0.0.1")
                    .port(0)
                    .useNio(false) // the service's default (ServerDefaults): Helidon's plain socket
                    .addProtocol(Http1Config.builder()
                            .name("http_1_1")
                            .addReceiveListener(limits.receiveListener())
                            .addSendListener(limits.sendListener())
                            .build())
                    .routing(r -> r.get("/stream", (req, res) -> {
                        var socket = limits.socket(req.socketId());
                        seen.add(ReadBuffer.length(socket));
                        try (ReadBuffer.Release released = ReadBuffer.shrink(socket)) {
                            seen.add(ReadBuffer.length(socket));
                        }
                        seen.add(ReadBuffer.length(socket));
                        // another connection's id: not this thread's connection
                        seen.add(limits.socket(req.socketId() + "-other") == null ? 0 : 1);
                        res.send("ok");
                    }))
                    .build()
                    .start();
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                send(s, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
                BufferedReader in = reader(s);
                assertTrue(in.readLine().contains(" 200 "));
                assertEquals(List.of(FULL, ReadBuffer.STREAMING, FULL, 0), List.copyOf(seen));
                skipResponse(in);
                // a header block many times the small buffer, on the same connection: read whole with the full one
                send(s, "GET /stream HTTP/1.1\r\nHost: x\r\nX-Pad: " + "p".repeat(6000) + "\r\n\r\n");
                assertTrue(in.readLine().contains(" 200 "));
            } finally {
                server.stop();
            }
        }
        try (ConnectionLimits other = new ConnectionLimits(Duration.ofSeconds(1), Duration.ofSeconds(1))) {
            assertNull(other.socket("any")); // a thread that serves no connection
        }
    }

    private static void send(Socket s, String request) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static BufferedReader reader(Socket s) throws Exception {
        s.setSoTimeout((int) WAIT.toMillis());
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
    }

    private static String statusLine(Socket s) throws Exception {
        return reader(s).readLine();
    }

    /** Reads the rest of a response with a Content-Length body of "ok". */
    private static void skipResponse(BufferedReader in) throws Exception {
        String line;
        while ((line = in.readLine()) != null && !line.isEmpty()) {
            // headers
        }
        char[] body = new char[2];
        assertEquals(2, in.read(body));
    }
}
