package io.github.aggregator.stream;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Views of one field of a source ({@code ?select=/price}): the selected part of every snapshot, with its own change
 * detection, so that a subscriber that shows one value is woken only when that value changes. Each (source, pointer)
 * view is computed once per source snapshot, however many subscribers and pollers share it, and delivered through
 * the {@link Hub} under its key {@code id/pointer} (for example {@code demo-ticker/price}; source ids cannot contain
 * {@code /}).
 *
 * <p>Versions: a view's version is the source version at which the selected value last changed. It therefore goes up
 * only when the value changes (not by one), denotes one value wherever the source version denotes one content (after
 * a restart or on another instance too), and a client resuming with it gets nothing until the value changes. A value
 * the pointer does not reach is {@code null}. The view's {@code stale}, {@code error} and {@code fetchedAt} follow
 * the source.
 *
 * <p>Thread-safe. For keys without a pointer it answers from the store, so an event stream can follow sources and
 * views side by side.
 */
public final class FieldViews implements History {
    /** Views kept at most; beyond it, views nobody subscribes to are dropped (and rebuilt from history when read). */
    static final int MAX_VIEWS = 4096;

    private static final int MAX_POINTER_LENGTH = 256;

    private final SnapshotStore store;
    private final Hub hub;
    private final int historySize;
    private final ConcurrentHashMap<String, Map<String, View>> bySource = new ConcurrentHashMap<>();

    /** @param historySize view versions kept per view for resume, as for sources */
    public FieldViews(SnapshotStore store, Hub hub, int historySize) {
        this.store = store;
        this.hub = hub;
        this.historySize = historySize;
    }

    /** The key of the view of {@code pointer} in source {@code id}; the source id itself for the empty pointer. */
    public static String key(String id, String pointer) {
        return pointer == null || pointer.isEmpty() ? id : id + pointer;
    }

    /** The source a key belongs to: the part before the first {@code /}. */
    public static String sourceOf(String key) {
        int slash = key.indexOf('/');
        return slash < 0 ? key : key.substring(0, slash);
    }

    /** The pointer part of a key, empty for a whole source. */
    static String pointerOf(String key) {
        int slash = key.indexOf('/');
        return slash < 0 ? "" : key.substring(slash);
    }

    /**
     * Why {@code pointer} is not an RFC 6901 JSON Pointer this service accepts, or null when it is one: it starts with
     * {@code /}, escapes {@code ~} as {@code ~0} or {@code ~1}, has no control characters and at most 256 characters.
     */
    public static String problem(String pointer) {
        if (pointer.isEmpty()) {
            return null;
        }
        if (pointer.charAt(0) != '/') {
            return "select must be a JSON Pointer starting with /";
        }
        if (pointer.length() > MAX_POINTER_LENGTH) {
            return "select is longer than " + MAX_POINTER_LENGTH + " characters";
        }
        for (int i = 0; i < pointer.length(); i++) {
            char c = pointer.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return "select contains a control character";
            }
            if (c == '~'
                    && (i + 1 == pointer.length() || (pointer.charAt(i + 1) != '0' && pointer.charAt(i + 1) != '1'))) {
                return "select has a ~ not followed by 0 or 1 (write ~0 for ~ and ~1 for /)";
            }
        }
        return null;
    }

    /**
     * Makes sure the view {@code key} exists, computing it from the source's latest snapshot and history. Call before
     * subscribing to it or reading it. A key without a pointer needs nothing.
     */
    public void open(String key) {
        String id = sourceOf(key);
        if (id.equals(key)) {
            return;
        }
        Map<String, View> views = bySource.computeIfAbsent(id, k -> new ConcurrentHashMap<>());
        if (!views.containsKey(key) && count() >= MAX_VIEWS) {
            evictUnwatched();
        }
        views.computeIfAbsent(key, k -> build(id, k));
    }

    /**
     * Recomputes the views of {@code s}'s source from a newly stored snapshot and hands the ones that changed (in value
     * or status) to the hub. Call after the store holds {@code s}, on the delivering thread.
     */
    public void received(Snapshot s) {
        Map<String, View> views = bySource.get(s.id());
        if (views == null) {
            return;
        }
        for (View v : views.values()) {
            Snapshot next = v.apply(s);
            if (next != null) {
                hub.deliver(next);
            }
        }
    }

    /** Forgets the views of a removed source and tells their subscribers, as {@link Hub#remove} does for sources. */
    public void removed(String id, String reason) {
        Map<String, View> views = bySource.remove(id);
        if (views != null) {
            views.keySet().forEach(key -> hub.remove(key, reason));
        }
    }

    /** Open subscriptions that follow source {@code id} whole or one of its fields (a stream counts once per entry). */
    public int subscribers(String id) {
        int n = hub.subscribers(id);
        Map<String, View> views = bySource.get(id);
        if (views != null) {
            for (String key : views.keySet()) {
                n += hub.subscribers(key);
            }
        }
        return n;
    }

    @Override
    public Optional<Snapshot> latest(String key) {
        View v = view(key);
        return v == null ? store.latest(key) : Optional.ofNullable(v.latest());
    }

    @Override
    public Optional<List<Snapshot>> since(String key, long afterVersion) {
        View v = view(key);
        return v == null ? store.since(key, afterVersion) : v.since(afterVersion);
    }

    @Override
    public Optional<Snapshot> at(String key, long version) {
        View v = view(key);
        return v == null ? store.at(key, version) : v.at(version);
    }

    @Override
    public boolean holds(String key, long version, String hashPrefix) {
        View v = view(key);
        if (v == null) {
            return store.holds(key, version, hashPrefix);
        }
        return version >= 1
                && v.at(version).map(s -> s.hash().startsWith(hashPrefix)).orElse(false);
    }

    private View view(String key) {
        String id = sourceOf(key);
        if (id.equals(key)) {
            return null;
        }
        open(key);
        return bySource.get(id).get(key);
    }

    private int count() {
        return bySource.values().stream().mapToInt(Map::size).sum();
    }

    private void evictUnwatched() {
        bySource.values().forEach(m -> m.keySet().removeIf(k -> hub.subscribers(k) == 0));
    }

    /** A view built from the source's history (oldest first) and its latest snapshot. */
    private View build(String id, String key) {
        View v = new View(key, JsonPointer.compile(pointerOf(key)), historySize);
        Optional<Snapshot> latest = store.latest(id);
        if (latest.isEmpty()) {
            return v;
        }
        Snapshot now = latest.get();
        List<Snapshot> older = store.history(id).stream()
                .filter(h -> h.version() < now.version())
                .toList();
        older.subList(Math.max(0, older.size() - historySize), older.size()).forEach(v::apply);
        v.apply(now);
        return v;
    }

    /** One (source, pointer) view: its latest snapshot and the versions at which its value changed. */
    private static final class View {
        private final String key;
        private final JsonPointer pointer;
        private final int historySize;
        private final Deque<Snapshot> history = new ArrayDeque<>(); // guarded by this; oldest first, with data
        private Snapshot latest; // guarded by this
        private long sourceVersion = -1; // guarded by this: the newest source version applied

        View(String key, JsonPointer pointer, int historySize) {
            this.key = key;
            this.pointer = pointer;
            this.historySize = historySize;
        }

        synchronized Snapshot latest() {
            return latest;
        }

        /** Applies one source snapshot; returns the view's new latest snapshot, or null when it is not news. */
        synchronized Snapshot apply(Snapshot s) {
            if (s.version() < sourceVersion) {
                return null;
            }
            sourceVersion = s.version();
            Snapshot next;
            if (!s.hasData()) {
                if (latest != null && latest.hasData()) {
                    return null;
                }
                next = new Snapshot(key, 0, null, null, s.stale(), s.error(), null, null);
            } else {
                JsonNode value = s.data().at(pointer);
                if (value.isMissingNode()) {
                    value = NullNode.getInstance();
                }
                String hash = Json.hash(value);
                if (latest != null && latest.hasData() && latest.hash().equals(hash)) {
                    next = new Snapshot(
                            key,
                            latest.version(),
                            s.fetchedAt(),
                            latest.changedAt(),
                            s.stale(),
                            s.error(),
                            latest.data(),
                            hash);
                } else {
                    next = new Snapshot(
                            key, s.version(), s.fetchedAt(), s.changedAt(), s.stale(), s.error(), value, hash);
                    history.addLast(next);
                    while (history.size() > historySize) {
                        history.removeFirst();
                    }
                }
            }
            Snapshot before = latest;
            latest = next;
            boolean news = before == null
                    || before.version() != next.version()
                    || before.stale() != next.stale()
                    || !java.util.Objects.equals(before.error(), next.error());
            return news ? next : null;
        }

        /** The versions after {@code after}, when {@code after} is a version of this view still in history. */
        synchronized Optional<List<Snapshot>> since(long after) {
            if (latest == null || !latest.hasData() || after > latest.version()) {
                return Optional.empty();
            }
            if (after == latest.version()) {
                return Optional.of(List.of());
            }
            boolean known = false;
            List<Snapshot> out = new ArrayList<>();
            for (Snapshot h : history) {
                if (h.version() == after) {
                    known = true;
                } else if (h.version() > after) {
                    out.add(h);
                }
            }
            return known ? Optional.of(out) : Optional.empty();
        }

        synchronized Optional<Snapshot> at(long version) {
            if (latest != null && latest.hasData() && latest.version() == version) {
                return Optional.of(latest);
            }
            return history.stream().filter(h -> h.version() == version).findFirst();
        }
    }
}
