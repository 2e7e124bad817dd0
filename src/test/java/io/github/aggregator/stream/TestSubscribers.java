package io.github.aggregator.stream;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Subscribers of source "s" for tests, that wait with a timed park or, as the hub's do, untimed and ended by a {@link
 * Wakeups} sweep of their own. {@link #close} stops the sweeps.
 */
final class TestSubscribers implements AutoCloseable {
    private final List<Wakeups> sweeps = new CopyOnWriteArrayList<>();

    /** A subscriber with a queue of {@code capacity}, swept or not. */
    Subscriber of(boolean swept, int capacity) {
        if (!swept) {
            return new Subscriber(List.of("s"), "client", capacity);
        }
        List<Subscriber> all = new CopyOnWriteArrayList<>();
        Wakeups wakeups = new Wakeups(all);
        sweeps.add(wakeups);
        Subscriber sub = new Subscriber(List.of("s"), "client", capacity, wakeups);
        all.add(sub);
        return sub;
    }

    /** Keeps {@code wakeups} to close with the others. */
    Wakeups keep(Wakeups wakeups) {
        sweeps.add(wakeups);
        return wakeups;
    }

    @Override
    public void close() {
        sweeps.forEach(Wakeups::close);
    }
}
