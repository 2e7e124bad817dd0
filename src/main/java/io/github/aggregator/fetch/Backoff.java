package io.github.aggregator.fetch;

import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.SourceConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.random.RandomGenerator;

/** The pure parts of the poller's decisions: backoff after failures, and how a result counts in the metrics. */
final class Backoff {
    private Backoff() {}

    static Metrics.Outcome outcome(FetchResult result) {
        return switch (result) {
            case FetchResult.Failure f -> Metrics.Outcome.FAILURE;
            case FetchResult.NotModified n -> Metrics.Outcome.NOT_MODIFIED;
            case FetchResult.Deferred d -> Metrics.Outcome.NOT_MODIFIED; // never counted: nothing was sent
            case FetchResult.Success ok -> Metrics.Outcome.SUCCESS;
            case FetchResult.Partial p -> Metrics.Outcome.SUCCESS; // only combinations are partial, never fetched
        };
    }

    /** Delay after the {@code failures}-th consecutive failure: uniform in [interval, min(max, interval * 2^n)]. */
    static long millis(SourceConfig s, int failures, RandomGenerator random) {
        long interval = s.interval().toMillis();
        long max = Math.max(interval, s.maxBackoff().toMillis());
        long ceiling = interval;
        for (int i = 0; i < failures && ceiling < max; i++) {
            ceiling = Math.min(max, ceiling * 2);
        }
        return interval + random.nextLong(ceiling - interval + 1);
    }

    /**
     * Milliseconds from the end of a fetch that took {@code elapsedMillis} to the start of the next: the interval
     * after a success; after the {@code failures}-th consecutive failure the backoff, and no sooner than its
     * Retry-After; never less than {@code minInterval}.
     */
    static long nextDelay(
            SourceConfig source,
            FetchResult result,
            int failures,
            long elapsedMillis,
            Instant now,
            RandomGenerator random) {
        long wait;
        if (result instanceof FetchResult.Failure f) {
            wait = millis(source, failures, random) - elapsedMillis;
            if (f.retryAfter() != null) {
                wait = Math.max(wait, Duration.between(now, f.retryAfter()).toMillis());
            }
        } else {
            wait = source.interval().toMillis() - elapsedMillis;
        }
        wait = Math.max(wait, source.minInterval().toMillis()); // counted from the end of this fetch
        return Math.max(0, wait);
    }
}
