package io.github.aggregator.stream;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The events one SSE client of one source receives, in order: the resume decision first, then changes and status
 * flips as they arrive, heartbeats when nothing happens. Never emits a version twice or a version older than one it
 * already sent. Used by one handler thread; {@link #close} may be called from any thread.
 */
public final class EventStream implements AutoCloseable {
    static final String KEEP_ALIVE = "keep-alive";

    private final Hub hub;
    private final SnapshotStore store;
    private final String id;
    private final Duration heartbeat;
    private final Subscriber subscriber;
    private long sentVersion; // 0 until the first data event
    private boolean sentStale;
    private boolean ended;

    /**
     * Subscribes at once, so nothing that happens after this constructor is missed.
     *
     * @param heartbeat how long {@link #next} waits before it returns a keep-alive comment
     */
    public EventStream(Hub hub, SnapshotStore store, String id, Duration heartbeat) {
        this.hub = hub;
        this.store = store;
        this.id = id;
        this.heartbeat = heartbeat;
        this.subscriber = hub.subscribe(id);
    }

    /**
     * The first events, given the client's {@code Last-Event-ID} (null when absent). Equal to the current version:
     * nothing (a status event if the source is stale). Older, with every missed version in history: those versions
     * as updates, in order. Anything else: one fresh snapshot.
     */
    public List<SseEvent> start(String lastEventId) {
        List<SseEvent> out = new ArrayList<>();
        Optional<Snapshot> latest = store.latest(id);
        if (latest.isEmpty()) {
            return out;
        }
        Snapshot now = latest.get();
        if (!now.hasData()) {
            status(now, out);
            return out;
        }
        long last = parseVersion(lastEventId);
        if (last > 0 && last == now.version()) {
            sentVersion = last;
        } else if (last > 0 && last < now.version()) {
            store.since(id, last)
                    .ifPresentOrElse(
                            missed -> missed.forEach(s -> data(s, "update", out)), () -> data(now, "snapshot", out));
        } else {
            data(now, "snapshot", out);
        }
        if (now.stale() != sentStale) {
            status(now, out);
        }
        return out;
    }

    /**
     * Waits up to the heartbeat interval for the next events. Returns a keep-alive comment when nothing happened, and
     * an empty list once the stream has ended (after the closing events).
     */
    public List<SseEvent> next() throws InterruptedException {
        List<SseEvent> out = new ArrayList<>();
        if (ended) {
            return out;
        }
        Signal signal = subscriber.poll(heartbeat);
        switch (signal) {
            case null -> out.add(SseEvent.comment(KEEP_ALIVE));
            case Signal.Changed c -> changed(c.snapshot(), out);
            case Signal.StatusChanged s -> status(s.snapshot(), out);
            case Signal.Resync r ->
                store.latest(id).ifPresent(now -> {
                    if (now.hasData() && now.version() > sentVersion) {
                        data(now, "snapshot", out);
                    }
                    if (now.stale() != sentStale) {
                        status(now, out);
                    }
                });
            case Signal.Closed c -> {
                ended = true;
                if (c.event() != null) {
                    out.add(new SseEvent(c.event(), null, Json.text(Map.of("id", id)), null));
                }
                out.add(SseEvent.comment(c.reason()));
            }
        }
        return out;
    }

    /** True once the closing events were returned. */
    public boolean ended() {
        return ended;
    }

    @Override
    public void close() {
        hub.unsubscribe(subscriber);
    }

    private void changed(Snapshot s, List<SseEvent> out) {
        if (s.version() <= sentVersion) {
            return;
        }
        if (sentVersion == 0) {
            data(s, "snapshot", out);
            return;
        }
        if (s.version() > sentVersion + 1) {
            // a gap (the change raced the subscription): fill it from history, else send the state whole
            Optional<List<Snapshot>> missed = store.since(id, sentVersion);
            if (missed.isPresent()) {
                missed.get().stream().filter(m -> m.version() <= s.version()).forEach(m -> data(m, "update", out));
                return;
            }
            data(s, "snapshot", out);
            return;
        }
        data(s, "update", out);
    }

    private void data(Snapshot s, String event, List<SseEvent> out) {
        out.add(new SseEvent(event, Long.toString(s.version()), Json.text(Json.envelope(s, true)), null));
        sentVersion = s.version();
    }

    private void status(Snapshot s, List<SseEvent> out) {
        if (s.stale() == sentStale) {
            return;
        }
        String eventId = sentVersion > 0 ? Long.toString(sentVersion) : null;
        out.add(new SseEvent("status", eventId, Json.text(Json.envelope(s, false)), null));
        sentStale = s.stale();
    }

    /** A positive version from a Last-Event-ID, or -1 when absent or not a plain positive number. */
    static long parseVersion(String lastEventId) {
        if (lastEventId == null || lastEventId.isEmpty() || lastEventId.length() > 18) {
            return -1;
        }
        for (int i = 0; i < lastEventId.length(); i++) {
            char c = lastEventId.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
        }
        return Long.parseLong(lastEventId);
    }
}
