package io.github.aggregator.http;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops SSE clients whose writes block too long. A client that stops reading but keeps its connection open would
 * otherwise park its handler in a socket write forever, holding its subscriber slot and buffers. Each handler marks the
 * start and end of its writes; a daemon thread interrupts any handler whose write has been blocked longer than the
 * timeout, which (handlers run on virtual threads) closes the socket under the write. Thread-safe.
 */
final class WriteWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final Map<Thread, Long> writing = new ConcurrentHashMap<>();
    private final Thread sweeper;
    private volatile boolean closed;

    WriteWatchdog(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
        long periodMillis = Math.max(20, Math.min(1000, timeout.toMillis() / 4));
        this.sweeper = Thread.ofPlatform().daemon().name("sse-write-watchdog").start(() -> sweep(periodMillis));
    }

    /** The calling thread starts a write. */
    void started() {
        writing.put(Thread.currentThread(), System.nanoTime());
    }

    /** The calling thread's write returned (or failed). */
    void finished() {
        writing.remove(Thread.currentThread());
    }

    private void sweep(long periodMillis) {
        while (!closed) {
            try {
                Thread.sleep(periodMillis);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            writing.forEach((thread, since) -> {
                // remove(key, value): only the write that is still the one seen here is cut off
                if (now - since > timeoutNanos && writing.remove(thread, since)) {
                    thread.interrupt();
                }
            });
        }
    }

    @Override
    public void close() {
        closed = true;
        sweeper.interrupt();
    }
}
