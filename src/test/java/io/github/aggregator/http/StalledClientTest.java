package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A client that stops reading but keeps its connection is dropped after writeTimeout instead of holding on forever.
 *
 * <p>The socket is real and really blocked: the stalled client has a small receive buffer and never reads, so once a
 * few 256 KB versions are in the kernel's buffers the handler's write blocks. Whether a blocked write has lasted
 * longer than writeTimeout is decided on the injected clock, which the test advances. The versions come from admin
 * refreshes, each answered once its fetch was handled and the next poll scheduled, not from stepping the clock
 * through the poll schedule: an earlier version stepped the clock one interval per fetch and waited for that fetch,
 * but a poll is rescheduled only after its result was delivered, so a step taken between the delivery and the
 * rescheduling found nothing due and the test waited for a fetch that no later step would start.
 *
 * <p>The reading client is never cut off by the clock: each round advances 0.6 × writeTimeout, then makes a version
 * and waits until the reading client has it, then advances again. The reading client's writes of that version
 * started after the first step, so at most 0.6 × writeTimeout of clock time passes under them; a write of the
 * stalled client that was already blocked when the round began has been blocked 1.2 × writeTimeout at its end.
 */
class StalledClientTest {
    private static final String ADMIN = "stalled-client-test-admin-token";
    private static final Duration STEP = Duration.ofMinutes(36); // 0.6 × writeTimeout
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void aClientWhoseWritesBlockIsDroppedAfterTheWriteTimeout() throws Exception {
        AtomicInteger n = new AtomicInteger();
        String big = "x".repeat(256 * 1024);
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream();
                Service svc = Service.start("""
                        admin:
                          token: ${ADMIN}
                        aggregator:
                          writeTimeout: 1h
                          sources:
                            - id: big
                              url: %s/data
                              interval: 24h
                        """.formatted(up.url()), Map.of("ADMIN", ADMIN), clock)) {
            up.reply(Upstream.Reply.custom(ex -> {
                byte[] body = ("{\"n\":" + n.incrementAndGet() + ",\"pad\":\"" + big + "\"}")
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }));
            // an hour's write timeout: only the clock can pass it. The day's schedule never comes: every version is a
            // refresh
            int latest = refresh(svc);
            try (Socket stalled = new Socket();
                    SseClient normal = SseClient.open(svc.client(), svc.uri("/api/sources/big/events"))) {
                stalled.setReceiveBufferSize(4096);
                stalled.connect(new InetSocketAddress("127.0.0.1", svc.port()));
                stalled.getOutputStream()
                        .write(("GET /api/sources/big/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        + "Accept: text/event-stream\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                Await.isTrue(() -> svc.subscribers("big") == 2, WAIT, "both clients subscribed");
                awaitVersion(normal, latest);

                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                int rounds = 0;
                while (svc.subscribers("big") == 2) {
                    assertTrue(
                            System.nanoTime() < deadline,
                            "the stalled client was not dropped in " + rounds + " rounds");
                    clock.advance(STEP);
                    awaitVersion(normal, refresh(svc));
                    clock.advance(STEP);
                    rounds++;
                    System.out.println("round " + rounds + ": " + svc.subscribers("big") + " subscribers");
                    // a sweep run inside advance interrupted a blocked handler: it unsubscribes on its own thread
                }
                assertEquals(1, svc.subscribers("big"), "only the stalled client was dropped");

                // the reading client is unaffected and still receives changes
                awaitVersion(normal, refresh(svc));
                assertEquals(1, svc.subscribers("big"));
                assertEquals(200, svc.get("/api/sources/big").statusCode());
            }
        }
    }

    /** {@code POST /api/refresh/big}: answered once the fetch was handled; the upstream's counter it stored. */
    private static int refresh(Service svc) throws Exception {
        HttpResponse<String> r = svc.post("/api/refresh/big", "Authorization", "Bearer " + ADMIN);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(
                "changed",
                Json.MAPPER
                        .readTree(r.body())
                        .path("results")
                        .path(0)
                        .path("result")
                        .asText(),
                r.body());
        return number(svc.get("/api/sources/big").body());
    }

    /** Reads the reading client's stream until it has delivered counter {@code n} (or a later one). */
    private static void awaitVersion(SseClient client, int n) throws Exception {
        Await.isTrue(
                () -> {
                    SseClient.Frame f = client.nextEvent(Duration.ofSeconds(2));
                    return f != null && f.data() != null && number(f.data()) >= n;
                },
                WAIT,
                "the reading client receives counter " + n);
    }

    /** The counter in an update or snapshot; -1 for an event without data (a status after a resync). */
    private static int number(String envelope) throws Exception {
        return Json.MAPPER.readTree(envelope).path("data").path("n").asInt(-1);
    }
}
