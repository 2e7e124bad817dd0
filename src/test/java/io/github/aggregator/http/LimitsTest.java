package io.github.aggregator.http;

import static io.github.aggregator.http.MultiplexTest.WAIT;
import static io.github.aggregator.http.MultiplexTest.awaitTrue;
import static io.github.aggregator.http.MultiplexTest.content;
import static io.github.aggregator.http.MultiplexTest.entry;
import static io.github.aggregator.http.MultiplexTest.label;
import static io.github.aggregator.http.MultiplexTest.sources;
import static io.github.aggregator.http.MultiplexTest.up;
import static io.github.aggregator.http.MultiplexTest.version;
import static io.github.aggregator.http.MultiplexTest.yaml;
import static io.github.aggregator.http.PollingTest.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.net.InetAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Subscriber limits (503 with Retry-After, never a hang, nothing else affected) and the jittered {@code retry:}. */
class LimitsTest {
    private static final String ONE = "/api/sources/a/events";
    private static final String MANY = "/api/events?sources=a,b";

    @Test
    void aStreamBeyondMaxSubscribersGetsA503AtOnceAndNothingElseSuffers() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Service svc = Service.start(yaml("""
                        maxSubscribers: 3
                        retry: 2s
                        retrySpread: 1s
                        heartbeat: 200ms
                        """, sources("a", a, "b", b)))) {
            long va = version(svc, "a");
            version(svc, "b");
            List<SseClient> open = new ArrayList<>();
            try {
                for (String path : List.of(ONE, MANY, ONE + "?delta=json-patch")) {
                    SseClient sse = SseClient.open(svc.client(), svc.uri(path));
                    open.add(sse);
                    assertEquals(200, sse.status(), path);
                    assertNotNull(sse.next(WAIT).retry());
                    MultiplexTest.events(sse, path.equals(MANY) ? 2 : 1); // the snapshots
                }
                awaitTrue(() -> entry(svc, "a").get("subscribers").asInt() == 3, "three subscribers of a");

                for (String path : List.of(ONE, MANY, "/api/sources/b/events")) {
                    assertRefused(svc, path, 2, 3, "maximum of 3 subscribers");
                }

                // polling is not affected, nor are the open streams
                HttpResponse<String> poll = svc.get("/api/sources/a");
                assertEquals(200, poll.statusCode(), poll.body());
                assertEquals(
                        va, Json.MAPPER.readTree(poll.body()).get("version").asLong());
                assertEquals(200, svc.get("/api/sources").statusCode());
                up(a, "a", 1);
                for (SseClient sse : open) {
                    Frame f = sse.nextEvent(WAIT);
                    assertNotNull(f, "an open stream missed the update");
                    assertTrue(f.event().equals("update") || f.event().equals("patch"), f.toString());
                    assertEquals(va + 1, MultiplexTest.parse(f).get("version").asLong(), f.toString());
                }

                // closing one frees exactly one slot (noticed at the latest on the next heartbeat)
                open.removeFirst().close();
                SseClient again = awaitOpen(svc, ONE);
                open.add(again);
                assertEquals("snapshot a", label(again.nextEvent(WAIT)));
                assertRefused(svc, MANY, 2, 3, "maximum of 3 subscribers");
            } finally {
                open.forEach(SseClient::close);
            }
        }
    }

    @Test
    void aClientBeyondMaxSubscribersPerClientGetsA503AndAMultiplexedStreamCountsOnce() throws Exception {
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Service svc = Service.start(yaml("""
                        maxSubscribersPerClient: 2
                        retry: 2s
                        retrySpread: 0s
                        heartbeat: 200ms
                        """, sources("a", a, "b", b)));
                // a second client on another loopback address (Linux routes all of 127/8 to lo)
                HttpClient other = HttpClient.newBuilder()
                        .localAddress(InetAddress.getByName("127.0.0.2"))
                        .connectTimeout(Duration.ofSeconds(5))
                        .build()) {
            version(svc, "a");
            version(svc, "b");
            List<SseClient> open = new ArrayList<>();
            try {
                // one stream of two sources and one of a single source: two streams, not three
                for (String path : List.of(MANY, ONE)) {
                    SseClient sse = SseClient.open(svc.client(), svc.uri(path));
                    open.add(sse);
                    assertEquals(200, sse.status(), path);
                    assertNotNull(sse.next(WAIT).retry());
                }
                for (String path : List.of("/api/sources/b/events", MANY, "/api/events")) {
                    assertRefused(svc, path, 2, 2, "this client has reached its maximum of 2");
                }
                // another address is another client
                for (String path : List.of(ONE, MANY)) {
                    SseClient sse = SseClient.open(other, svc.uri(path));
                    open.add(sse);
                    assertEquals(200, sse.status(), "from 127.0.0.2: " + path);
                    assertNotNull(sse.next(WAIT).retry());
                }
                assertEquals(200, svc.get("/api/sources/a").statusCode(), "polling is not limited");

                open.removeFirst().close();
                open.add(awaitOpen(svc, "/api/sources/b/events"));
                assertRefused(svc, ONE, 2, 2, "this client has reached its maximum of 2");
            } finally {
                open.forEach(SseClient::close);
            }
        }
    }

    @Test
    void retryIsSpreadOverRetryPlusRetrySpread() throws Exception {
        Set<Long> spread = retries("retry: 2s\nretrySpread: 1s", 30);
        assertTrue(spread.stream().allMatch(v -> v >= 2000 && v <= 3000), "retry: values " + spread);
        assertTrue(spread.size() > 1, "30 clients all told the same retry: " + spread);

        assertEquals(Set.of(2000L), retries("retry: 2s\nretrySpread: 0s", 30));
    }

    /** The distinct {@code retry:} values that {@code n} streams (half single, half multiplexed) were given. */
    private static Set<Long> retries(String settings, int n) throws Exception {
        Set<Long> values = new TreeSet<>();
        try (Upstream a = new Upstream().json(content("a", 0));
                Upstream b = new Upstream().json(content("b", 0));
                Service svc = Service.start(yaml(settings + "\nheartbeat: 200ms", sources("a", a, "b", b)))) {
            for (int i = 0; i < n; i++) {
                try (SseClient sse = SseClient.open(svc.client(), svc.uri(i % 2 == 0 ? ONE : MANY))) {
                    assertEquals(200, sse.status());
                    Frame retry = sse.next(WAIT);
                    assertNotNull(retry);
                    assertNotNull(retry.retry(), "the first frame is retry: " + retry);
                    assertTrue(retry.retry().matches("[0-9]+"), retry.retry());
                    values.add(Long.parseLong(retry.retry()));
                }
            }
        }
        return values;
    }

    /**
     * Asserts that opening {@code path} is refused, never held open: a complete answer (the whole body, so no stream
     * was opened nor the request parked until a slot frees), 503, a Retry-After of whole seconds in [min, max], and a
     * problem+json body whose detail contains {@code why}.
     */
    private static void assertRefused(Service svc, String path, long min, long max, String why) throws Exception {
        HttpResponse<String> r = MultiplexTest.refusal(svc, path);
        assertProblem(r, 503);
        String retryAfter = r.headers().firstValue("Retry-After").orElse("");
        assertTrue(retryAfter.matches("[0-9]+"), "Retry-After: " + retryAfter);
        long seconds = Long.parseLong(retryAfter);
        assertTrue(seconds >= min && seconds <= max, "Retry-After: " + retryAfter);
        String detail = Json.MAPPER.readTree(r.body()).get("detail").asText();
        assertTrue(detail.contains(why), detail);
    }

    /** Opens {@code path} as soon as a slot is free (a closed stream is noticed on a later write). */
    private static SseClient awaitOpen(Service svc, String path) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            SseClient sse = SseClient.open(svc.client(), svc.uri(path));
            if (sse.status() == 200) {
                assertNotNull(sse.next(WAIT).retry());
                return sse;
            }
            sse.close();
            assertEquals(503, sse.status());
            assertTrue(System.nanoTime() < deadline, "no slot freed within " + WAIT);
            Thread.sleep(50);
        }
    }
}
