package io.github.aggregator.source;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Time wherever it decides behaviour (polling, backoff, Retry-After, idle, heartbeats, write timeouts): the wall clock,
 * a monotonic reading for elapsed time, and tasks run after a delay. Production uses {@link #system}; tests pass a
 * clock they advance, so timing is checked without waiting. Implementations are thread-safe.
 */
public interface Scheduler extends InstantSource, AutoCloseable {

    /** Monotonic nanoseconds for measuring elapsed time; only differences mean anything. */
    long nanoTime();

    /**
     * Runs {@code task} once, {@code delay} from now (at once when not positive), on the scheduler's own thread. The
     * returned future cancels it.
     *
     * @throws java.util.concurrent.RejectedExecutionException after {@link #close}
     */
    Future<?> schedule(Runnable task, Duration delay);

    /** Whether {@link #close} was called. */
    boolean isShutdown();

    /** Stops running tasks; what is scheduled never runs. Idempotent. */
    @Override
    void close();

    /** The system clock and {@link System#nanoTime}, with one daemon thread named {@code thread} running the tasks. */
    static Scheduler system(InstantSource clock, String thread) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, thread);
            t.setDaemon(true);
            return t;
        });
        return new Scheduler() {
            @Override
            public Instant instant() {
                return clock.instant();
            }

            @Override
            public long nanoTime() {
                return System.nanoTime();
            }

            @Override
            public Future<?> schedule(Runnable task, Duration delay) {
                return timer.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
            }

            @Override
            public boolean isShutdown() {
                return timer.isShutdown();
            }

            @Override
            public void close() {
                timer.shutdownNow();
            }
        };
    }
}
