package io.github.aggregator.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.TestSources;
import io.github.aggregator.testing.Upstream;
import java.math.BigInteger;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pure parts of politeness: the backoff bounds ({@link Backoff#millis}) with a random source pinned to
 * either end of its range, and the parsing of {@code Retry-After} ({@link RateLimits#retryAfter}); plus the one trigger
 * the HTTP API does not reach, {@link Poller#fetchNow}, against {@code minInterval}, on a test clock.
 */
class PollerTest {
    private static final URI URL = URI.create("http://127.0.0.1:9/x");
    private static final Instant NOW = Instant.parse("2024-03-01T12:00:00Z");
    private static final Duration DAY = Duration.ofHours(24);

    // ---- backoff -------------------------------------------------------------------------------------------------

    static Stream<Arguments> backoffConfigs() {
        return Stream.of(
                Arguments.of(source(Duration.ofMillis(200), Duration.ofSeconds(2))),
                Arguments.of(source(Duration.ofMillis(100), null)), // default: 10 intervals
                Arguments.of(source(Duration.ofSeconds(60), null)), // default: 10 min
                Arguments.of(source(Duration.ofMinutes(5), null)), // default capped at 15 min
                Arguments.of(source(Duration.ofHours(1), null)), // default: the interval itself
                Arguments.of(source(Duration.ofSeconds(1), Duration.ofDays(365))),
                Arguments.of(source(Duration.ofMillis(100), Duration.ofMillis(Long.MAX_VALUE))));
    }

    @ParameterizedTest
    @MethodSource("backoffConfigs")
    void backoffStaysWithinIntervalAndTheDoubledCeiling(SourceConfig s) {
        long interval = s.interval().toMillis();
        for (int n = 1; n <= 40; n++) {
            long ceiling = expectedCeiling(s, n);
            assertEquals(interval, Backoff.millis(s, n, Pinned.MIN), "lower end, failure " + n);
            assertEquals(ceiling, Backoff.millis(s, n, Pinned.MAX), "upper end, failure " + n);
            assertTrue(ceiling >= interval && ceiling <= s.maxBackoff().toMillis(), "ceiling " + ceiling);
        }
    }

    @Test
    void defaultMaxBackoffIsTenIntervalsAtMostFifteenMinutes() {
        assertEquals(Duration.ofSeconds(2), source(Duration.ofMillis(200), null).maxBackoff());
        assertEquals(Duration.ofMinutes(10), source(Duration.ofMinutes(1), null).maxBackoff());
        assertEquals(Duration.ofMinutes(15), source(Duration.ofMinutes(5), null).maxBackoff());
        assertEquals(Duration.ofHours(1), source(Duration.ofHours(1), null).maxBackoff());
        // reached after log2(10) doublings and held there
        SourceConfig s = source(Duration.ofMillis(200), null);
        assertEquals(400, Backoff.millis(s, 1, Pinned.MAX));
        assertEquals(800, Backoff.millis(s, 2, Pinned.MAX));
        assertEquals(1600, Backoff.millis(s, 3, Pinned.MAX));
        assertEquals(2000, Backoff.millis(s, 4, Pinned.MAX));
        assertEquals(2000, Backoff.millis(s, 40, Pinned.MAX));
    }

    @ParameterizedTest
    @ValueSource(longs = {100, 200, 1000, 60_000, 3_600_000})
    void backoffIsTheIntervalWhenMaxBackoffIsTheInterval(long intervalMillis) {
        SourceConfig s = source(Duration.ofMillis(intervalMillis), Duration.ofMillis(intervalMillis));
        for (int n = 1; n <= 40; n++) {
            assertEquals(intervalMillis, Backoff.millis(s, n, Pinned.MIN));
            assertEquals(intervalMillis, Backoff.millis(s, n, Pinned.MAX));
        }
    }

    @Test
    void backoffNeverOverflowsAndEndsForHugeFailureCounts() {
        SourceConfig s = source(Duration.ofSeconds(1), null);
        for (int n : new int[] {41, 63, 64, 1000, Integer.MAX_VALUE}) {
            assertEquals(10_000, Backoff.millis(s, n, Pinned.MAX), "failure " + n);
            assertEquals(1000, Backoff.millis(s, n, Pinned.MIN), "failure " + n);
        }
    }

    @Test
    void realRandomnessStaysInBoundsAndUsesTheRange() {
        SourceConfig s = source(Duration.ofMillis(200), Duration.ofSeconds(2));
        RandomGenerator random = new SplittableRandom(42);
        for (int n = 1; n <= 10; n++) {
            long ceiling = expectedCeiling(s, n);
            long lo = Long.MAX_VALUE;
            long hi = Long.MIN_VALUE;
            for (int i = 0; i < 2000; i++) {
                long b = Backoff.millis(s, n, random);
                assertTrue(b >= 200 && b <= ceiling, "failure " + n + ": " + b);
                lo = Math.min(lo, b);
                hi = Math.max(hi, b);
            }
            // full jitter: the draws spread over the whole range, not one point of it
            long width = ceiling - 200;
            assertTrue(lo - 200 <= width / 10 && ceiling - hi <= width / 10, "failure " + n + ": " + lo + ".." + hi);
        }
    }

    /** {@code min(maxBackoff, interval * 2^n)} computed without overflow. */
    private static long expectedCeiling(SourceConfig s, int n) {
        BigInteger doubled = BigInteger.valueOf(s.interval().toMillis()).shiftLeft(n);
        return doubled.min(BigInteger.valueOf(s.maxBackoff().toMillis())).longValueExact();
    }

    private static SourceConfig source(Duration interval, Duration maxBackoff) {
        return source("s", URL, interval, SourceConfig.DEFAULT_TIMEOUT, null, maxBackoff);
    }

    /** An always-polled upstream source; null minInterval / maxBackoff take the defaults. */
    private static SourceConfig source(
            String id, URI url, Duration interval, Duration timeout, Duration minInterval, Duration maxBackoff) {
        return TestSources.of(id, url, interval, timeout, null, null, minInterval, maxBackoff);
    }

    /** A poller of {@code s} alone whose fetches go to the real upstream and whose results go nowhere. */
    private static Poller poller(SourceConfig s, TestClock clock, RandomGenerator random) {
        return new Poller(
                clock,
                new SourceRegistry(AggregatorConfig.of(List.of(s))),
                c -> new Fetcher(c, AggregatorConfig.DEFAULT_USER_AGENT, () -> URL, clock),
                (c, r, at) -> {},
                id -> false,
                id -> true,
                random,
                new Metrics());
    }

    /** A random generator pinned to one end of every requested range; rejects empty ranges as the JDK's do. */
    private enum Pinned implements RandomGenerator {
        MIN,
        MAX;

        @Override
        public long nextLong() {
            return this == MIN ? Long.MIN_VALUE : Long.MAX_VALUE;
        }

        @Override
        public long nextLong(long bound) {
            if (bound <= 0) {
                throw new IllegalArgumentException("bound must be positive: " + bound);
            }
            return this == MIN ? 0 : bound - 1;
        }

        @Override
        public long nextLong(long origin, long bound) {
            if (origin >= bound) {
                throw new IllegalArgumentException("empty range " + origin + ".." + bound);
            }
            return this == MIN ? origin : bound - 1;
        }
    }

    // ---- Retry-After ---------------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"5", " 5 ", "05", "00000000000000005"})
    void retryAfterInSeconds(String header) {
        assertEquals(NOW.plusSeconds(5), RateLimits.retryAfter(header, NOW));
    }

    @Test
    void retryAfterAsHttpDate() {
        // the IMF-fixdate of RFC 9110 and the unpadded day that Java's RFC_1123 formatter writes
        assertEquals(NOW.plusSeconds(30), RateLimits.retryAfter("Fri, 01 Mar 2024 12:00:30 GMT", NOW));
        assertEquals(NOW.plusSeconds(30), RateLimits.retryAfter("Fri, 1 Mar 2024 12:00:30 GMT", NOW));
        // the two obsolete forms that RFC 9110 still requires recipients to accept: RFC 850 and asctime
        assertEquals(NOW.plusSeconds(30), RateLimits.retryAfter("Friday, 01-Mar-24 12:00:30 GMT", NOW));
        assertEquals(NOW.plusSeconds(30), RateLimits.retryAfter("Fri Mar  1 12:00:30 2024", NOW));
        Instant later = NOW.plus(Duration.ofHours(3)).plusSeconds(7);
        assertEquals(later, RateLimits.retryAfter(httpDate(later), NOW));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "0",
                "Fri, 01 Mar 2024 12:00:00 GMT",
                "Fri, 01 Mar 2024 11:59:59 GMT",
                "Thu, 01 Jan 1970 00:00:00 GMT"
            })
    void retryAfterNowOrInThePastIsIgnored(String header) {
        assertNull(RateLimits.retryAfter(header, NOW));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "   ",
                "soon",
                "-5",
                "+5",
                "1.5",
                "5s",
                "PT5S",
                "5, 6",
                "Fri, 32 Mar 2024 12:00:30 GMT",
                "Fri, 01 Mar 2024 25:00:30 GMT",
                "2024-03-01T12:00:30Z",
                "Fri, 01 Mar 2024"
            })
    void garbageRetryAfterIsIgnored(String header) {
        assertNull(RateLimits.retryAfter(header, NOW));
    }

    @Test
    void absentRetryAfterIsIgnored() {
        assertNull(RateLimits.retryAfter(null, NOW));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "86400",
                "86401",
                "604800",
                "9999999999",
                "99999999999",
                "99999999999999999999999999",
                "Sun, 03 Mar 2024 12:00:00 GMT",
                "Fri, 31 Dec 9999 23:59:59 GMT"
            })
    void retryAfterIsCappedAtOneDay(String header) {
        assertEquals(NOW.plus(DAY), RateLimits.retryAfter(header, NOW));
    }

    @Test
    void retryAfterJustUnderTheCapIsKept() {
        assertEquals(NOW.plus(DAY).minusSeconds(1), RateLimits.retryAfter("86399", NOW));
    }

    private static String httpDate(Instant t) {
        return ZonedDateTime.ofInstant(t, ZoneOffset.UTC).format(DateTimeFormatter.RFC_1123_DATE_TIME);
    }

    // ---- minInterval against an explicit fetch -------------------------------------------------------------------

    /**
     * {@code fetchNow} is the one trigger that does not go through the schedule: asked again right after a fetch, it
     * must wait out {@code minInterval} (and not the much longer interval). Time is a test clock: the second fetch
     * starts when the clock passes the floor, not a moment before.
     */
    @Test
    void fetchNowWaitsOutMinInterval() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source(
                    "floor",
                    URI.create(up.url() + "/floor"),
                    Duration.ofSeconds(30),
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(1),
                    null);
            TestClock clock = new TestClock();
            try (Poller poller = poller(s, clock, Pinned.MIN)) {
                poller.start(List.of(s)); // start jitter pinned to 0
                CompletableFuture<Void> first = poller.nextCompletion("floor").orElseThrow();
                clock.advance(Duration.ZERO);
                first.get(10, TimeUnit.SECONDS);
                assertEquals(1, up.hits());
                CompletableFuture<Void> second = poller.fetchNow("floor").orElseThrow();
                clock.advance(Duration.ofMillis(999));
                assertFalse(second.isDone(), "fetched again before minInterval passed");
                assertEquals(1, up.hits());
                clock.advance(Duration.ofMillis(2));
                second.get(10, TimeUnit.SECONDS);
                assertEquals(2, up.hits());
                Instant next = poller.state("floor").orElseThrow().nextFetchAt();
                assertEquals(clock.instant().plusSeconds(30), next, "back on the 30s schedule");
            }
        }
    }

    /**
     * A reader waiting for a source that was never fetched does not wait out the start-up jitter (here pinned to its
     * 1 s maximum): the first fetch starts without the clock moving, replaces the jittered one, and a fetched source is
     * never fetched again by this call.
     */
    @Test
    void fetchFirstStartsTheFirstFetchWithoutTheStartJitter() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source(
                    "cold", URI.create(up.url() + "/cold"), Duration.ofSeconds(30), Duration.ofSeconds(5), null, null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock, Pinned.MAX)) {
                poller.start(List.of(s)); // start jitter pinned to its maximum, 1 s
                poller.fetchFirst("cold").orElseThrow().get(10, TimeUnit.SECONDS);
                assertEquals(1, up.hits());
                assertEquals(start, clock.instant(), "the clock moved");
                poller.fetchFirst("cold"); // fetched before: nothing more
                assertEquals(1, clock.pending(), "the jittered first fetch is still scheduled next to the 30s one");
                clock.advance(Duration.ofMillis(1_500)); // past the jittered first fetch
                assertEquals(1, up.hits(), "fetched again");
                assertEquals(
                        start.plusSeconds(30),
                        poller.state("cold").orElseThrow().nextFetchAt(),
                        "on the 30s schedule");
            }
        }
    }

    /**
     * A 503 with Retry-After holds the next fetch back until that time, longer than interval and backoff; the clock
     * advanced to just before it fetches nothing, past it fetches once, and the success resets to the interval.
     */
    @Test
    void retryAfterHoldsTheNextFetchOnTheTestClock() throws Exception {
        try (Upstream up = new Upstream()) {
            up.reply(new Upstream.Reply(503, Map.of("Retry-After", "120"), new byte[0], null));
            SourceConfig s = source(
                    "busy", URI.create(up.url() + "/busy"), Duration.ofSeconds(1), Duration.ofSeconds(5), null, null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock, Pinned.MIN)) {
                poller.start(List.of(s));
                CompletableFuture<Void> first = poller.nextCompletion("busy").orElseThrow();
                clock.advance(Duration.ZERO);
                first.get(10, TimeUnit.SECONDS);
                assertEquals(1, up.hits());
                Poller.State failed = poller.state("busy").orElseThrow();
                assertEquals(1, failed.consecutiveFailures());
                assertEquals(start.plusSeconds(120), failed.nextFetchAt(), "held until Retry-After");
                up.json("{\"v\":1}");
                CompletableFuture<Void> second = poller.nextCompletion("busy").orElseThrow();
                clock.advance(Duration.ofMillis(119_999));
                assertFalse(second.isDone(), "fetched before Retry-After");
                assertEquals(1, up.hits());
                clock.advance(Duration.ofMillis(1));
                second.get(10, TimeUnit.SECONDS);
                assertEquals(2, up.hits());
                Poller.State ok = poller.state("busy").orElseThrow();
                assertEquals(0, ok.consecutiveFailures());
                assertEquals(clock.instant().plusSeconds(1), ok.nextFetchAt(), "back on the 1s interval");
            }
        }
    }

    /**
     * An on-demand source read once is fetched at once, keeps its schedule while read within {@code idleAfter}, and
     * goes idle at the first scheduled fetch after {@code idleAfter} passed with no reader: on the test clock, so the
     * idle point is exact.
     */
    @Test
    void onDemandSourceGoesIdleAfterIdleAfterOnTheTestClock() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = TestSources.polled(
                    "lazy",
                    URI.create(up.url() + "/lazy"),
                    Duration.ofSeconds(1),
                    SourceConfig.Poll.ON_DEMAND,
                    null,
                    Duration.ofMillis(2_500));
            TestClock clock = new TestClock();
            try (Poller poller = poller(s, clock, Pinned.MIN)) {
                poller.start(List.of(s));
                assertFalse(poller.state("lazy").orElseThrow().active(), "idle before any reader");
                poller.touch("lazy").orElseThrow().get(10, TimeUnit.SECONDS);
                assertEquals(1, up.hits());
                for (int n = 2; n <= 3; n++) { // at 1 s and 2 s: read 1 s and 2 s ago, within idleAfter
                    CompletableFuture<Void> next = poller.nextCompletion("lazy").orElseThrow();
                    clock.advance(Duration.ofSeconds(1));
                    next.get(10, TimeUnit.SECONDS);
                    assertEquals(n, up.hits());
                }
                clock.advance(Duration.ofSeconds(1)); // at 3 s: the read is 3 s old, past idleAfter
                assertFalse(poller.state("lazy").orElseThrow().active(), "still polled with no reader");
                clock.advance(Duration.ofMinutes(10));
                assertEquals(3, up.hits(), "an idle source was fetched");
                assertEquals(0, clock.pending(), "an idle source keeps a schedule");
            }
        }
    }
}
