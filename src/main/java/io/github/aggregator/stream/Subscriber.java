package io.github.aggregator.stream;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * One SSE client's bounded queue. The hub offers without ever blocking; the client's own handler thread drains it.
 * When an offer finds the queue full, everything pending collapses into one {@link Signal.Resync}: the data is state,
 * so the latest snapshot replaces the missed updates and nothing is lost.
 *
 * <p>Direct delivery: once the handler allows it ({@link #direct}), a {@link Fanout} worker may write a change to the
 * client itself instead of queueing it and waking the handler, when nobody else is writing to the client, its queue is
 * empty and its last direct write was not slow (a slow one hands the client to its handler until it has caught up).
 * Exactly one party writes to the client at a time ({@link #owner}); the handler takes its turn in {@link #poll},
 * which it only leaves with a signal when no direct write is under way, and a direct write that fails ends the stream
 * through the queue. Thread-safe.
 *
 * <p>The state is guarded by this object's monitor, and the handler waits by parking its thread ({@link #waiter})
 * outside it, not on a {@code Condition}: a parked stream's stack holds every frame of its wait for the stream's life,
 * and a condition's await adds four frames and a lock, a condition and a node object to each of thousands of parked
 * streams (bench/README.md, memory per subscriber). Whoever changes what a waiting handler waits for reads {@link
 * #waiter} after the change and unparks it; the handler sets itself as the waiter before it looks, so no wake-up is
 * lost, and it looks again after every return from a park.
 */
final class Subscriber {
    /** Who writes to the client now: nobody (the handler waits in poll), the handler, or a fan-out worker. */
    private static final int IDLE = 0;

    private static final int HANDLER = 1;
    private static final int DIRECT = 2;
    /**
     * A direct write that took longer (the time after which {@link Fanout} adds a worker) sends this subscriber's
     * later signals through its queue and handler, until the handler has caught up.
     */
    private static final long SLOW_NANOS = Fanout.STUCK_NANOS;
    /** The longest a thread in {@link #stopDirect} waits between looks when no release wakes it. */
    private static final long STOP_CHECK_NANOS = 1_000_000L;

    /** Writes the events of a status flip and a change (either may be null) to the client, on the calling thread. */
    @FunctionalInterface
    interface Direct {
        void deliver(Signal status, Signal change) throws java.io.IOException;
    }

    private final List<String> sourceIds;
    private final String client;
    private final int capacity;
    private final ArrayDeque<Signal> queue = new ArrayDeque<>();
    private final Wakeups wakeups;
    private boolean closed; // guarded by this
    private long overflows; // guarded by this
    private int owner = HANDLER; // guarded by this; the handler owns the stream until its first poll
    private boolean slow; // guarded by this
    private long waitNanos; // guarded by this: the current wait's length, which a direct write starts again
    private long waitEnd; // guarded by this
    private volatile Thread waiter; // written under this: the handler while it waits in poll, else null
    private volatile Thread stopper; // written under this: a thread waiting in stopDirect, else null
    private volatile Direct direct;
    private volatile long deadline; // the wakeups' clock at which the current wait ends; 0 when not waiting

    /**
     * @param sourceIds the sources this subscriber follows (one stream may carry several)
     * @param client the client's address, for per-client limits
     * @param capacity signals buffered before they collapse into one resync
     */
    Subscriber(List<String> sourceIds, String client, int capacity) {
        this(sourceIds, client, capacity, null);
    }

    /** @param wakeups ends waits whose deadline passed; null to wait with a timed park instead */
    Subscriber(List<String> sourceIds, String client, int capacity, Wakeups wakeups) {
        this.sourceIds = List.copyOf(sourceIds);
        this.client = client;
        this.capacity = capacity;
        this.wakeups = wakeups;
    }

    List<String> sourceIds() {
        return sourceIds;
    }

    String client() {
        return client;
    }

    /**
     * Queues {@code signal}; never blocks. On overflow the queue becomes a single resync.
     *
     * @return true when this offer overflowed the queue
     */
    boolean offer(Signal signal) {
        boolean overflowed;
        synchronized (this) {
            if (closed) {
                return false;
            }
            overflowed = queue.size() >= capacity;
            if (overflowed) {
                // a removal is not state that a resync can restore: it survives the collapse
                queue.removeIf(q -> !(q instanceof Signal.Removed));
                queue.add(new Signal.Resync());
                overflows++;
                if (signal instanceof Signal.Removed) {
                    queue.add(signal);
                }
            } else if (signal instanceof Signal.Removed || !(queue.peekLast() instanceof Signal.Resync)) {
                // a pending resync reads the latest state when it is sent, so it covers a change or status too
                queue.add(signal);
            }
            if (owner == DIRECT) {
                return overflowed; // the direct write's release wakes the handler for what is queued
            }
        }
        wake();
        return overflowed;
    }

    /** Unparks the handler when it waits; called after a change it may wait for, outside the monitor. */
    private void wake() {
        Thread t = waiter;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Ends the stream: drops what is pending and queues {@code closed}, which is always delivered. */
    void close(Signal.Closed signal) {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            queue.clear();
            queue.add(signal);
        }
        wake();
    }

    /**
     * The next signal, or null when none arrived within {@code timeout} (with {@link Wakeups}, up to one sweep period
     * later; a direct write in the meantime starts the wait again). Called by the handler only, which by calling it
     * says that it finished writing what it took before.
     */
    Signal poll(Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        synchronized (this) {
            if (owner == HANDLER) {
                owner = IDLE;
                slow &= !queue.isEmpty(); // caught up: direct writes may resume
            }
            if (owner == IDLE && (!queue.isEmpty() || nanos <= 0)) {
                return take();
            }
            waitNanos = nanos;
            restartWait();
            waiter = Thread.currentThread();
        }
        if (wakeups != null) {
            wakeups.waiting(this, nanos);
        }
        boolean done = false;
        try {
            while (true) {
                long left;
                boolean timed;
                synchronized (this) {
                    left = waitEnd - now();
                    if (owner == IDLE && (!queue.isEmpty() || left <= 0)) {
                        done = true;
                        endWait();
                        return take();
                    }
                    timed = wakeups == null && owner == IDLE;
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (timed) {
                    LockSupport.parkNanos(this, left);
                } else {
                    LockSupport.park(this); // a direct write's release, an offer, a close, or the sweep ends it
                }
                if (Thread.interrupted()) { // as a condition's await: an interrupt during the wait wins
                    throw new InterruptedException();
                }
            }
        } finally {
            if (!done) {
                synchronized (this) {
                    endWait();
                }
            }
        }
    }

    /** The handler no longer waits. Under the monitor. */
    private void endWait() {
        waiter = null;
        deadline = 0;
    }

    /** The handler takes its turn: the next signal (null when none), which it then writes. Under the monitor. */
    private Signal take() {
        owner = HANDLER;
        return queue.poll();
    }

    /** The current wait ends {@link #waitNanos} from now; the sweep sees that deadline too. Under the monitor. */
    private void restartWait() {
        waitEnd = now() + waitNanos;
        if (wakeups != null) {
            deadline = waitEnd == 0 ? 1 : waitEnd;
        }
    }

    private long now() {
        return wakeups == null ? System.nanoTime() : wakeups.now();
    }

    /** Whether the handler waits in {@link #poll} with Wakeups (for tests: it is ready for direct delivery). */
    boolean waiting() {
        return deadline != 0;
    }

    /** Lets {@link Fanout} workers write changes to the client through {@code writer}; null stops them. */
    void direct(Direct writer) {
        direct = writer;
    }

    /** Whether direct delivery was allowed; a glance, {@link #deliver} decides under the monitor. */
    boolean allowsDirect() {
        return direct != null;
    }

    /**
     * Delivers a status flip and a change (either may be null): written to the client on the calling thread when it
     * may be, else queued.
     *
     * @param started {@link System#nanoTime} when the caller began this delivery: a direct write that ends more than
     *     {@link #SLOW_NANOS} after it marks the subscriber slow
     * @return how many of the offers overflowed the queue
     */
    int deliver(Signal status, Signal change, long started) {
        Direct d = direct;
        if (d != null && claim()) {
            boolean failed = true;
            try {
                d.deliver(status, change);
                failed = false;
            } catch (java.io.IOException | RuntimeException e) {
                // the client left or its write was cut off: the stream ends through its queue
            } finally {
                release(failed, System.nanoTime() - started > SLOW_NANOS);
            }
            return 0;
        }
        return enqueue(status, change);
    }

    /**
     * Queues a status flip and a change (either may be null); never blocks.
     *
     * @return how many of the offers overflowed the queue
     */
    int enqueue(Signal status, Signal change) {
        int overflowed = 0;
        if (status != null && offer(status)) {
            overflowed++;
        }
        if (change != null && offer(change)) {
            overflowed++;
        }
        return overflowed;
    }

    private synchronized boolean claim() {
        if (closed || slow || direct == null || owner != IDLE || !queue.isEmpty()) {
            return false;
        }
        owner = DIRECT;
        return true;
    }

    private void release(boolean failed, boolean wasSlow) {
        synchronized (this) {
            owner = IDLE;
            slow |= wasSlow;
            if (failed && !closed) {
                closed = true;
                queue.clear();
                queue.add(new Signal.Closed("write failed", null, null));
            }
            if (deadline != 0) { // a write resets the heartbeat: the handler waits a whole interval again
                restartWait();
            }
            if (!closed && direct != null && queue.isEmpty()) {
                return; // nothing for the handler: it keeps waiting, and the sweep sees the new deadline
            }
        }
        wake(); // for the handler
        Thread t = stopper;
        if (t != null) { // and for one waiting in stopDirect
            LockSupport.unpark(t);
        }
    }

    /**
     * The stream ends: no direct write starts after this, and one under way is waited for, so that nothing is written
     * to the response once its handler returned. A direct write is bounded by the write watchdog.
     */
    void shutdown() {
        synchronized (this) {
            closed = true;
        }
        stopDirect();
    }

    /**
     * No direct write starts after this; one under way is waited for (it ends, or the write watchdog cuts it off). Any
     * thread may call it, beside the handler waiting in {@link #poll}: it waits as {@link #stopper}, not as the
     * handler, and with a short timed park, so that two threads stopping at once cannot leave either parked for good.
     */
    void stopDirect() {
        direct = null;
        boolean interrupted = false;
        try {
            while (true) {
                synchronized (this) {
                    if (owner != DIRECT) {
                        if (stopper == Thread.currentThread()) {
                            stopper = null;
                        }
                        return;
                    }
                    stopper = Thread.currentThread();
                }
                LockSupport.parkNanos(this, STOP_CHECK_NANOS);
                // uninterruptible: an interrupt would make every later park return at once, so it is kept for later
                interrupted |= Thread.interrupted();
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Ends the current wait when its deadline is at or before {@code now}; called by {@link Wakeups}. */
    void wakeIfDue(long now) {
        long d = deadline;
        if (d != 0 && now - d >= 0) {
            wake();
        }
    }

    /** How often this subscriber's queue overflowed. */
    synchronized long overflows() {
        return overflows;
    }
}
