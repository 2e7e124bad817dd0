package io.github.aggregator.stream;

import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.Snapshot;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Fans snapshots out to the subscribers of each source and enforces the subscriber limits. {@link #deliver} never
 * blocks: it only offers to bounded queues, so a slow subscriber cannot delay the fetcher or anyone else. One
 * subscriber (one SSE connection) may follow several sources; it counts once against the limits. Thread-safe.
 */
public final class Hub {
    private final int queueCapacity;
    private final int maxSubscribers;
    private final int maxPerClient;
    private final Metrics metrics;
    private final ConcurrentHashMap<String, Topic> topics = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Integer> perClient = new ConcurrentHashMap<>();
    private final Set<Subscriber> all = ConcurrentHashMap.newKeySet();
    private final Wakeups wakeups;
    private int total; // guarded by this
    private volatile boolean closed;

    /**
     * @param queueCapacity signals buffered per subscriber before they collapse into one resync
     * @param maxSubscribers open subscriptions allowed in total
     * @param maxPerClient open subscriptions allowed per client address
     * @param metrics counts events handed to subscribers and queue overflows
     */
    public Hub(int queueCapacity, int maxSubscribers, int maxPerClient, Metrics metrics) {
        this(queueCapacity, maxSubscribers, maxPerClient, metrics, System::nanoTime);
    }

    /**
     * A hub whose heartbeat waits end on {@code time}'s clock (a test passes a clock it advances).
     *
     * @see #Hub(int, int, int, Metrics)
     */
    public Hub(int queueCapacity, int maxSubscribers, int maxPerClient, Metrics metrics, Scheduler time) {
        this(queueCapacity, maxSubscribers, maxPerClient, metrics, time::nanoTime);
    }

    private Hub(int queueCapacity, int maxSubscribers, int maxPerClient, Metrics metrics, LongSupplier nanos) {
        if (queueCapacity < 1 || maxSubscribers < 1 || maxPerClient < 1) {
            throw new IllegalArgumentException("queue capacity and limits must be at least 1");
        }
        this.queueCapacity = queueCapacity;
        this.maxSubscribers = maxSubscribers;
        this.maxPerClient = maxPerClient;
        this.metrics = metrics;
        this.wakeups = new Wakeups(all, nanos);
    }

    /** A hub whose metrics nobody reads. */
    public Hub(int queueCapacity, int maxSubscribers, int maxPerClient) {
        this(queueCapacity, maxSubscribers, maxPerClient, new Metrics());
    }

    /** A subscription refused because a limit is reached; the message says which. */
    public static final class LimitReached extends RuntimeException {
        LimitReached(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Registers a subscriber to {@code ids}; it receives every signal delivered after this call.
     *
     * @throws LimitReached when the total or per-client limit is reached
     */
    Subscriber subscribe(List<String> ids, String client) {
        synchronized (this) {
            if (total >= maxSubscribers) {
                throw new LimitReached("the server has reached its maximum of " + maxSubscribers + " subscribers");
            }
            if (perClient.getOrDefault(client, 0) >= maxPerClient) {
                throw new LimitReached("this client has reached its maximum of " + maxPerClient + " open streams");
            }
            total++;
            perClient.merge(client, 1, Integer::sum);
        }
        Subscriber s = new Subscriber(ids, client, queueCapacity, wakeups);
        all.add(s);
        ids.stream() // an instance's stream counts for its template, as its reads and events do
                .map(id -> InstanceId.base(FieldViews.sourceOf(id)))
                .distinct()
                .forEach(metrics::streamOpened);
        for (String id : ids) {
            topics.computeIfAbsent(id, k -> new Topic()).subscribers.add(s);
        }
        if (closed) {
            s.close(new Signal.Closed("server shutting down", null, null));
        }
        return s;
    }

    void unsubscribe(Subscriber s) {
        s.shutdown(); // no direct write reaches the response after its handler returns
        if (!all.remove(s)) {
            return;
        }
        for (String id : s.sourceIds()) {
            Topic t = topics.get(id);
            if (t != null) {
                t.subscribers.remove(s);
            }
        }
        synchronized (this) {
            total--;
            perClient.computeIfPresent(s.client(), (k, n) -> n <= 1 ? null : n - 1);
            notifyAll();
        }
    }

    /** Open subscriptions that follow {@code id}. */
    public int subscribers(String id) {
        Topic t = topics.get(id);
        return t == null ? 0 : t.subscribers.size();
    }

    /** Open subscriptions (SSE connections) in total. */
    public synchronized int total() {
        return total;
    }

    /**
     * Hands a newly stored snapshot to the subscribers of its source: a {@code Changed} signal when its version is
     * newer than the last one seen (or the same version with other content), a {@code StatusChanged} when it turned stale or recovered. Older versions are
     * ignored, so no subscriber ever sees a version go backwards.
     */
    public void deliver(Snapshot s) {
        Topic t = topics.computeIfAbsent(s.id(), k -> new Topic());
        Signal status = null;
        Signal change = null;
        synchronized (t) {
            Snapshot last = t.last;
            if (last != null && s.version() < last.version()) {
                return;
            }
            if (last == null ? s.stale() : s.stale() != last.stale()) {
                status = new Signal.StatusChanged(s);
            }
            if (s.hasData() && (last == null || s.version() > last.version() || otherContent(s, last))) {
                change = new Signal.Changed(s);
            }
            t.last = s;
        }
        // a field view counts for its source, an instance for its template
        String base = InstanceId.base(FieldViews.sourceOf(s.id()));
        if (status == null && change == null) {
            metrics.delivered(base, 0);
            return;
        }
        String overflowId = InstanceId.base(s.id());
        int perSubscriber = (status != null ? 1 : 0) + (change != null ? 1 : 0);
        long delivered = 0;
        Subscriber[] direct = null;
        int directCount = 0;
        for (Subscriber sub : t.subscribers) {
            delivered += perSubscriber;
            if (sub.allowsDirect()) {
                if (direct == null || directCount == direct.length) {
                    direct = java.util.Arrays.copyOf(
                            direct == null ? new Subscriber[0] : direct,
                            Math.max(16, Math.max(directCount * 2, t.subscribers.size())));
                }
                direct[directCount++] = sub;
            } else {
                for (int n = sub.enqueue(status, change); n > 0; n--) {
                    metrics.overflowed(overflowId);
                }
            }
        }
        if (directCount > 0) {
            Fanout.start(direct, directCount, status, change, () -> metrics.overflowed(overflowId));
        }
        metrics.delivered(base, delivered);
    }

    /**
     * The same version with other content: after a split brain two instances made the same version of different
     * data, and the cluster's copy replaced this one. Subscribers must get it, or they keep data no one else holds.
     */
    private static boolean otherContent(Snapshot s, Snapshot last) {
        return s.version() == last.version() && !java.util.Objects.equals(s.hash(), last.hash());
    }

    /**
     * Tells every subscriber of {@code id} that the source is gone: a single-source stream ends, a multiplexed one
     * drops the source and goes on. Forgets the source.
     */
    public void remove(String id, String reason) {
        Topic t = topics.remove(id);
        if (t != null) {
            t.subscribers.forEach(s -> s.offer(new Signal.Removed(id, reason)));
        }
    }

    /** Ends every stream with a final comment; later subscriptions end at once. */
    public void close(String reason) {
        closed = true;
        all.forEach(s -> s.close(new Signal.Closed(reason, null, null)));
        wakeups.close();
    }

    /**
     * Waits until every stream has ended (its handler wrote the final comment and unsubscribed), at most {@code
     * timeout}.
     *
     * @return true when none is left
     */
    public boolean awaitEmpty(java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (total > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    private static final class Topic {
        final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
        Snapshot last; // guarded by this
    }
}
