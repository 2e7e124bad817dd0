package io.github.aggregator.fetch;

import java.time.Duration;

/**
 * Interrupts the thread that made it once {@code after} has passed, unless closed first. A virtual thread blocked
 * on a socket then has the socket closed under it, which ends a call that per-read timeouts never would (a body or
 * headers arriving a byte at a time). Closing clears an interrupt it caused.
 */
final class Watchdog implements AutoCloseable {
    private final Thread watched = Thread.currentThread();
    private final Thread timer;
    private boolean fired; // guarded by this
    private boolean closed; // guarded by this

    Watchdog(Duration after) {
        timer = Thread.ofVirtual().name("fetch-watchdog").start(() -> {
            try {
                Thread.sleep(after);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                if (!closed) {
                    fired = true;
                    watched.interrupt();
                }
            }
        });
    }

    synchronized boolean fired() {
        return fired;
    }

    @Override
    public void close() {
        boolean clear;
        synchronized (this) {
            closed = true;
            clear = fired;
        }
        timer.interrupt();
        if (clear) {
            Thread.interrupted();
        }
    }
}
