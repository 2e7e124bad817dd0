package io.github.aggregator.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.TestSources;
import io.github.aggregator.testing.Upstream;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/**
 * A source whose snapshot was restored from the durable store keeps its schedule across the restart: its first fetch
 * is one interval after the restored {@code fetchedAt}, on the test clock, with a real upstream that counts requests.
 */
class RestoredScheduleTest {
    private static final Duration HOUR = Duration.ofHours(1);
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Start jitter pinned to 0, so that "at once" is exact. */
    private static final RandomGenerator NO_JITTER = () -> 0L;

    @Test
    void anHourlySourceFetchedFiftyMinutesAgoIsFetchedTenMinutesAfterStartNotBefore() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("hourly", up, SourceConfig.Poll.ALWAYS, null, null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> start.minus(Duration.ofMinutes(50)));
                assertEquals(
                        start.plus(Duration.ofMinutes(10)),
                        poller.state("hourly").orElseThrow().nextFetchAt(),
                        "due one interval after the restored fetchedAt");
                CompletableFuture<Void> first = poller.nextCompletion("hourly").orElseThrow();
                clock.advance(Duration.ofMinutes(10).minusMillis(1));
                assertFalse(first.isDone(), "fetched before its time");
                assertEquals(0, up.hits(), "the upstream was asked before the restored data was an interval old");
                clock.advance(Duration.ofMillis(1));
                first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(1, up.hits());
                assertEquals(
                        clock.instant().plus(HOUR),
                        poller.state("hourly").orElseThrow().nextFetchAt(),
                        "then on the hourly schedule");
            }
        }
    }

    @Test
    void anHourlySourceFetchedTwoHoursAgoIsFetchedAtOnce() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("late", up, SourceConfig.Poll.ALWAYS, null, null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> start.minus(Duration.ofHours(2)));
                assertEquals(start, poller.state("late").orElseThrow().nextFetchAt(), "due now");
                CompletableFuture<Void> first = poller.nextCompletion("late").orElseThrow();
                clock.advance(Duration.ZERO);
                first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(1, up.hits());
                assertEquals(start, clock.instant(), "the clock moved");
            }
        }
    }

    @Test
    void aFetchedAtAheadOfTheClockWaitsOneIntervalAtMost() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("ahead", up, SourceConfig.Poll.ALWAYS, null, null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> start.plus(Duration.ofDays(3)));
                assertEquals(
                        start.plus(HOUR), poller.state("ahead").orElseThrow().nextFetchAt());
            }
        }
    }

    /** A source without a restored snapshot still starts within the start-up jitter, as before. */
    @Test
    void aSourceWithoutARestoredSnapshotStartsAsBefore() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("fresh", up, SourceConfig.Poll.ALWAYS, null, null);
            TestClock clock = new TestClock();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> null);
                CompletableFuture<Void> first = poller.nextCompletion("fresh").orElseThrow();
                clock.advance(Duration.ZERO);
                first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(1, up.hits());
            }
        }
    }

    /**
     * minInterval counts from the restored fetchedAt: an explicit fetch right after start waits until minInterval has
     * passed since then, and goes ahead at that point rather than at the hourly schedule.
     */
    @Test
    void minIntervalCountsFromTheRestoredFetchedAt() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("floor", up, SourceConfig.Poll.ALWAYS, Duration.ofMinutes(1), null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> start.minusSeconds(20));
                CompletableFuture<Void> asked = poller.fetchNow("floor").orElseThrow();
                clock.advance(Duration.ofSeconds(40).minusMillis(1));
                assertFalse(asked.isDone(), "fetched before minInterval passed since the restored fetch");
                assertEquals(0, up.hits());
                clock.advance(Duration.ofMillis(2));
                asked.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(1, up.hits());
            }
        }
    }

    /**
     * An on-demand source stays idle until read; a read of restored data younger than its interval gets nothing to
     * wait for and makes no request, and the fetch comes when the data is an interval old (the reader still wanted).
     */
    @Test
    void anOnDemandSourceServesItsRestoredSnapshotAndFetchesWhenItIsAnIntervalOld() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("lazy", up, SourceConfig.Poll.ON_DEMAND, null, Duration.ofHours(2));
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> start.minus(Duration.ofMinutes(10)));
                assertFalse(poller.state("lazy").orElseThrow().active(), "idle before any reader");
                clock.advance(Duration.ofMinutes(5));
                assertEquals(0, clock.pending(), "an idle source keeps a schedule");
                assertTrue(poller.touch("lazy").isEmpty(), "a reader of restored data was given a fetch to wait for");
                Poller.State read = poller.state("lazy").orElseThrow();
                assertTrue(read.active());
                assertEquals(start.plus(HOUR).minus(Duration.ofMinutes(10)), read.nextFetchAt());
                CompletableFuture<Void> first = poller.nextCompletion("lazy").orElseThrow();
                clock.advance(Duration.ofMinutes(45).minusMillis(1));
                assertFalse(first.isDone(), "fetched before the restored data was an interval old");
                assertEquals(0, up.hits());
                clock.advance(Duration.ofMillis(1));
                first.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(1, up.hits());
            }
        }
    }

    /** A read of restored on-demand data older than its interval fetches at once, and still gives nothing to wait for. */
    @Test
    void anOnDemandSourceWithOldRestoredDataFetchesWhenReadWithoutMakingTheReaderWait() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("old", up, SourceConfig.Poll.ON_DEMAND, null, null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> start.minus(Duration.ofHours(3)));
                assertEquals(0, clock.pending());
                assertEquals(0, up.hits());
                assertTrue(poller.touch("old").isEmpty(), "a reader of restored data was given a fetch to wait for");
                Await.isTrue(() -> up.hits() == 1, WAIT, "the read started a fetch");
                Await.isTrue(
                        () -> start.plus(HOUR)
                                .equals(poller.state("old").orElseThrow().nextFetchAt()),
                        WAIT,
                        "on the hourly schedule after it");
                assertEquals(start, clock.instant());
            }
        }
    }

    /** An on-demand source nobody reads makes no request, however old its restored data. */
    @Test
    void anUnreadOnDemandSourceStaysIdle() throws Exception {
        try (Upstream up = new Upstream().json("{\"v\":1}")) {
            SourceConfig s = source("unread", up, SourceConfig.Poll.ON_DEMAND, null, null);
            TestClock clock = new TestClock();
            Instant start = clock.instant();
            try (Poller poller = poller(s, clock)) {
                poller.start(List.of(s), id -> start.minus(Duration.ofHours(3)));
                clock.advance(Duration.ofHours(5));
                assertEquals(0, up.hits());
                assertNull(poller.state("unread").orElseThrow().nextFetchAt());
            }
        }
    }

    /** An hourly source; null minInterval and idleAfter take the defaults. */
    private static SourceConfig source(
            String id, Upstream up, SourceConfig.Poll poll, Duration minInterval, Duration idleAfter) {
        return TestSources.polled(id, URI.create(up.url() + "/" + id), HOUR, poll, minInterval, idleAfter);
    }

    private static Poller poller(SourceConfig s, TestClock clock) {
        return new Poller(
                clock,
                new SourceRegistry(AggregatorConfig.of(List.of(s))),
                c -> new Fetcher(
                        c, AggregatorConfig.DEFAULT_USER_AGENT, () -> URI.create("http://127.0.0.1:9/"), clock),
                (c, r, at) -> {},
                id -> false,
                id -> true,
                NO_JITTER,
                new Metrics());
    }
}
