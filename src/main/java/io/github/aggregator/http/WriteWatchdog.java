package io.github.aggregator.http;

import io.github.aggregator.source.Scheduler;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops SSE clients whose writes block too long. A client that stops reading but keeps its connection open would
 * otherwise park its handler in a socket write forever, holding its subscriber slot and buffers. Each stream takes a
 * {@link Slot} for its life and marks the start and end of every write in it (volatile writes and a compare-and-set,
 * no map update per event); a sweep on the injected {@link Scheduler} (its clock measures the blocking, its thread runs
 * the sweep) interrupts the thread whose write has been blocked longer than the timeout, which (writers run on virtual
 * threads) closes the socket under the write. Thread-safe.
 */
final class WriteWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final Duration period;
    private final Scheduler time;
    private final Set<Slot> slots = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private static final long IDLE = Long.MIN_VALUE;
    private static final long CUT = Long.MIN_VALUE + 1;
    private static final VarHandle SINCE;

    static {
        try {
            SINCE = MethodHandles.lookup().findVarHandle(Slot.class, "since", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * One stream's writes, made by its handler thread or by a fan-out worker writing for it (one at a time); read by
     * the sweep.
     */
    final class Slot implements AutoCloseable {
        private volatile Thread writer;
        private volatile long since = IDLE; // the clock when the current write started; IDLE between, CUT once cut
        private volatile boolean interrupted; // the sweep interrupted the writer of the write it cut

        /** The calling thread starts a write. */
        void started() {
            writer = Thread.currentThread();
            since = time.nanoTime();
        }

        /**
         * The write returned (or failed). When the sweep cut it off, waits for the sweep's interrupt to have been
         * sent and clears it, so that it cannot reach the thread's next write (a worker goes on to other clients).
         *
         * @return true when the write was cut off: the stream must end
         */
        boolean finished() {
            long s = since;
            if (s != CUT && SINCE.compareAndSet(this, s, IDLE)) {
                return false;
            }
            while (!interrupted) {
                Thread.onSpinWait();
            }
            interrupted = false;
            since = IDLE;
            Thread.interrupted();
            return true;
        }

        /** The stream ended. */
        @Override
        public void close() {
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
            if (since != IDLE && since != CUT && now - since > timeoutNanos && SINCE.compareAndSet(s, since, CUT)) {
                s.writer.interrupt();
                s.interrupted = true;
            }
        }
        next();
    }

    @Override
    public void close() {
        closed = true;
    }
}
