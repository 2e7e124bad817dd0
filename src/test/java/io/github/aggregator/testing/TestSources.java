package io.github.aggregator.testing;

import io.github.aggregator.source.SourceConfig;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Sources for tests that build one without a config file: a plain GET of {@code url}, no headers or transform. */
public final class TestSources {
    private TestSources() {}

    /**
     * A source polled every {@code interval}; a null {@code poll}, {@code idleAfter}, {@code minInterval} or {@code
     * maxBackoff} takes the default.
     */
    public static SourceConfig of(
            String id,
            URI url,
            Duration interval,
            Duration timeout,
            SourceConfig.Poll poll,
            Duration idleAfter,
            Duration minInterval,
            Duration maxBackoff) {
        return new SourceConfig(
                id,
                url,
                interval,
                timeout,
                Map.of(),
                null,
                true,
                SourceConfig.DEFAULT_MAX_BODY_SIZE,
                null,
                null,
                poll,
                idleAfter,
                minInterval,
                maxBackoff,
                List.of(),
                null);
    }

    /** {@link #of} with a 5 s timeout and the default backoff. */
    public static SourceConfig polled(
            String id, URI url, Duration interval, SourceConfig.Poll poll, Duration minInterval, Duration idleAfter) {
        return of(id, url, interval, Duration.ofSeconds(5), poll, idleAfter, minInterval, null);
    }
}
