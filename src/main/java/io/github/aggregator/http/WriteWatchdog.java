package io.github.aggregator.http;

import io.github.aggregator.source.Scheduler;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops SSE clients whose writes block too long. A client that stops reading but keeps its connection open would
 * otherwise park its handler in a socket write forever, holding its subscriber slot and buffers. Each handler marks the
 * start and end of its writes; a sweep on the injected {@link Scheduler} (its clock measures the blocking, its thread
 * runs the sweep) interrupts any handler whose write has been blocked longer than the timeout, which (handlers run on virtual threads) closes the socket under the write. Thread-safe.
 */
final class WriteWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final Duration period;
    private final Scheduler time;
    private final Map<Thread, Long> writing = new ConcurrentHashMap<>();
    private volatile boolean closed;

    WriteWatchdog(Duration timeout, Scheduler time) {
        this.timeoutNanos = timeout.toNanos();
        this.period = Duration.ofMillis(Math.max(20, Math.min(1000, timeout.toMillis() / 4)));
        this.time = time;
        next();
    }

    /** The calling thread starts a write. */
    void started() {
        writing.put(Thread.currentThread(), time.nanoTime());
    }

    /** The calling thread's write returned (or failed). */
    void finished() {
        writing.remove(Thread.currentThread());
    }

    private void next() {
        if (closed) {
            return;
        }
        try {
            time.schedule(this::sweep, period);
        } catch (RuntimeException e) { // the scheduler was closed: the service is stopping
            closed = true;
        }
    }

    private void sweep() {
        long now = time.nanoTime();
        writing.forEach((thread, since) -> {
            // remove(key, value): only the write that is still the one seen here is cut off
            if (now - since > timeoutNanos && writing.remove(thread, since)) {
                thread.interrupt();
            }
        });
        next();
    }

    @Override
    public void close() {
        closed = true;
    }
}
