package io.github.aggregator.stream;

import io.github.aggregator.source.Snapshot;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Fans snapshots out to the subscribers of each source. {@link #deliver} never blocks: it only offers to bounded
 * queues, so a slow subscriber cannot delay the fetcher or anyone else. Thread-safe.
 */
public final class Hub {
    private final int queueCapacity;
    private final ConcurrentHashMap<String, Topic> topics = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /** @param queueCapacity signals buffered per subscriber before they collapse into one resync */
    public Hub(int queueCapacity) {
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("queue capacity must be at least 1");
        }
        this.queueCapacity = queueCapacity;
    }

    /** Registers a subscriber to {@code id}; it receives every signal delivered after this call. */
    Subscriber subscribe(String id) {
        Subscriber s = new Subscriber(id, queueCapacity);
        topics.computeIfAbsent(id, k -> new Topic()).subscribers.add(s);
        if (closed) {
            s.close(new Signal.Closed("server shutting down", null));
        }
        return s;
    }

    void unsubscribe(Subscriber s) {
        Topic t = topics.get(s.sourceId());
        if (t != null) {
            t.subscribers.remove(s);
        }
    }

    /** Open subscriptions to {@code id}. */
    public int subscribers(String id) {
        Topic t = topics.get(id);
        return t == null ? 0 : t.subscribers.size();
    }

    /**
     * Hands a newly stored snapshot to the subscribers of its source: a {@code Changed} signal when its version is
     * newer than the last one seen, a {@code StatusChanged} when it turned stale or recovered. Older versions are
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
            if (s.hasData() && (last == null || s.version() > last.version())) {
                change = new Signal.Changed(s);
            }
            t.last = s;
        }
        for (Subscriber sub : t.subscribers) {
            if (status != null) {
                sub.offer(status);
            }
            if (change != null) {
                sub.offer(change);
            }
        }
    }

    /** Ends every stream of {@code id} with {@code event} (e.g. {@code removed}) and forgets the source. */
    public void remove(String id, String event, String reason) {
        Topic t = topics.remove(id);
        if (t != null) {
            t.subscribers.forEach(s -> s.close(new Signal.Closed(reason, event)));
        }
    }

    /** Ends every stream with a final comment; later subscriptions end at once. */
    public void close(String reason) {
        closed = true;
        topics.values().forEach(t -> t.subscribers.forEach(s -> s.close(new Signal.Closed(reason, null))));
    }

    private static final class Topic {
        final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
        Snapshot last; // guarded by this
    }
}
