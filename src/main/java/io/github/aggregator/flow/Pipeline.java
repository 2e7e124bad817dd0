package io.github.aggregator.flow;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.Combiner;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.Transport;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The path of a fetch result to subscribers, shared by the server and the one-shot refresh command: result → next
 * snapshot → transport (which stores it everywhere) → store, listeners, and the combined sources built from it.
 * Thread-safe; results of one source must arrive one at a time (the poller guarantees it).
 *
 * <p>Built first, from the parts it feeds; what reacts to its snapshots (the hub, the poller) is added with {@link
 * #listen} before the transport starts, so neither side needs the other to exist first.
 */
public final class Pipeline implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Pipeline.class.getName());

    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Transport transport;
    private final Clock clock;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<String, Object> combineLocks = new ConcurrentHashMap<>();

    /** Sees every snapshot stored here that is news (after the store has it), on the delivering thread. */
    @FunctionalInterface
    public interface Listener {
        /** @param newVersion whether {@code s} is a version this instance did not hold (a change) */
        void received(Snapshot s, boolean newVersion);
    }

    /** Feeds {@code transport} (not started yet: the caller starts it once the listeners are added). */
    public Pipeline(SourceRegistry registry, SnapshotStore store, Transport transport, Clock clock) {
        this.registry = registry;
        this.store = store;
        this.clock = clock;
        this.transport = transport;
        transport.onSnapshot(this::received);
    }

    /** Adds {@code l}, which then sees every snapshot that is news, in the order added. */
    public void listen(Listener l) {
        listeners.add(l);
    }

    public Transport transport() {
        return transport;
    }

    /**
     * Turns a fetch result into the next snapshot and hands it to the transport, which stores and delivers it.
     *
     * @return the snapshot, or empty when another instance produces this source now
     */
    public Optional<Snapshot> record(SourceConfig source, FetchResult result, Instant at) {
        // the same instance in the common case; checked first, it also keeps the record's generated equals (whose
        // call site is linked at its first use, a cost on the path to the first answer) for a replaced config
        if (!registry.find(source.id())
                .map(current -> current == source || source.equals(current))
                .orElse(false)) {
            return Optional.empty(); // fetched under a config that was replaced meanwhile
        }
        Optional<Snapshot> before = store.latest(source.id());
        Snapshot now = store.next(source.id(), result, at);
        if (!transport.publish(now)) {
            return Optional.empty();
        }
        boolean wasStale = before.map(Snapshot::stale).orElse(false);
        if (now.stale() && !wasStale) {
            LOG.log(Level.WARNING, "source " + source.id() + ": serving last good data, " + now.error());
        } else if (!now.stale() && wasStale) {
            LOG.log(Level.INFO, "source " + source.id() + ": recovered at version " + now.version());
        }
        return Optional.of(now);
    }

    /**
     * A snapshot from this or another instance: store it, tell the listener, and rebuild the combined sources that
     * use it (where this instance produces them).
     */
    private void received(Snapshot s) {
        long before = store.latest(s.id()).map(Snapshot::version).orElse(0L);
        if (registry.find(s.id()).isEmpty() || !store.offer(s)) {
            return; // not a source in force, or older than (or the same as) what is held
        }
        boolean newVersion = s.version() > before;
        listeners.forEach(l -> l.received(s, newVersion));
        registry.dependents(s.id()).forEach(this::recombine);
    }

    /** Rebuilds {@code combined} from its parts' latest snapshots, where this instance produces it. */
    public void recombine(SourceConfig combined) {
        if (!transport.mayProduce(combined.id())) {
            return;
        }
        // parts arrive concurrently: one recombination at a time, each reading the parts' latest state inside the
        // lock, so the last one stored reflects every part stored before it (combine cycles are refused by the
        // config, so the recursion through received() ends)
        synchronized (combineLocks.computeIfAbsent(combined.id(), k -> new Object())) {
            Combiner.combine(combined, store::latest).ifPresent(r -> record(combined, r, clock.instant()));
        }
    }

    @Override
    public void close() {
        transport.close();
    }
}
