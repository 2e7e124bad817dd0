package io.github.aggregator.http;

import static io.github.aggregator.http.TransformTest.await;
import static io.github.aggregator.http.TransformTest.awaitTrue;
import static io.github.aggregator.http.TransformTest.json;
import static io.github.aggregator.http.TransformTest.nextData;
import static io.github.aggregator.http.TransformTest.send;
import static io.github.aggregator.http.TransformTest.source;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * {@code poll: on-demand}: an upstream is called only while someone reads it, against a real service and a real
 * scripted upstream on loopback. An always-polled sibling source is the clock: "no request to the on-demand upstream"
 * is asserted after the sibling was fetched several more times, never after a guessed sleep.
 */
class OnDemandTest {

    @Test
    void idleAtStartThenTheFirstReadsShareOneFetch() throws Exception {
        AtomicLong answeredAt = new AtomicLong();
        try (Upstream up = upstream(Duration.ofMillis(800), answeredAt);
                Service svc = Service.start(TransformTest.yaml(
                        source("lazy", up.url() + "/lazy", "10s", "poll: on-demand"),
                        source("eager", up.url() + "/eager", "200ms")))) {
            awaitTrue(() -> hits(up, "/eager") >= 5, "the always-polled source was fetched five times");
            assertEquals(0, hits(up, "/lazy"), "an idle on-demand source is never fetched");

            JsonNode lazy = listed(svc, "lazy");
            assertEquals("idle", lazy.get("state").asText(), lazy.toString());
            assertEquals("on-demand", lazy.get("poll").asText(), lazy.toString());
            assertEquals(0, lazy.get("version").asLong(), lazy.toString());
            assertTrue(lazy.get("nextFetchAt").isNull(), lazy.toString());
            JsonNode eager = listed(svc, "eager");
            assertEquals("active", eager.get("state").asText(), eager.toString());
            assertEquals("always", eager.get("poll").asText(), eager.toString());

            // 20 reads at once: one upstream call, whose result every one of them gets
            List<HttpResponse<String>> responses = new ArrayList<>();
            List<Long> doneAt = new ArrayList<>();
            CountDownLatch go = new CountDownLatch(1);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<HttpResponse<String>>> futures = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    futures.add(pool.submit(() -> {
                        go.await();
                        HttpResponse<String> r = svc.get("/api/sources/lazy");
                        synchronized (doneAt) {
                            doneAt.add(System.nanoTime());
                        }
                        return r;
                    }));
                }
                go.countDown();
                for (Future<HttpResponse<String>> f : futures) {
                    responses.add(f.get());
                }
            }
            for (HttpResponse<String> r : responses) {
                JsonNode env = json(r);
                assertEquals(1, env.get("version").asLong(), r.body());
                assertEquals(1, env.get("data").get("n").asInt(), r.body());
            }
            assertEquals(1, hits(up, "/lazy"), "one fetch shared by 20 concurrent reads");
            for (long t : doneAt) {
                assertTrue(t >= answeredAt.get(), "a read was answered before the upstream answered");
            }

            lazy = listed(svc, "lazy");
            assertEquals("active", lazy.get("state").asText(), lazy.toString());
            assertEquals(1, lazy.get("version").asLong(), lazy.toString());
            assertTrue(lazy.hasNonNull("nextFetchAt"), lazy.toString());
        }
    }

    @Test
    void aWakingReadWaitsAtMostTheColdWait() throws Exception {
        try (Upstream up = upstream(Duration.ofMillis(3000), new AtomicLong());
                Service svc = Service.start("aggregator:\n  coldWait: 500ms\n  sources:\n"
                        + source("lazy", up.url() + "/lazy", "10s", "poll: on-demand"))) {
            long start = System.nanoTime();
            HttpResponse<String> r = svc.get("/api/sources/lazy");
            long millis = (System.nanoTime() - start) / 1_000_000;
            PollingTest.assertProblem(r, 503);
            assertTrue(r.headers().firstValue("Retry-After").isPresent(), "Retry-After");
            assertTrue(millis >= 450, "waited for the fetch it woke, only " + millis + " ms");
            assertTrue(millis < 2500, "waited " + millis + " ms, more than the cold wait of 500 ms");

            // the fetch it started lands and is served; still one upstream call
            JsonNode env = json(await(() -> svc.get("/api/sources/lazy"), x -> x.statusCode() == 200));
            assertEquals(1, env.get("data").get("n").asInt());
            assertEquals(1, hits(up, "/lazy"));
        }
    }

    @Test
    void aSubscriberKeepsItPolledAndItIdlesOnceTheSubscriberIsGoneForIdleAfter() throws Exception {
        Duration idleAfter = Duration.ofSeconds(1);
        try (Upstream up = upstream(Duration.ZERO, new AtomicLong());
                Service svc = Service.start("aggregator:\n  heartbeat: 100ms\n  sources:\n"
                        + source("lazy", up.url() + "/lazy", "200ms", "poll: on-demand", "idleAfter: 1s")
                        + source("eager", up.url() + "/eager", "200ms"))) {
            awaitTrue(() -> hits(up, "/eager") >= 3, "the always-polled source was fetched three times");
            assertEquals(0, hits(up, "/lazy"));

            long closedAt;
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/lazy/events"))) {
                Frame first = nextData(sse);
                assertNotNull(first, "subscribing to an idle on-demand source wakes it");
                assertEquals("snapshot", first.event(), first.toString());

                // polled every interval for well over idleAfter while the subscriber stays
                awaitTrue(() -> hits(up, "/lazy") >= 12, "the on-demand source was fetched 12 times");
                JsonNode lazy = listed(svc, "lazy");
                assertEquals("active", lazy.get("state").asText(), lazy.toString());
                assertEquals(1, lazy.get("subscribers").asInt(), lazy.toString());
                Frame update = nextData(sse);
                assertNotNull(update, "the subscriber sees the changes");
                assertEquals("update", update.event());
                closedAt = System.nanoTime();
            }
            await(() -> listed(svc, "lazy"), s -> s.get("subscribers").asInt() == 0);
            JsonNode idle = await(
                    () -> listed(svc, "lazy"), s -> s.get("state").asText().equals("idle"));
            long idleAfterMillis = (System.nanoTime() - closedAt) / 1_000_000;
            assertTrue(
                    idleAfterMillis >= idleAfter.toMillis(),
                    "went idle " + idleAfterMillis + " ms after the subscriber left, before idleAfter");
            assertTrue(idle.get("nextFetchAt").isNull(), idle.toString());

            int atIdle = hits(up, "/lazy");
            int eager = hits(up, "/eager");
            awaitTrue(() -> hits(up, "/eager") >= eager + 5, "the always-polled source was fetched five more times");
            assertEquals(atIdle, hits(up, "/lazy"), "no request once idle");
        }
    }

    @Test
    void aJsonReadKeepsItPolledForIdleAfterAndTheNextReadWakesIt() throws Exception {
        try (Upstream up = upstream(Duration.ZERO, new AtomicLong());
                Service svc = Service.start(TransformTest.yaml(
                        source("lazy", up.url() + "/lazy", "200ms", "poll: on-demand", "idleAfter: 600ms"),
                        source("eager", up.url() + "/eager", "200ms")))) {
            awaitTrue(() -> hits(up, "/eager") >= 3, "the always-polled source was fetched three times");
            assertEquals(0, hits(up, "/lazy"));

            long readAt = System.nanoTime();
            JsonNode first = json(svc.get("/api/sources/lazy"));
            assertEquals(1, first.get("version").asLong(), first.toString());
            await(() -> listed(svc, "lazy"), s -> s.get("state").asText().equals("idle"));
            long activeMillis = (System.nanoTime() - readAt) / 1_000_000;
            assertTrue(activeMillis >= 600, "idle " + activeMillis + " ms after a read, before idleAfter");
            int atIdle = hits(up, "/lazy");
            assertTrue(atIdle >= 2, "polled every interval after the read, not fetched once: " + atIdle);
            assertTrue(atIdle <= 6, "polled for about idleAfter (3 intervals), not longer: " + atIdle);

            int eager = hits(up, "/eager");
            awaitTrue(() -> hits(up, "/eager") >= eager + 5, "the always-polled source was fetched five more times");
            assertEquals(atIdle, hits(up, "/lazy"), "no request once idle");

            // the next read wakes it with a fresh fetch, and waits for it
            JsonNode again = json(svc.get("/api/sources/lazy"));
            assertEquals(atIdle + 1, again.get("data").get("n").asInt(), again.toString());
            assertTrue(again.get("version").asLong() > first.get("version").asLong(), again.toString());
            assertEquals("active", listed(svc, "lazy").get("state").asText());
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /**
     * An upstream answering {@code {"n": <calls of this path>}}; {@code /lazy} answers only after {@code lazyDelay}
     * (the first call) and stores the time it answered in {@code answeredAt}.
     */
    static Upstream upstream(Duration lazyDelay, AtomicLong answeredAt) {
        ConcurrentHashMap<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        return new Upstream().reply(Upstream.Reply.custom(exchange -> {
            String path = exchange.getRequestURI().getPath();
            int n = calls.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            if (path.equals("/lazy") && n == 1 && !lazyDelay.isZero()) {
                Thread.sleep(lazyDelay.toMillis());
            }
            if (path.equals("/lazy")) {
                answeredAt.compareAndSet(0, System.nanoTime());
            }
            send(exchange, "application/json", "{\"n\":" + n + "}");
        }));
    }

    static int hits(Upstream up, String path) {
        return (int) up.requests().stream()
                .filter(r -> r.uri().getPath().equals(path))
                .count();
    }

    /** The entry of {@code id} in {@code GET /api/sources}. */
    static JsonNode listed(Service svc, String id) {
        for (JsonNode s : json(svc.get("/api/sources")).get("sources")) {
            if (s.get("id").asText().equals(id)) {
                return s;
            }
        }
        throw new AssertionError("no source " + id + " in /api/sources");
    }
}
