package io.github.aggregator.http;

import io.github.aggregator.source.Scheduler;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops SSE clients whose writes block too long. A client that stops reading but keeps its connection open would
 * otherwise park its handler in a socket write forever, holding its subscriber slot and buffers. Each stream takes a
 * {@link Slot} for its life and marks the start and end of every write in it (two volatile writes, no map update per
 * event); a sweep on the injected {@link Scheduler} (its clock measures the blocking, its thread runs the sweep)
 * interrupts any handler whose write has been blocked longer than the timeout, which (handlers run on virtual threads)
 * closes the socket under the write. Thread-safe.
 */
final class WriteWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final Duration period;
    private final Scheduler time;
    private final Set<Slot> slots = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** One stream's writes; used by its handler thread only, read by the sweep. */
    final class Slot implements AutoCloseable {
        private final Thread thread = Thread.currentThread();
        private volatile long since = Long.MIN_VALUE; // the clock when the current write started; MIN_VALUE between

        /** The handler starts a write. */
        void started() {
            since = time.nanoTime();
        }

        /** The handler's write returned (or failed). */
        void finished() {
            since = Long.MIN_VALUE;
        }

        /** The stream ended. */
        @Override
        public void close() {
            since = Long.MIN_VALUE;
            slots.remove(this);
        }
    }

    WriteWatchdog(Duration timeout, Scheduler time) {
        this.timeoutNanos = timeout.toNanos();
        this.period = Duration.ofMillis(Math.max(20, Math.min(1000, timeout.toMillis() / 4)));
        this.time = time;
        next();
    }

    /** A slot for the calling thread's stream; close it when the stream ends. */
    Slot slot() {
        Slot s = new Slot();
        slots.add(s);
        return s;
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
        for (Slot s : slots) {
            long since = s.since;
            // only the write that is still the one seen here is cut off
            if (since != Long.MIN_VALUE && now - since > timeoutNanos && s.since == since) {
                s.since = Long.MIN_VALUE;
                s.thread.interrupt();
            }
        }
        next();
    }

    @Override
    public void close() {
        closed = true;
    }
}
