package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.Scheduler;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A read that comes before a source's first fetch has finished waits for it up to {@code coldWait} on the injected
 * clock, then answers 503. The cold-wait here is ten minutes of clock time against a client that gives up after 30 s of
 * real time, so only the clock can end the wait in time.
 */
class ColdWaitTest {
    private static final Duration COLD_WAIT = Duration.ofMinutes(10);
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    @Timeout(120)
    void aReadWaitsForTheFirstFetchUntilTheClockPassesColdWaitThenAnswers503() throws Exception {
        TestClock clock = new TestClock();
        Noting time = new Noting(clock);
        CountDownLatch asked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        String yaml = """
                aggregator:
                  coldWait: 10m
                  sources:
                    - id: cold
                      url: %s/cold
                      interval: 1h
                      timeout: 5m
                """;
        try (Upstream up = new Upstream();
                var readers = Executors.newVirtualThreadPerTaskExecutor()) {
            up.reply(Upstream.Reply.custom(ex -> {
                asked.countDown();
                release.await(); // the first fetch hangs until the test lets it answer
                byte[] body = "{\"v\":1}".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }));
            try (Service svc = Service.start(yaml.formatted(up.url()), Map.of(), time)) {
                try {
                    CompletableFuture<HttpResponse<String>> read =
                            CompletableFuture.supplyAsync(() -> svc.get("/api/sources/cold"), readers);
                    Await.isTrue(() -> asked.getCount() == 0, WAIT, "the read started the first fetch");
                    Await.isTrue(() -> time.delays.contains(COLD_WAIT), WAIT, "the read's cold-wait is on the clock");

                    clock.advance(COLD_WAIT.minusMillis(1));
                    // the cold-wait's timer runs inside advance() once due; it was not, so the read still waits
                    assertFalse(read.isDone(), "the read ended before the clock passed coldWait: " + read);

                    clock.advance(Duration.ofMillis(1));
                    HttpResponse<String> r = read.get();
                    assertEquals(503, r.statusCode(), r.body());
                    assertTrue(r.body().contains("has no data yet"), r.body());
                    assertTrue(
                            r.headers().firstValue("Retry-After").isPresent(),
                            r.headers().toString());
                } finally {
                    release.countDown();
                }
                // once the fetch answers, the next read has the data
                HttpResponse<String> after =
                        Await.until(() -> svc.get("/api/sources/cold"), x -> x.statusCode() == 200, WAIT);
                assertTrue(after.body().contains("\"v\":1"), after.body());
            }
        }
    }

    /** The test clock, noting the delay of every task scheduled on it. */
    private static final class Noting implements Scheduler {
        final List<Duration> delays = new CopyOnWriteArrayList<>();
        private final TestClock clock;

        Noting(TestClock clock) {
            this.clock = clock;
        }

        @Override
        public Instant instant() {
            return clock.instant();
        }

        @Override
        public long nanoTime() {
            return clock.nanoTime();
        }

        @Override
        public Future<?> schedule(Runnable task, Duration delay) {
            delays.add(delay);
            return clock.schedule(task, delay);
        }

        @Override
        public boolean isShutdown() {
            return clock.isShutdown();
        }

        @Override
        public void close() {
            clock.close();
        }
    }
}
