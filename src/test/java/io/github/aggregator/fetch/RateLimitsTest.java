package io.github.aggregator.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Both header styles, read by {@link RateLimits#quietUntil}: when they say none remain, until when. */
class RateLimitsTest {
    private static final Instant NOW = Instant.parse("2024-03-01T12:00:00Z");

    static Stream<Arguments> headers() {
        long epoch = NOW.getEpochSecond() + 42;
        return Stream.of(
                // IETF draft, current form
                Arguments.of(Map.of("RateLimit", "\"default\";r=0;t=30"), 30L),
                Arguments.of(Map.of("RateLimit", "\"default\";r=5;t=30"), null),
                Arguments.of(Map.of("RateLimit", "\"burst\";r=3;t=1, \"day\";r=0;t=3600"), 3600L),
                Arguments.of(Map.of("RateLimit", "\"default\";r=0", "RateLimit-Policy", "\"default\";q=100;w=60"), 60L),
                Arguments.of(Map.of("RateLimit", "\"default\";r=0"), null), // no reset given: nothing to wait for
                // IETF draft, earlier forms
                Arguments.of(Map.of("RateLimit", "limit=100, remaining=0, reset=7"), 7L),
                Arguments.of(Map.of("RateLimit", "limit=100, remaining=9, reset=7"), null),
                Arguments.of(Map.of("RateLimit-Remaining", "0", "RateLimit-Reset", "12"), 12L),
                // the common X- headers: seconds, epoch seconds (GitHub), epoch milliseconds
                Arguments.of(Map.of("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "15"), 15L),
                Arguments.of(Map.of("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", Long.toString(epoch)), 42L),
                Arguments.of(
                        Map.of("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", Long.toString(epoch * 1000)), 42L),
                Arguments.of(Map.of("X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "15"), null),
                Arguments.of(Map.of("X-RateLimit-Remaining", "0"), null),
                Arguments.of(Map.of("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "soon"), null),
                // a reset in the past is no wait; a huge one is capped at a day
                Arguments.of(Map.of("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1000000001"), null),
                Arguments.of(Map.of("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "999999999"), 86400L),
                Arguments.of(Map.of("RateLimit", "\"d\";r=0;t=999999999999"), 86400L),
                Arguments.of(Map.of(), null));
    }

    @ParameterizedTest
    @MethodSource("headers")
    void quietUntilTheReset(Map<String, String> headers, Long seconds) {
        Map<String, String> byName = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        headers.forEach((k, v) -> byName.put(k.toLowerCase(Locale.ROOT), v));
        assertEquals(
                Optional.ofNullable(seconds).map(NOW::plusSeconds),
                RateLimits.quietUntil(name -> Optional.ofNullable(byName.get(name)), NOW),
                headers.toString());
    }
}
