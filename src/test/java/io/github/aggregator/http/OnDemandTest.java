package io.github.aggregator.http;

import static io.github.aggregator.http.TransformTest.await;
import static io.github.aggregator.http.TransformTest.json;
import static io.github.aggregator.http.TransformTest.nextData;
import static io.github.aggregator.http.TransformTest.send;
import static io.github.aggregator.http.TransformTest.source;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * {@code poll: on-demand}: an upstream is called only while someone reads it, against a real service and a real
 * scripted upstream on loopback. Polling, idleAfter and heartbeats run on a {@link TestClock} that the tests advance
 * ({@link Service#step}), so "no request once idle" is asserted after the clock moved minutes, not after a sleep.
 */
class OnDemandTest {

    @Test
    void idleAtStartThenTheFirstReadsShareOneFetch() throws Exception {
        AtomicLong answeredAt = new AtomicLong();
        TestClock clock = new TestClock();
        try (Upstream up = upstream(Duration.ofMillis(800), answeredAt);
                Service svc = Service.start(
                        TransformTest.yaml(
                                source("lazy", up.url() + "/lazy", "10s", "poll: on-demand"),
                                source("eager", up.url() + "/eager", "200ms")),
                        Map.of(),
                        clock)) {
            // just past the start jitter (at most a tenth of the interval): the always-polled source's first fetch. A
            // step longer than the interval could count one fetch more: the clock stands at each task's due time while
            // it runs the tasks of a step, and a fetch that ends meanwhile schedules its next within the same step
            svc.step(clock, Duration.ofMillis(20));
            for (int i = 0; i < 4; i++) {
                svc.step(clock, Duration.ofMillis(200));
            }
            assertEquals(5, hits(up, "/eager"), "the always-polled source, once per interval");
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

            svc.settle(clock);
            lazy = listed(svc, "lazy");
            assertEquals("active", lazy.get("state").asText(), lazy.toString());
            assertEquals(1, lazy.get("version").asLong(), lazy.toString());
            assertTrue(lazy.hasNonNull("nextFetchAt"), lazy.toString());
        }
    }

    /**
     * The read that wakes an idle source waits for the fetch it started for at most {@code coldWait} (a real wait of
     * the request, against an upstream that has not answered): it gets a 503 while the upstream still holds the
     * request, and the fetch lands afterwards.
     */
    @Test
    void aWakingReadWaitsAtMostTheColdWait() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean answered = new AtomicBoolean();
        AtomicInteger calls = new AtomicInteger();
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(exchange -> {
                    int n = calls.incrementAndGet();
                    release.await(30, TimeUnit.SECONDS);
                    answered.set(true);
                    send(exchange, "application/json", "{\"n\":" + n + "}");
                }));
                Service svc = Service.start("aggregator:\n  coldWait: 500ms\n  sources:\n"
                        + source("lazy", up.url() + "/lazy", "10s", "poll: on-demand", "timeout: 60s"))) {
            HttpResponse<String> r = svc.get("/api/sources/lazy");
            PollingTest.assertProblem(r, 503);
            assertTrue(r.headers().firstValue("Retry-After").isPresent(), "Retry-After");
            assertEquals(1, hits(up, "/lazy"), "the read woke the source: its fetch reached the upstream");
            assertFalse(answered.get(), "the read waited for the upstream's answer, not for coldWait");

            // the fetch it started lands and is served; still one upstream call
            release.countDown();
            JsonNode env = json(await(() -> svc.get("/api/sources/lazy"), x -> x.statusCode() == 200));
            assertEquals(1, env.get("data").get("n").asInt());
            assertEquals(1, hits(up, "/lazy"));
        }
    }

    /**
     * On the test clock: a subscriber keeps the source polled every interval far beyond idleAfter; once it left, the
     * source stays polled for idleAfter (counted from when the stream ended, which the test brackets between two
     * clock readings 50 ms apart) and goes idle at the next scheduled fetch, after which no request comes.
     */
    @Test
    void aSubscriberKeepsItPolledAndItIdlesOnceTheSubscriberIsGoneForIdleAfter() throws Exception {
        Duration idleAfter = Duration.ofSeconds(1);
        Duration interval = Duration.ofMillis(200);
        Duration tick = Duration.ofMillis(50); // half the heartbeat
        TestClock clock = new TestClock();
        try (Upstream up = upstream(Duration.ZERO, new AtomicLong());
                Service svc = Service.start(
                        "aggregator:\n  heartbeat: 100ms\n  sources:\n"
                                + source("lazy", up.url() + "/lazy", "200ms", "poll: on-demand", "idleAfter: 1s"),
                        Map.of(),
                        clock)) {
            svc.step(clock, Duration.ofMinutes(1));
            assertEquals(0, hits(up, "/lazy"));

            Instant stillThere;
            Instant gone;
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/lazy/events"))) {
                Frame first = nextData(sse);
                assertNotNull(first, "subscribing to an idle on-demand source wakes it");
                assertEquals("snapshot", first.event(), first.toString());
                svc.settle(clock);

                // polled every interval for 2.4 s of the clock, well over idleAfter, while the subscriber stays
                for (int i = 1; i <= 12; i++) {
                    svc.step(clock, interval);
                    assertEquals(1 + i, hits(up, "/lazy"), "one fetch per interval while subscribed");
                }
                JsonNode lazy = listed(svc, "lazy");
                assertEquals("active", lazy.get("state").asText(), lazy.toString());
                assertEquals(1, lazy.get("subscribers").asInt(), lazy.toString());
                Frame update = nextData(sse);
                assertNotNull(update, "the subscriber sees the changes");
                assertEquals("update", update.event());
                stillThere = clock.instant();
            }
            // the server notices the closed connection when its next writes (heartbeats, updates) fail
            int steps = 0;
            while (listed(svc, "lazy").get("subscribers").asInt() > 0) {
                assertTrue(steps++ < 200, "the stream of a closed client did not end");
                stillThere = clock.instant();
                svc.step(clock, tick);
            }
            gone = clock.instant();
            // the stream ended between stillThere and gone: active until idleAfter after that, idle at the next
            // scheduled fetch
            while (clock.instant().isBefore(stillThere.plus(idleAfter))) {
                assertEquals("active", listed(svc, "lazy").get("state").asText(), "idle before idleAfter passed");
                svc.step(clock, tick);
            }
            while (!listed(svc, "lazy").get("state").asText().equals("idle")) {
                assertTrue(
                        !clock.instant().isAfter(gone.plus(idleAfter).plus(interval)),
                        "still polled at " + clock.instant() + ", left by " + gone);
                svc.step(clock, tick);
            }
            JsonNode idle = listed(svc, "lazy");
            assertTrue(idle.get("nextFetchAt").isNull(), idle.toString());

            int atIdle = hits(up, "/lazy");
            svc.step(clock, Duration.ofMinutes(10));
            assertEquals(atIdle, hits(up, "/lazy"), "no request once idle");
        }
    }

    /**
     * On the test clock: a JSON read at t wakes the source (one fetch at once); it is polled at t + 200 ms and t + 400
     * ms, and the scheduled fetch at t + 600 ms (idleAfter after the read) finds it unread: idle, no request. Ten
     * minutes later there has been none; the next read wakes it with a fresh fetch.
     */
    @Test
    void aJsonReadKeepsItPolledForIdleAfterAndTheNextReadWakesIt() throws Exception {
        TestClock clock = new TestClock();
        try (Upstream up = upstream(Duration.ZERO, new AtomicLong());
                Service svc = Service.start(
                        TransformTest.yaml(
                                source("lazy", up.url() + "/lazy", "200ms", "poll: on-demand", "idleAfter: 600ms")),
                        Map.of(),
                        clock)) {
            svc.step(clock, Duration.ofMinutes(1));
            assertEquals(0, hits(up, "/lazy"));

            JsonNode first = json(svc.get("/api/sources/lazy"));
            assertEquals(1, first.get("version").asLong(), first.toString());
            svc.settle(clock);
            for (int n = 2; n <= 3; n++) {
                svc.step(clock, Duration.ofMillis(200));
                assertEquals(n, hits(up, "/lazy"), "polled every interval within idleAfter of the read");
                assertEquals("active", listed(svc, "lazy").get("state").asText());
            }
            svc.step(clock, Duration.ofMillis(200)); // idleAfter after the read
            assertEquals("idle", listed(svc, "lazy").get("state").asText());
            assertEquals(3, hits(up, "/lazy"), "the fetch due idleAfter after the read is not made");

            svc.step(clock, Duration.ofMinutes(10));
            assertEquals(3, hits(up, "/lazy"), "no request once idle");

            // the next read wakes it with a fresh fetch, and waits for it
            JsonNode again = json(svc.get("/api/sources/lazy"));
            assertEquals(4, again.get("data").get("n").asInt(), again.toString());
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
