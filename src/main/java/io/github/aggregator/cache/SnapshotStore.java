package io.github.aggregator.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * The latest snapshot of every source and a bounded history of its recent versions, held in Caffeine. Thread-safe:
 * each source's entry is replaced atomically, and readers always see a consistent latest + history pair.
 */
public final class SnapshotStore {
    private final int historySize;
    private final Cache<String, Entry> entries;

    /** @param historySize versions kept per source for resume; must be at least 1 */
    public SnapshotStore(int historySize) {
        if (historySize < 1) {
            throw new IllegalArgumentException("historySize must be at least 1");
        }
        this.historySize = historySize;
        this.entries = Caffeine.newBuilder().build();
    }

    /** The latest snapshot of {@code id}, including a failed-before-first one (version 0). */
    public Optional<Snapshot> latest(String id) {
        Entry e = entries.getIfPresent(id);
        return e == null ? Optional.empty() : Optional.of(e.latest);
    }

    /**
     * Applies a fetch result to {@code id}: a success bumps the version only when the content hash changed, a 304
     * moves {@code fetchedAt} only, a failure keeps the data and marks it stale.
     *
     * @return the snapshot now stored
     */
    public Snapshot record(String id, FetchResult result, Instant at) {
        Entry e = entries.asMap().compute(id, (k, old) -> {
            Snapshot prev = old == null ? null : old.latest;
            Snapshot next = switch (result) {
                case FetchResult.Success ok -> fresh(prev, id, ok.data(), at);
                case FetchResult.Partial p -> fresh(prev, id, p.data(), at).failed(p.reason());
                case FetchResult.NotModified n ->
                    prev == null || !prev.hasData()
                            ? Snapshot.failedBeforeFirst(id, "upstream answered 304 to an unconditional request")
                            : prev.succeeded(prev.data(), prev.hash(), at);
                case FetchResult.Failure f ->
                    prev == null ? Snapshot.failedBeforeFirst(id, f.reason()) : prev.failed(f.reason());
            };
            return with(old, next);
        });
        return e.latest;
    }

    private static Snapshot fresh(Snapshot prev, String id, JsonNode data, Instant at) {
        String hash = Json.hash(data);
        return prev == null ? new Snapshot(id, 1, at, at, false, null, data, hash) : prev.succeeded(data, hash, at);
    }

    /**
     * Stores a snapshot made elsewhere (another instance) unless it is older than the one held. Versions never go
     * backwards.
     *
     * @return true when it was stored
     */
    public boolean offer(Snapshot s) {
        boolean[] stored = {false};
        entries.asMap().compute(s.id(), (k, old) -> {
            if (old != null && old.latest.version() > s.version()) {
                return old;
            }
            stored[0] = true;
            return with(old, s);
        });
        return stored[0];
    }

    /**
     * Every version of {@code id} newer than {@code afterVersion}, oldest first, if all of them are still in history;
     * empty when some are gone (or {@code afterVersion} is unknown).
     */
    public Optional<List<Snapshot>> since(String id, long afterVersion) {
        Entry e = entries.getIfPresent(id);
        if (e == null || afterVersion < 0 || afterVersion > e.latest.version()) {
            return Optional.empty();
        }
        List<Snapshot> out = new ArrayList<>();
        for (Snapshot h : e.history) {
            if (h.version() > afterVersion) {
                out.add(h);
            }
        }
        long needed = e.latest.version() - afterVersion;
        return out.size() == needed ? Optional.of(out) : Optional.empty();
    }

    /** Version {@code version} of {@code id}, if it is the latest or still in history. */
    public Optional<Snapshot> at(String id, long version) {
        Entry e = entries.getIfPresent(id);
        if (e == null) {
            return Optional.empty();
        }
        if (e.latest.version() == version && e.latest.hasData()) {
            return Optional.of(e.latest);
        }
        return e.history.stream().filter(h -> h.version() == version).findFirst();
    }

    /** Drops every source not in {@code ids}. */
    public void retain(Collection<String> ids) {
        entries.asMap().keySet().retainAll(ids);
    }

    private Entry with(Entry old, Snapshot next) {
        Deque<Snapshot> history = old == null ? new ArrayDeque<>() : new ArrayDeque<>(old.history);
        if (next.hasData() && (history.isEmpty() || history.peekLast().version() < next.version())) {
            history.addLast(next);
            while (history.size() > historySize) {
                history.removeFirst();
            }
        }
        return new Entry(next, List.copyOf(history));
    }

    private record Entry(Snapshot latest, List<Snapshot> history) {}
}
