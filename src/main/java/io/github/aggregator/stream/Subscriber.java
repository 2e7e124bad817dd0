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
    private boolean closed; // guarded by lock
    private long overflows; // guarded by lock

    /**
     * @param sourceIds the sources this subscriber follows (one stream may carry several)
     * @param client the client's address, for per-client limits
     * @param capacity signals buffered before they collapse into one resync
     */
    Subscriber(List<String> sourceIds, String client, int capacity) {
        this.sourceIds = List.copyOf(sourceIds);
        this.client = client;
        this.capacity = capacity;
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

    /** The next signal, or null when none arrived within {@code timeout}. */
    Signal poll(Duration timeout) throws InterruptedException {
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            while (queue.isEmpty()) {
                if (nanos <= 0) {
                    return null;
                }
                nanos = nonEmpty.awaitNanos(nanos);
            }
            return queue.poll();
        } finally {
            lock.unlock();
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
