package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A client that stops reading but keeps its connection is dropped after writeTimeout instead of holding on forever. */
class StalledClientTest {

    @Test
    void aClientWhoseWritesBlockIsDroppedAfterTheWriteTimeout() throws Exception {
        AtomicInteger n = new AtomicInteger();
        String big = "x".repeat(256 * 1024);
        try (Upstream up = new Upstream();
                Service svc = Service.start("""
                        aggregator:
                          writeTimeout: 1s
                          sources:
                            - id: big
                              url: %s/data
                              interval: 200ms
                        """.formatted(up.url()))) {
            up.reply(Upstream.Reply.custom(ex -> {
                byte[] body = ("{\"n\":" + n.incrementAndGet() + ",\"pad\":\"" + big + "\"}")
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }));
            try (Socket stalled = new Socket();
                    SseClient normal = SseClient.open(svc.client(), svc.uri("/api/sources/big/events"))) {
                stalled.setReceiveBufferSize(4096);
                stalled.connect(new InetSocketAddress("127.0.0.1", svc.port()));
                stalled.getOutputStream()
                        .write(("GET /api/sources/big/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        + "Accept: text/event-stream\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                Await.isTrue(() -> svc.subscribers("big") == 2, Duration.ofSeconds(5), "both clients subscribed");
                // the stalled client never reads: its socket buffers fill within a few updates, then its writes
                // block; after writeTimeout the service drops it
                Await.isTrue(
                        () -> svc.subscribers("big") == 1, Duration.ofSeconds(15), "the stalled client was dropped");
                // the reading client is unaffected and still receives changes
                int before = n.get();
                Await.isTrue(
                        () -> {
                            SseClient.Frame f = normal.nextEvent(Duration.ofSeconds(2));
                            return f != null && f.data() != null && number(f.data()) > before;
                        },
                        Duration.ofSeconds(10),
                        "the reading client receives a newer version");
                assertNotNull(svc.get("/api/sources/big").body());
                assertEquals(200, svc.get("/api/sources/big").statusCode());
            }
        }
    }

    /** The counter in an update or snapshot; -1 for an event without data (a status after a resync). */
    private static int number(String envelope) throws Exception {
        return Json.MAPPER.readTree(envelope).path("data").path("n").asInt(-1);
    }
}
