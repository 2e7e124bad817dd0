package io.github.aggregator.stream;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The events one SSE client receives, for one source or several multiplexed on one connection: the resume decision
 * first, then changes and status flips as they arrive, heartbeats when nothing happens. Per source it never emits a
 * version twice or a version older than one it already sent.
 *
 * <p>Event ids: a single-source stream uses the snapshot's {@link Snapshot#eventId} ({@code 7-967c7cb03b89}: the
 * version and the first 12 hex digits of its content hash); a multiplexed stream uses a cursor naming what the client
 * holds of every source, {@code id:eventId} pairs joined by commas in the order the sources were listed ({@code
 * weather-nyc:7-967c7cb03b89,fx-usd:0}; 0 = nothing received yet), so that a reconnect resumes each source on its
 * own. A resume id is trusted only when its hash matches the content this service holds at that version: an id from
 * before a restart, from another instance after a split brain, or from the previous release (a bare version number)
 * that does not prove it gets a fresh snapshot, never "you are current" over other data.
 *
 * <p>Used by one handler thread, and by the hub's fan-out workers when {@link #direct} allows it, never by both at
 * once; {@link #close} may be called from any thread.
 */
public final class EventStream implements AutoCloseable {
    static final String KEEP_ALIVE = "keep-alive";
    private static final int MAX_CURSOR_LENGTH = 16 * 1024;

    private final Hub hub;
    private final History store;
    private final Deltas deltas;
    private final boolean multiplexed;
    private final Duration heartbeat;
    private final Subscriber subscriber;
    private final Map<String, Sent> sent = new LinkedHashMap<>();
    private boolean ended;

    /** What one source's client holds. */
    private static final class Sent {
        long version; // 0 until the first data event
        String hash; // the content hash of that version, or (after a resume) the prefix the client's id named
        Snapshot base; // the data the client holds, when known (for patches)
        boolean stale;
    }

    /**
     * Subscribes at once, so nothing that happens after this constructor is missed.
     *
     * @param deltas patches for {@code ?delta=json-patch}; null to send whole updates
     * @param ids the sources, in the order the client listed them
     * @param multiplexed true for {@code /api/events} (cursor ids), false for one source (version ids)
     * @param client the client's address, for the per-client limit
     * @param heartbeat how long {@link #next} waits before it returns a keep-alive comment
     * @throws Hub.LimitReached when a subscriber limit is reached
     */
    public EventStream(
            Hub hub,
            SnapshotStore store,
            Deltas deltas,
            List<String> ids,
            boolean multiplexed,
            String client,
            Duration heartbeat) {
        this(hub, History.of(store), deltas, ids, multiplexed, client, heartbeat);
    }

    /**
     * As above, reading from {@code history}: a store of whole sources, or {@link FieldViews} for keys that name one
     * field of a source.
     */
    public EventStream(
            Hub hub,
            History store,
            Deltas deltas,
            List<String> ids,
            boolean multiplexed,
            String client,
            Duration heartbeat) {
        this.hub = hub;
        this.store = store;
        this.deltas = deltas;
        this.multiplexed = multiplexed;
        this.heartbeat = heartbeat;
        ids.forEach(id -> sent.put(id, new Sent()));
        this.subscriber = hub.subscribe(ids, client);
    }

    /**
     * The first events, given the client's {@code Last-Event-ID} (null when absent). Per source: equal to the current
     * version, nothing (a status event if the source is stale); older, with every missed version in history, those
     * versions as updates (or patches), in order; anything else, one fresh snapshot.
     */
    public List<SseEvent> start(String lastEventId) {
        List<SseEvent> out = new ArrayList<>();
        Map<String, Held> resume = multiplexed ? parseCursor(lastEventId) : single(lastEventId);
        Map<String, List<Snapshot>> replays = new HashMap<>();
        // first record what the client holds of every source, so each cursor sent during the replay is complete
        for (String id : sent.keySet()) {
            Held last = resume.get(id);
            if (last == null) {
                continue;
            }
            // trusted only when this store vouches that the version it names held that same content
            if (!store.holds(id, last.version(), last.hash())) {
                continue;
            }
            Optional<List<Snapshot>> missed = store.since(id, last.version());
            if (missed.isPresent()) {
                Sent st = sent.get(id);
                st.version = last.version();
                st.hash = last.hash();
                st.base = store.at(id, last.version()).orElse(null);
                replays.put(id, missed.get());
            }
        }
        for (String id : List.copyOf(sent.keySet())) {
            Optional<Snapshot> latest = store.latest(id);
            if (latest.isEmpty()) {
                continue;
            }
            Snapshot now = latest.get();
            Sent st = sent.get(id);
            if (now.hasData()) {
                List<Snapshot> missed = replays.get(id);
                if (missed != null) {
                    missed.forEach(m -> emitChange(m, st, out));
                } else {
                    data(now, st, "snapshot", out);
                }
            }
            status(now, st, out);
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
        handle(subscriber.poll(heartbeat), out);
        return out;
    }

    /** Where a direct delivery writes its events: the client's response, flushed. */
    @FunctionalInterface
    public interface Sink {
        void write(List<SseEvent> events) throws java.io.IOException;
    }

    /**
     * Lets the hub's fan-out workers write changes and status flips to the client through {@code sink} while the
     * handler waits in {@link #next}, instead of waking it for each (see {@link Subscriber}). Call it after writing
     * what {@link #start} returned. The sink is called on a worker thread, never while the handler writes; it must
     * mark its writes for the write watchdog as the handler's are.
     */
    public void direct(Sink sink) {
        subscriber.direct((status, change) -> {
            List<SseEvent> out = new ArrayList<>(2);
            if (status != null) {
                handle(status, out);
            }
            if (change != null) {
                handle(change, out);
            }
            if (!out.isEmpty()) {
                sink.write(out);
            }
        });
    }

    /**
     * Stops direct delivery and waits for a direct write under way: call it before the response's stream is closed,
     * so that nothing is written to it afterwards.
     */
    public void stopDirect() {
        subscriber.stopDirect();
    }

    private void handle(Signal signal, List<SseEvent> out) {
        switch (signal) {
            case null -> out.add(SseEvent.comment(KEEP_ALIVE));
            case Signal.Changed c -> changed(c.snapshot(), out);
            case Signal.StatusChanged s -> {
                Sent st = sent.get(s.snapshot().id());
                // a flip older than the data the client holds (deliveries of two fetches may overlap) says nothing
                if (st != null && s.snapshot().version() >= st.version) {
                    status(s.snapshot(), st, out);
                }
            }
            case Signal.Resync r -> {
                for (String id : List.copyOf(sent.keySet())) {
                    Sent st = sent.get(id);
                    store.latest(id).ifPresent(now -> {
                        if (now.hasData() && news(now, st)) {
                            data(now, st, "snapshot", out);
                        }
                        status(now, st, out);
                    });
                }
            }
            case Signal.Removed r -> removed(r, out);
            case Signal.Closed c -> {
                ended = true;
                if (c.event() != null) {
                    out.add(new SseEvent(c.event(), null, Json.text(Map.of("id", c.id())), null));
                }
                out.add(SseEvent.comment(c.reason()));
            }
        }
    }

    /** Whether the handler waits for the next signal in {@link #next} (tests wait for it). */
    boolean waiting() {
        return subscriber.waiting();
    }

    /** True once the closing events were returned. */
    public boolean ended() {
        return ended;
    }

    @Override
    public void close() {
        hub.unsubscribe(subscriber);
    }

    private void removed(Signal.Removed r, List<SseEvent> out) {
        if (sent.remove(r.id()) == null) {
            return;
        }
        out.add(new SseEvent("removed", multiplexed ? cursor() : null, Json.text(Map.of("id", r.id())), null));
        if (sent.isEmpty()) {
            ended = true;
            out.add(SseEvent.comment(r.reason()));
        }
    }

    private void changed(Snapshot s, List<SseEvent> out) {
        Sent st = sent.get(s.id());
        if (st == null || !news(s, st)) {
            return;
        }
        if (st.version == 0 || s.version() == st.version) {
            // nothing held yet, or the same version with other content (a split brain healed): the state whole
            data(s, st, "snapshot", out);
            return;
        }
        if (s.version() > st.version + 1) {
            // a gap (the change raced the subscription): fill it from history, else send the state whole
            Optional<List<Snapshot>> missed = store.since(s.id(), st.version);
            if (missed.isPresent()) {
                missed.get().stream().filter(m -> m.version() <= s.version()).forEach(m -> emitChange(m, st, out));
                return;
            }
            data(s, st, "snapshot", out);
            return;
        }
        emitChange(s, st, out);
    }

    /** Whether {@code s} is newer than what the client holds, or the same version with other content. */
    private static boolean news(Snapshot s, Sent st) {
        return s.version() > st.version
                || (s.version() == st.version && !s.hash().equals(st.hash));
    }

    /** A change the client can apply to what it holds: a patch when asked for and smaller, else an update. */
    private void emitChange(Snapshot s, Sent st, List<SseEvent> out) {
        if (deltas != null && st.base != null && st.base.version() == st.version) {
            Optional<String> patch = deltas.patch(st.base, s);
            if (patch.isPresent()) {
                st.version = s.version();
                st.hash = s.hash();
                st.base = s;
                out.add(new SseEvent("patch", eventId(st), patch.get(), null));
                return;
            }
        }
        data(s, st, "update", out);
    }

    /** Records that the client now holds {@code s} (of the source {@code st} tracks) and adds its event. */
    private void data(Snapshot s, Sent st, String event, List<SseEvent> out) {
        st.version = s.version();
        st.hash = s.hash();
        st.base = s;
        out.add(multiplexed ? new SseEvent(event, cursor(), Frames.envelope(s), null) : Frames.single(s, event));
    }

    private void status(Snapshot s, Sent st, List<SseEvent> out) {
        if (s.stale() == st.stale) {
            return;
        }
        st.stale = s.stale();
        out.add(new SseEvent("status", st.version > 0 || multiplexed ? eventId(st) : null, statusData(s), null));
    }

    private static String statusData(Snapshot s) {
        return Json.text(Frames.tree(s, false));
    }

    private String eventId(Sent st) {
        return multiplexed ? cursor() : held(st);
    }

    private static String held(Sent st) {
        return st.version == 0 ? "0" : st.version + "-" + st.hash.substring(0, Snapshot.ID_HASH_LENGTH);
    }

    private String cursor() {
        StringBuilder sb = new StringBuilder();
        sent.forEach((id, st) -> {
            if (!sb.isEmpty()) {
                sb.append(',');
            }
            sb.append(id).append(':').append(held(st));
        });
        return sb.toString();
    }

    /**
     * What a resume id says the client holds of one source: a version and a prefix of its content hash.
     *
     * @param version a positive version
     * @param hash lower-case hex digits the content hash of that version must start with
     */
    record Held(long version, String hash) {}

    private Map<String, Held> single(String lastEventId) {
        Map<String, Held> m = new HashMap<>();
        Held held = parseId(lastEventId);
        if (held != null) {
            sent.keySet().forEach(id -> m.put(id, held));
        }
        return m;
    }

    /** What the client holds by source, from a multiplexed cursor; pairs that are malformed or name other sources or
     * nothing held ({@code :0}) are left out. */
    Map<String, Held> parseCursor(String cursor) {
        Map<String, Held> m = new HashMap<>();
        if (cursor == null || cursor.length() > MAX_CURSOR_LENGTH) {
            return m;
        }
        for (String pair : cursor.split(",")) {
            int colon = pair.lastIndexOf(':');
            if (colon > 0 && sent.containsKey(pair.substring(0, colon))) {
                Held held = parseId(pair.substring(colon + 1));
                if (held != null) {
                    m.put(pair.substring(0, colon), held);
                }
            }
        }
        return m;
    }

    /**
     * What an event id says the client holds: {@code <version>-<12 hex digits>}, or null for anything else,
     * including a bare version (the previous release's ids, which say nothing of the content: a fresh snapshot).
     */
    static Held parseId(String id) {
        if (id == null) {
            return null;
        }
        int dash = id.indexOf('-');
        if (dash < 1 || dash > 18 || id.length() != dash + 1 + Snapshot.ID_HASH_LENGTH) {
            return null;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok =
                    i < dash ? c >= '0' && c <= '9' : i == dash || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            if (!ok) {
                return null;
            }
        }
        long version = Long.parseLong(id.substring(0, dash));
        return version > 0 ? new Held(version, id.substring(dash + 1)) : null;
    }
}
