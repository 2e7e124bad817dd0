package io.github.aggregator.observe;

import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The service's counters per source: fetches by outcome, fetch latency, changes, events delivered to subscribers and
 * subscriber queue overflows. Each hook is one lock-free {@link LongAdder} update, cheap enough for the hot paths
 * (fan-out counts once per change, not once per subscriber). Gauges (subscribers, staleness) are not kept here: the
 * scrape reads them from their owners. Thread-safe.
 *
 * <p>A deliberately small own implementation rather than Helidon's metrics module, which brings Micrometer and a
 * service-registry lookup into the start-up path; the text format is written by {@link PrometheusText}.
 */
public final class Metrics {
    /**
     * Upper bounds of the fetch latency buckets, in seconds (Prometheus' default buckets; source timeouts default to
     * 10 s, so a timed-out fetch lands in the last finite bucket or {@code +Inf}).
     */
    static final double[] LATENCY_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    /** How one upstream fetch ended, as the {@code outcome} label shows it. */
    public enum Outcome {
        SUCCESS,
        NOT_MODIFIED,
        FAILURE;

        /** The label value: {@code success}, {@code not_modified}, {@code failure}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final ConcurrentHashMap<String, Series> sources = new ConcurrentHashMap<>();

    /** Records one finished upstream fetch of {@code source} that took {@code nanos}. */
    public void fetched(String source, Outcome outcome, long nanos) {
        Series s = series(source);
        s.fetches[outcome.ordinal()].increment();
        double seconds = nanos / (double) TimeUnit.SECONDS.toNanos(1);
        int bucket = 0;
        while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]) {
            bucket++;
        }
        s.latencyBuckets[bucket].increment(); // the last slot is +Inf
        s.latencyNanos.add(Math.max(0, nanos));
        s.lastFetchNanos = Math.max(0, nanos);
    }

    /** Records a client read of {@code source} that was answered with its data or a 304 (a poll). */
    public void clientRead(String source) {
        series(source).reads.increment();
    }

    /** Records an SSE stream opened that follows {@code source} (whole or one of its fields). */
    public void streamOpened(String source) {
        series(source).streams.increment();
    }

    /**
     * What a client-facing view shows of one source: client reads and streams opened, events delivered, upstream calls
     * made, and the last fetch's duration (-1 before the first).
     */
    public record Served(long reads, long streams, long events, long upstreamCalls, long lastFetchNanos) {}

    /** The served counters of {@code source}. */
    public Served served(String source) {
        Series s = sources.get(source);
        if (s == null) {
            return new Served(0, 0, 0, 0, -1);
        }
        long calls = 0;
        for (LongAdder a : s.fetches) {
            calls += a.sum();
        }
        return new Served(s.reads.sum(), s.streams.sum(), s.delivered.sum(), calls, s.lastFetchNanos);
    }

    /** Records a new version of {@code source}. */
    public void changed(String source) {
        series(source).changes.increment();
    }

    /** Records {@code events} change or status events handed to subscribers of {@code source}. */
    public void delivered(String source, long events) {
        if (events > 0) {
            series(source).delivered.add(events);
        }
    }

    /** Records a subscriber queue of {@code source} that overflowed and collapsed into one snapshot. */
    public void overflowed(String source) {
        series(source).overflows.increment();
    }

    /** A consistent-enough read of one source's counters (each value is read once; they may move meanwhile). */
    public Reading read(String source) {
        Series s = sources.get(source);
        long[] fetches = new long[Outcome.values().length];
        long[] buckets = new long[LATENCY_BUCKETS.length + 1];
        if (s == null) {
            return new Reading(fetches, buckets, 0, 0, 0, 0);
        }
        for (int i = 0; i < fetches.length; i++) {
            fetches[i] = s.fetches[i].sum();
        }
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = s.latencyBuckets[i].sum();
        }
        return new Reading(
                fetches, buckets, s.latencyNanos.sum(), s.changes.sum(), s.delivered.sum(), s.overflows.sum());
    }

    /**
     * One source's counters at one moment.
     *
     * @param fetches fetches by {@link Outcome} ordinal
     * @param latencyBuckets fetches per latency bucket, not cumulative; the last slot counts those above the last
     *     bound
     * @param latencyNanos total time of all fetches
     * @param changes new versions
     * @param delivered events handed to subscribers
     * @param overflows subscriber queues that collapsed into a snapshot
     */
    public record Reading(
            long[] fetches, long[] latencyBuckets, long latencyNanos, long changes, long delivered, long overflows) {

        public long fetches(Outcome outcome) {
            return fetches[outcome.ordinal()];
        }
    }

    private Series series(String source) {
        Series s = sources.get(source);
        return s != null ? s : sources.computeIfAbsent(source, k -> new Series());
    }

    private static final class Series {
        final LongAdder[] fetches = adders(Outcome.values().length);
        final LongAdder[] latencyBuckets = adders(LATENCY_BUCKETS.length + 1);
        final LongAdder latencyNanos = new LongAdder();
        final LongAdder changes = new LongAdder();
        final LongAdder delivered = new LongAdder();
        final LongAdder overflows = new LongAdder();
        final LongAdder reads = new LongAdder();
        final LongAdder streams = new LongAdder();
        volatile long lastFetchNanos = -1;

        private static LongAdder[] adders(int n) {
            LongAdder[] a = new LongAdder[n];
            for (int i = 0; i < n; i++) {
                a[i] = new LongAdder();
            }
            return a;
        }
    }
}
