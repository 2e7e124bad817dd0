package io.github.aggregator.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The latest snapshot of every source and a bounded history of its recent versions, held in Caffeine, with an
 * optional {@link DurableStore} beneath it that keeps the same on disk. Thread-safe: each source's entry is replaced
 * atomically, and readers always see a consistent latest + history pair. Storing never waits for the disk: the
 * durable store is only told which source changed, and writes it on its own thread.
 *
 * <p>History is bounded by count ({@code historySize}) and by age ({@code historyMaxAge}, measured from each version's
 * {@code changedAt}); the latest version is always kept.
 */
public final class SnapshotStore {
    private final int historySize;
    private final Duration historyMaxAge;
    private final InstantSource clock;
    private volatile DurableStore durable;
    private final Cache<String, Entry> entries;
    /** The number every source's next change must exceed (numbers a previous run or another process handed out). */
    private final AtomicLong floor = new AtomicLong();
    /** By source: the version its last change was renumbered to, so that history knows the gap is by design. */
    private final Map<String, Long> renumbered = new ConcurrentHashMap<>();

    /** @param historySize versions kept per source for resume; must be at least 1 */
    public SnapshotStore(int historySize) {
        this(historySize, null, InstantSource.system());
    }

    /**
     * In memory only until a durable store is {@link #attach attached}.
     *
     * @param historySize versions kept per source for resume; must be at least 1
     * @param historyMaxAge versions older than this (by {@code changedAt}) leave history; null for no age bound
     * @param clock the time the age bound is measured against
     */
    public SnapshotStore(int historySize, Duration historyMaxAge, InstantSource clock) {
        if (historySize < 1) {
            throw new IllegalArgumentException("historySize must be at least 1");
        }
        if (historyMaxAge != null && (historyMaxAge.isNegative() || historyMaxAge.isZero())) {
            throw new IllegalArgumentException("historyMaxAge must be positive");
        }
        this.historySize = historySize;
        this.historyMaxAge = historyMaxAge;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.entries = Caffeine.newBuilder().build();
    }

    /**
     * Puts {@code durable} beneath this store: loads what it held at start for the sources in {@code ids} (each
     * latest snapshot marked restored), has it forget every other source, and from now on has it keep every change.
     * Call once, before anything is stored.
     *
     * @return the ids restored
     */
    public Set<String> attach(DurableStore durable, Collection<String> ids) {
        return attach(durable, ids, id -> false);
    }

    /**
     * As {@link #attach(DurableStore, Collection)}, also restoring (and keeping) every stored id that {@code also}
     * accepts: the instances of parametrised sources, which exist only once someone names them.
     */
    public synchronized Set<String> attach(
            DurableStore durable, Collection<String> ids, java.util.function.Predicate<String> also) {
        if (this.durable != null) {
            throw new IllegalStateException("a durable store is attached already");
        }
        this.durable = durable;
        durable.attach(this);
        Set<String> kept = new java.util.HashSet<>(ids);
        durable.restored().keySet().stream().filter(also).forEach(kept::add);
        Set<String> restored = new java.util.TreeSet<>();
        durable.retain(kept);
        long base = durable.crashBase();
        if (base > 0) {
            raiseFloor(base + 1);
        }
        durable.restored().forEach((id, stored) -> {
            if (kept.contains(id) && stored.latest().hasData()) {
                entries.put(id, base == 0 ? restored(stored) : renumber(stored, base + 1));
                restored.add(id);
                if (base > 0) {
                    changed(id); // the new number goes to disk; only once it is held here (the writer reads it)
                }
            }
        });
        durable.forgetRestored();
        return restored;
    }

    private Entry restored(Entry stored) {
        return new Entry(
                stored.latest().asRestored(),
                bound(stored.history()),
                stored.before(),
                stored.jumps(),
                stored.formerly());
    }

    /**
     * What the file held after a run that did not close cleanly: that run may have handed out versions above the last
     * one written, up to {@code version - 1}, so the latest content takes number {@code version} (the one it held
     * before leaves history: a client holding it gets the same content under the new number as a snapshot; a poller
     * holding its entity tag still gets a 304, see {@link #heldBefore}).
     */
    private Entry renumber(Entry stored, long version) {
        Snapshot latest = stored.latest().asRestored().renumbered(version);
        List<Snapshot> history = new ArrayList<>(stored.history());
        history.removeIf(h -> h.version() == stored.latest().version());
        history.add(latest);
        Set<Long> jumps = new java.util.HashSet<>(stored.jumps());
        jumps.add(version);
        durable.reserve(stored.latest().id(), version);
        Held formerly = stored.formerly() != null && stored.formerly().hash().equals(latest.hash())
                ? stored.formerly() // renumbered again before it changed: the first number it had still counts
                : new Held(stored.latest().version(), latest.hash());
        return new Entry(latest, bound(List.copyOf(history)), stored.before(), Set.copyOf(jumps), formerly);
    }

    /** The durable store beneath, if any. */
    public Optional<DurableStore> durable() {
        return Optional.ofNullable(durable);
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
        Entry e = entries.asMap()
                .compute(id, (k, old) -> with(old, apply(old == null ? null : old.latest, id, result, at)));
        changed(id);
        return e.latest;
    }

    /**
     * The snapshot that applying a fetch result to {@code id} would store, without storing it: the producer hands it
     * to the transport, which stores it (through {@link #offer}) wherever it goes. The caller makes sure one result
     * per source is applied at a time.
     */
    public Snapshot next(String id, FetchResult result, Instant at) {
        return apply(latest(id).orElse(null), id, result, at);
    }

    private Snapshot apply(Snapshot prev, String id, FetchResult result, Instant at) {
        Snapshot s = switch (result) {
            case FetchResult.Success ok -> fresh(prev, id, ok.data(), at);
            case FetchResult.Partial p -> fresh(prev, id, p.data(), at).failed(p.reason());
            case FetchResult.NotModified n ->
                prev == null || !prev.hasData()
                        ? Snapshot.failedBeforeFirst(id, "upstream answered 304 to an unconditional request")
                        : prev.succeeded(prev.data(), prev.hash(), at);
            case FetchResult.Failure f ->
                prev == null ? Snapshot.failedBeforeFirst(id, f.reason()) : prev.failed(f.reason());
            // the poller keeps these to itself; were one recorded, the data held stays as it is
            case FetchResult.Deferred d -> prev == null ? Snapshot.failedBeforeFirst(id, "request budget spent") : prev;
        };
        boolean change = s.hasData() && (prev == null || s.version() != prev.version());
        if (!change) {
            return s;
        }
        long above = floor.get();
        if (s.version() <= above) {
            s = s.renumbered(above + 1);
            renumbered.put(id, s.version());
        }
        DurableStore d = durable;
        if (d != null && !d.reserve(id, s.version())) {
            // the store is closing: this change is not handed out (the next start fetches it again)
            return prev != null ? prev : Snapshot.failedBeforeFirst(id, "the service is shutting down");
        }
        return s;
    }

    private static Snapshot fresh(Snapshot prev, String id, JsonNode data, Instant at) {
        String hash = Json.hash(data);
        return prev == null ? new Snapshot(id, 1, at, at, false, null, data, hash) : prev.succeeded(data, hash, at);
    }

    /**
     * Makes the next change of every source take a version above {@code version}: for numbers handed out before that
     * this store did not know of (by a run that crashed, or another process on the same file), so none repeats.
     */
    void raiseFloor(long version) {
        floor.accumulateAndGet(version, Math::max);
    }

    /**
     * Stores a snapshot unless it is older than the one held, or the same one again. Versions never go backwards.
     *
     * @return true when it was stored (and is news to subscribers)
     */
    public boolean offer(Snapshot s) {
        boolean[] stored = {false};
        entries.asMap().compute(s.id(), (k, old) -> {
            if (old != null && (old.latest.version() > s.version() || same(old.latest, s))) {
                return old;
            }
            stored[0] = true;
            return with(old, s);
        });
        if (stored[0]) {
            changed(s.id());
        }
        return stored[0];
    }

    private void changed(String id) {
        DurableStore d = durable;
        if (d != null) {
            d.changed(id);
        }
    }

    /**
     * Every version of {@code id} newer than {@code afterVersion}, oldest first, if all of them are still in history;
     * empty when some are gone (or {@code afterVersion} is unknown). Versions follow each other by one, except where
     * the numbering jumped by design (after a crash, numbers that were possibly handed out are skipped).
     */
    public Optional<List<Snapshot>> since(String id, long afterVersion) {
        Entry e = entries.getIfPresent(id);
        if (e == null || afterVersion < 0 || afterVersion > e.latest.version()) {
            return Optional.empty();
        }
        if (afterVersion == e.latest.version()) {
            return Optional.of(List.of());
        }
        List<Snapshot> history = bound(e.history);
        int from = 0;
        while (from < history.size() && history.get(from).version() <= afterVersion) {
            from++;
        }
        boolean known = from > 0
                ? history.get(from - 1).version() == afterVersion
                : history.size() == e.history.size() && afterVersion == (e.before == null ? 0 : e.before.version());
        long previous = afterVersion;
        for (int i = from; known && i < history.size(); i++) {
            long v = history.get(i).version();
            known = v == previous + 1 || e.jumps.contains(v);
            previous = v;
        }
        return known && previous == e.latest.version()
                ? Optional.of(List.copyOf(history.subList(from, history.size())))
                : Optional.empty();
    }

    /** The versions of {@code id} in history, oldest first (the latest last, when it has data). */
    public List<Snapshot> history(String id) {
        Entry e = entries.getIfPresent(id);
        return e == null ? List.of() : bound(e.history);
    }

    /**
     * Whether this store can vouch that version {@code version} of {@code id} held content whose hash starts with
     * {@code hashPrefix}: it is the latest, in history, or the version that last fell out of history (so that a
     * client holding it can still be brought up to date from the whole history).
     */
    public boolean holds(String id, long version, String hashPrefix) {
        Entry e = entries.getIfPresent(id);
        if (e == null || version < 1) {
            return false;
        }
        if (e.before != null && e.before.version() == version) {
            return e.before.hash().startsWith(hashPrefix);
        }
        return at(id, version).map(s -> s.hash().startsWith(hashPrefix)).orElse(false);
    }

    /**
     * Whether a client holding version {@code version} with a content hash starting with {@code hashPrefix} (the
     * {@value Snapshot#ID_HASH_LENGTH} hex digits of an event id or entity tag) holds the content of {@code latest}
     * under a number it had before a start after a crash renumbered it: from the number it was stored under up to
     * (not including) its current one. False once {@code latest} is no longer the latest snapshot of its source.
     */
    public boolean heldBefore(Snapshot latest, long version, String hashPrefix) {
        Entry e = entries.getIfPresent(latest.id());
        return e != null
                && e.formerly != null
                && e.latest.version() == latest.version()
                && version >= e.formerly.version()
                && version < latest.version()
                && hashPrefix.length() == Snapshot.ID_HASH_LENGTH
                && latest.hash().startsWith(hashPrefix);
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
        return bound(e.history).stream().filter(h -> h.version() == version).findFirst();
    }

    /** Whether {@code b} says nothing {@code a} does not (the same snapshot, received twice). */
    private static boolean same(Snapshot a, Snapshot b) {
        return a.version() == b.version()
                && a.stale() == b.stale()
                && Objects.equals(a.fetchedAt(), b.fetchedAt())
                && Objects.equals(a.error(), b.error())
                && Objects.equals(a.hash(), b.hash());
    }

    /** Drops every source not in {@code ids}, here and in the durable store. */
    public void retain(Collection<String> ids) {
        entries.asMap().keySet().retainAll(ids);
        renumbered.keySet().retainAll(ids);
        DurableStore d = durable;
        if (d != null) {
            d.retain(ids);
        }
    }

    /** What is held of {@code id} now, for the durable store's writer; null when nothing is. */
    Entry entry(String id) {
        Entry e = entries.getIfPresent(id);
        return e == null ? null : new Entry(e.latest, bound(e.history), e.before, e.jumps, e.formerly);
    }

    /** The ids of every source held. */
    Set<String> ids() {
        return Set.copyOf(entries.asMap().keySet());
    }

    private Entry with(Entry old, Snapshot next) {
        Deque<Snapshot> history = old == null ? new ArrayDeque<>() : new ArrayDeque<>(old.history);
        if (next.hasData()
                && !history.isEmpty()
                && history.peekLast().version() == next.version()
                && !next.hash().equals(history.peekLast().hash())) {
            history.removeLast(); // the same version with other content (after a split brain): the newer one holds
        }
        if (next.hasData() && (history.isEmpty() || history.peekLast().version() < next.version())) {
            history.addLast(next);
        }
        Held before = old == null ? null : old.before;
        while (history.size() > historySize) {
            Snapshot gone = history.removeFirst();
            before = new Held(gone.version(), gone.hash());
        }
        List<Snapshot> kept = bound(List.copyOf(history));
        Set<Long> jumps = new java.util.HashSet<>();
        if (old != null) {
            jumps.addAll(old.jumps);
        }
        if (next.hasData() && renumbered.remove(next.id(), next.version())) {
            jumps.add(next.version());
        }
        jumps.retainAll(kept.stream().map(Snapshot::version).toList());
        Held formerly = old != null && old.formerly != null && next.version() == old.latest.version()
                ? old.formerly // the renumbered content, fetched again unchanged (or failing)
                : null;
        return new Entry(next, kept, before, Set.copyOf(jumps), formerly);
    }

    /** {@code history} without the versions older than {@code historyMaxAge}; the newest always stays. */
    private List<Snapshot> bound(List<Snapshot> history) {
        if (historyMaxAge == null || history.isEmpty()) {
            return history;
        }
        Instant oldest = clock.instant().minus(historyMaxAge);
        int from = 0;
        while (from < history.size() - 1 && history.get(from).changedAt().isBefore(oldest)) {
            from++;
        }
        return from == 0 ? history : List.copyOf(history.subList(from, history.size()));
    }

    /** A version and its content hash, without the data. */
    record Held(long version, String hash) {}

    /**
     * What is held of one source.
     *
     * @param history its recent versions with data, oldest first, the latest last
     * @param before the version that last fell out of history by count, or null
     * @param jumps the versions in history whose number follows the one before them by more than one by design
     * @param formerly the number {@code latest}'s content was stored under before a start after a crash renumbered
     *     it (the first such number when that happened more than once), or null
     */
    record Entry(Snapshot latest, List<Snapshot> history, Held before, Set<Long> jumps, Held formerly) {
        Entry(Snapshot latest, List<Snapshot> history, Held before, Set<Long> jumps) {
            this(latest, history, before, jumps, null);
        }
    }
}
