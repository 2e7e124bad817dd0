package io.github.aggregator.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.TestSources;
import io.github.aggregator.testing.Upstream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An upstream's rate-limit reset holds the next fetch until that instant exactly, however long the service then takes
 * to handle the answer: the time spent storing and delivering a result is taken off the interval, and the hold is
 * counted from the same moment, so it does not move the next fetch before the reset. A real upstream, the poller on the
 * test clock, and a result listener that moves the clock on as slow result handling would.
 */
class RateLimitScheduleTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Duration HANDLING = Duration.ofMillis(250);

    @Test
    void theNextFetchIsDueAtTheResetEvenWhenHandlingTheAnswerTookTime() throws Exception {
        TestClock clock = new TestClock();
        Instant reset = clock.instant().plusSeconds(30);
        Map<String, String> headers = Map.of(
                "Content-Type", "application/json",
                "X-RateLimit-Remaining", "0",
                "X-RateLimit-Reset", Long.toString(reset.getEpochSecond()));
        try (Upstream up = new Upstream()
                .reply(new Upstream.Reply(200, headers, "{\"v\":1}".getBytes(StandardCharsets.UTF_8), null))) {
            SourceConfig s = TestSources.polled(
                    "limited",
                    URI.create(up.url() + "/limited"),
                    Duration.ofSeconds(1),
                    SourceConfig.Poll.ALWAYS,
                    null,
                    null);
            try (Poller poller = new Poller(
                    clock,
                    new SourceRegistry(AggregatorConfig.of(List.of(s))),
                    c -> new Fetcher(
                            c, AggregatorConfig.DEFAULT_USER_AGENT, () -> URI.create("http://127.0.0.1:9/"), clock),
                    (c, r, at) -> clock.advance(HANDLING), // storing and delivering the result takes a while
                    id -> false,
                    id -> true,
                    () -> 0L, // no start jitter: the first fetch is due at once
                    new Metrics())) {
                poller.start(List.of(s), id -> null);
                CompletableFuture<Void> first = poller.nextCompletion("limited").orElseThrow();
                clock.advance(Duration.ZERO);
                first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(1, up.hits());
                assertEquals(
                        reset,
                        poller.state("limited").orElseThrow().nextFetchAt(),
                        "due at the reset, not " + HANDLING + " before it");

                clock.advance(Duration.between(clock.instant(), reset).minusMillis(1));
                assertEquals(1, up.hits(), "a request before the reset");
                clock.advance(Duration.ofMillis(1));
                Await.until(up::hits, n -> n >= 2, WAIT);
            }
        }
    }
}
