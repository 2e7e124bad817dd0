package io.github.aggregator.fetch;

import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Whether an on-demand source is wanted now: it has SSE subscribers, was read within its {@code idleAfter} (by the
 * scheduler's clock), or a combined source built from it is wanted. Thread-safe.
 */
final class Demand {
    private final Scheduler time;
    private final SourceRegistry registry;
    private final Predicate<String> subscribed;
    /** Per source, the clock at its last read; a holder, so that a read of a source read before writes no map. */
    private final ConcurrentHashMap<String, AtomicLong> lastRead = new ConcurrentHashMap<>();

    Demand(Scheduler time, SourceRegistry registry, Predicate<String> subscribed) {
        this.time = time;
        this.registry = registry;
        this.subscribed = subscribed;
    }

    /** Records a read of {@code id} now. */
    void read(String id) {
        long now = time.nanoTime();
        AtomicLong last = lastRead.get(id);
        if (last == null) {
            lastRead.computeIfAbsent(id, k -> new AtomicLong(now)).set(now);
        } else if (last.get() != now) {
            last.set(now); // thousands of reads a second of one source: a plain volatile write, no bin lock
        }
    }

    /** Forgets the reads of a source that is no longer polled. */
    void forget(String id) {
        lastRead.remove(id);
    }

    /** Whether {@code source} should be fetched: always-polled, or wanted by a reader, subscriber or combination. */
    boolean wanted(SourceConfig source) {
        return source.poll() == SourceConfig.Poll.ALWAYS || wanted(source.id(), source.idleAfter(), 0);
    }

    /** Whether someone follows {@code source} now (subscribed, read within its idleAfter, or through a combination). */
    boolean watched(SourceConfig source) {
        return wanted(source.id(), source.idleAfter(), 0);
    }

    private boolean wanted(String id, Duration idleAfter, int depth) {
        if (subscribed.test(id)) {
            return true;
        }
        AtomicLong read = lastRead.get(id);
        if (read != null && time.nanoTime() - read.get() < idleAfter.toNanos()) {
            return true;
        }
        return depth < 64 && registry.dependents(id).stream().anyMatch(c -> wanted(c.id(), idleAfter, depth + 1));
    }
}
