package io.github.aggregator.testing;

import io.github.aggregator.source.Scheduler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;

/**
 * A {@link Scheduler} whose time moves only when a test calls {@link #advance}: tasks due by then run on the calling
 * thread, in the order they are due, each with the clock set to its due time. Thread-safe; tasks may schedule more.
 */
public final class TestClock implements Scheduler {
    private final Instant start;
    private long nanos; // guarded by this; time since start
    private long sequence; // guarded by this; keeps tasks due at the same time in the order scheduled
    private final List<Task> tasks = new ArrayList<>(); // guarded by this
    private boolean closed; // guarded by this

    private record Task(long due, long sequence, Runnable run, CompletableFuture<Void> future) {}

    public TestClock(Instant start) {
        this.start = start;
    }

    /** A clock at 2024-03-01T12:00:00Z. */
    public TestClock() {
        this(Instant.parse("2024-03-01T12:00:00Z"));
    }

    @Override
    public synchronized Instant instant() {
        return start.plusNanos(nanos);
    }

    @Override
    public synchronized long nanoTime() {
        return nanos;
    }

    @Override
    public synchronized Future<?> schedule(Runnable task, Duration delay) {
        if (closed) {
            throw new RejectedExecutionException("closed");
        }
        CompletableFuture<Void> future = new CompletableFuture<>();
        tasks.add(new Task(nanos + Math.max(0, delay.toNanos()), sequence++, task, future));
        return future;
    }

    /** Moves time forward by {@code d}, running every task that falls due on the way. */
    public void advance(Duration d) {
        long target;
        synchronized (this) {
            target = nanos + d.toNanos();
        }
        while (true) {
            Task next;
            synchronized (this) {
                tasks.removeIf(t -> t.future.isDone()); // cancelled
                next = tasks.stream()
                        .filter(t -> t.due <= target)
                        .min((a, b) ->
                                a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.sequence, b.sequence))
                        .orElse(null);
                if (next == null || closed) {
                    nanos = target;
                    return;
                }
                tasks.remove(next);
                nanos = Math.max(nanos, next.due);
            }
            if (!next.future.isDone()) {
                next.run.run();
                next.future.complete(null);
            }
        }
    }

    /** Tasks scheduled and not yet run or cancelled. */
    public synchronized int pending() {
        tasks.removeIf(t -> t.future.isDone());
        return tasks.size();
    }

    @Override
    public synchronized boolean isShutdown() {
        return closed;
    }

    @Override
    public synchronized void close() {
        closed = true;
        tasks.clear();
    }
}
