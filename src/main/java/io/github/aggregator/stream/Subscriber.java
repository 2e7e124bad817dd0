package io.github.aggregator.stream;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One SSE client's bounded queue. The hub offers without ever blocking; the client's own handler thread drains it.
 * When an offer finds the queue full, everything pending collapses into one {@link Signal.Resync}: the data is state,
 * so the latest snapshot replaces the missed updates and nothing is lost. Thread-safe.
 */
final class Subscriber {
    private final List<String> sourceIds;
    private final String client;
    private final int capacity;
    private final ArrayDeque<Signal> queue = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition nonEmpty = lock.newCondition();
    private final Wakeups wakeups;
    private boolean closed; // guarded by lock
    private long overflows; // guarded by lock
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
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            boolean overflowed = queue.size() >= capacity;
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
            nonEmpty.signal();
            return overflowed;
        } finally {
            lock.unlock();
        }
    }

    /** Ends the stream: drops what is pending and queues {@code closed}, which is always delivered. */
    void close(Signal.Closed signal) {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            queue.clear();
            queue.add(signal);
            nonEmpty.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next signal, or null when none arrived within {@code timeout} (with {@link Wakeups}, up to one sweep period
     * later).
     */
    Signal poll(Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            if (!queue.isEmpty() || nanos <= 0) {
                return queue.poll();
            }
            if (wakeups == null) {
                while (queue.isEmpty()) {
                    if (nanos <= 0) {
                        return null;
                    }
                    nanos = nonEmpty.awaitNanos(nanos);
                }
                return queue.poll();
            }
            long end = wakeups.now() + nanos;
            deadline = end == 0 ? 1 : end;
            wakeups.waiting(this, nanos);
            try {
                while (queue.isEmpty()) {
                    if (wakeups.now() - end >= 0) {
                        return null;
                    }
                    nonEmpty.await();
                }
                return queue.poll();
            } finally {
                deadline = 0;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Ends the current wait when its deadline is at or before {@code now}; called by {@link Wakeups}. */
    void wakeIfDue(long now) {
        long d = deadline;
        if (d != 0 && now - d >= 0) {
            lock.lock();
            try {
                nonEmpty.signal();
            } finally {
                lock.unlock();
            }
        }
    }

    /** How often this subscriber's queue overflowed. */
    long overflows() {
        lock.lock();
        try {
            return overflows;
        } finally {
            lock.unlock();
        }
    }
}
