package io.github.aggregator.stream;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Ends the waits of subscribers whose heartbeat is due, so that a waiting handler parks without a timeout. A virtual
 * thread's timed park schedules and then cancels a timer task in the JDK's scheduler on every event, which a JFR profile
 * of 10,000 streams showed as about a third of each handler's CPU; one sweep over the subscribers every quarter
 * of the shortest timeout (5 ms to 250 ms) costs a few volatile reads per subscriber instead. A wait therefore ends up
 * to one sweep period after its deadline. Deadlines are read on the injected clock ({@link #now}), so a test that
 * advances its clock ends the waits it passed at the next sweep; the sweeps themselves run on real time. Thread-safe;
 * the sweeping daemon thread starts with the first wait.
 */
final class Wakeups {
    private static final long MIN_PERIOD = 5_000_000L;
    private static final long MAX_PERIOD = 250_000_000L;

    private final Iterable<Subscriber> subscribers;
    private final LongSupplier nanos;
    private volatile long period = MAX_PERIOD;
    private volatile Thread sweeper;
    private volatile boolean closed;

    /** Deadlines on {@link System#nanoTime}. */
    Wakeups(Iterable<Subscriber> subscribers) {
        this(subscribers, System::nanoTime);
    }

    /**
     * @param subscribers every subscriber that may wait (the hub's); those not waiting are skipped at a glance
     * @param nanos the monotonic clock that deadlines are set and checked on, in nanoseconds
     */
    Wakeups(Iterable<Subscriber> subscribers, LongSupplier nanos) {
        this.subscribers = subscribers;
        this.nanos = nanos;
    }

    /** The clock of the waits' deadlines, in nanoseconds; only differences mean anything. */
    long now() {
        return nanos.getAsLong();
    }

    /** {@code s} waits with a deadline {@code timeoutNanos} from now; called before its untimed wait. */
    void waiting(Subscriber s, long timeoutNanos) {
        long p = Math.max(MIN_PERIOD, Math.min(MAX_PERIOD, timeoutNanos / 4));
        if (p < period) {
            period = p;
            Thread t = sweeper;
            if (t != null) {
                LockSupport.unpark(t); // sweep at the shorter period from now on
            }
        }
        if (sweeper == null) {
            start();
        }
    }

    private synchronized void start() {
        if (sweeper == null && !closed) {
            sweeper = Thread.ofPlatform().daemon().name("sse-heartbeats").start(this::sweep);
        }
    }

    private void sweep() {
        while (!closed) {
            LockSupport.parkNanos(this, period);
            long now = nanos.getAsLong();
            for (Subscriber s : subscribers) {
                s.wakeIfDue(now);
            }
        }
    }

    /** Stops the sweeping thread; waits still pending end at their next signal. */
    void close() {
        closed = true;
        Thread t = sweeper;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }
}
