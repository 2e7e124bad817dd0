package io.github.aggregator.http;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops SSE clients whose writes block too long. A client that stops reading but keeps its connection open would
 * otherwise park its handler in a socket write forever, holding its subscriber slot and buffers. Each stream takes a
 * {@link Slot} for its life and marks the start and end of every write in it (two volatile writes, no map update per
 * event); a daemon thread interrupts any handler whose write has been blocked longer than the timeout, which (handlers
 * run on virtual threads) closes the socket under the write. Thread-safe.
 */
final class WriteWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final Set<Slot> slots = ConcurrentHashMap.newKeySet();
    private final Thread sweeper;
    private volatile boolean closed;

    /** One stream's writes; used by its handler thread only, read by the sweeper. */
    final class Slot implements AutoCloseable {
        private final Thread thread = Thread.currentThread();
        private volatile long since; // System.nanoTime when the current write started; 0 between writes

        /** The handler starts a write. */
        void started() {
            long now = System.nanoTime();
            since = now == 0 ? 1 : now;
        }

        /** The handler's write returned (or failed). */
        void finished() {
            since = 0;
        }

        /** The stream ended. */
        @Override
        public void close() {
            since = 0;
            slots.remove(this);
        }
    }

    WriteWatchdog(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
        long periodMillis = Math.max(20, Math.min(1000, timeout.toMillis() / 4));
        this.sweeper = Thread.ofPlatform().daemon().name("sse-write-watchdog").start(() -> sweep(periodMillis));
    }

    /** A slot for the calling thread's stream; close it when the stream ends. */
    Slot slot() {
        Slot s = new Slot();
        slots.add(s);
        return s;
    }

    private void sweep(long periodMillis) {
        while (!closed) {
            try {
                Thread.sleep(periodMillis);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Slot s : slots) {
                long since = s.since;
                // only the write that is still the one seen here is cut off
                if (since != 0 && now - since > timeoutNanos && s.since == since) {
                    s.since = 0;
                    s.thread.interrupt();
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        sweeper.interrupt();
    }
}
