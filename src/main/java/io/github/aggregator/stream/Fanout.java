package io.github.aggregator.stream;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Hands one change to many subscribers the way Node and Nchan do: a few workers write it to one client after another,
 * instead of every client's handler thread being woken to write it. A profile of 10,000 streams showed the wake-up
 * (unpark, mount the parked handler's stack, park again) costing as much as the write itself.
 *
 * <p>A slow client must not delay the others, so the workers take clients from a shared index one at a time, and a
 * watcher starts another worker whenever one has been in a single client's delivery for {@link #STUCK_NANOS} while
 * clients are still waiting. The stuck one finishes when its write does or when the write watchdog cuts it off after
 * {@code writeTimeout}; that client's later changes go through its own queue and handler ({@link Subscriber}).
 * {@link #start} returns at once.
 */
final class Fanout {
    /** How long one client's delivery may take before the watcher adds a worker for the remaining clients. */
    static final long STUCK_NANOS = 2_000_000L;
    /** Clients per initial worker: fewer workers than carriers for small fan-outs. */
    private static final int PER_WORKER = 256;

    private static final int CARRIERS = Math.max(1, Runtime.getRuntime().availableProcessors());

    private final Subscriber[] targets;
    private final int count;
    private final Signal status;
    private final Signal change;
    private final Runnable overflowed;
    private final AtomicInteger next = new AtomicInteger();

    private Fanout(Subscriber[] targets, int count, Signal status, Signal change, Runnable overflowed) {
        this.targets = targets;
        this.count = count;
        this.status = status;
        this.change = change;
        this.overflowed = overflowed;
    }

    /**
     * Delivers {@code status} and {@code change} (either may be null) to the first {@code count} of {@code targets},
     * in the background.
     *
     * @param overflowed run once for each offer that overflowed a subscriber's queue
     */
    static void start(Subscriber[] targets, int count, Signal status, Signal change, Runnable overflowed) {
        Fanout f = new Fanout(targets, count, status, change, overflowed);
        int workers = Math.min(CARRIERS, (count + PER_WORKER - 1) / PER_WORKER);
        List<Worker> started = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            started.add(f.worker());
        }
        Thread.ofVirtual().name("fanout-watch").start(() -> f.watch(started));
    }

    /** One worker's state, read by the watcher. */
    private static final class Worker {
        volatile long since; // System.nanoTime() when its current client's delivery started; 0 between clients
        boolean replaced; // by the watcher only
    }

    private Worker worker() {
        Worker w = new Worker();
        Thread.ofVirtual().name("fanout").start(() -> run(w));
        return w;
    }

    private void run(Worker w) {
        int i;
        while ((i = next.getAndIncrement()) < count) {
            Subscriber s = targets[i];
            targets[i] = null; // the array outlives slow deliveries; it should not keep departed clients
            long started = System.nanoTime();
            w.since = nonZero(started);
            try {
                for (int n = s.deliver(status, change, started); n > 0; n--) {
                    overflowed.run();
                }
            } finally {
                w.since = 0;
            }
        }
    }

    /** Adds a worker for each one stuck on a client, until every client has been taken. */
    private void watch(List<Worker> workers) {
        while (next.get() < count) {
            LockSupport.parkNanos(STUCK_NANOS / 2);
            long now = System.nanoTime();
            int stuck = 0;
            for (Worker w : workers) {
                long since = w.since;
                if (!w.replaced && since != 0 && now - since > STUCK_NANOS) {
                    w.replaced = true;
                    stuck++;
                }
            }
            for (; stuck > 0 && next.get() < count; stuck--) {
                workers.add(worker());
            }
        }
    }

    private static long nonZero(long t) {
        return t == 0 ? 1 : t;
    }
}
