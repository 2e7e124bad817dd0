package io.github.aggregator.stream;

import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import java.util.Collection;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The seam between producing snapshots and fanning them out: the local transport hands each snapshot straight to this
 * instance's receiver; a distributed one stores it where every instance can read it and delivers it to the receiver
 * of every instance. It also decides which instance produces each source, so that a cluster calls each upstream
 * once per interval.
 */
public interface Transport extends AutoCloseable {

    /**
     * Stores {@code snapshot}, just produced by this instance, and delivers it to every instance (this one included,
     * on the calling thread). May block on I/O.
     *
     * @return false when the snapshot was refused because this instance no longer produces that source (another
     *     instance took over); nothing was delivered then
     */
    boolean publish(Snapshot snapshot);

    /** Sets the one receiver of snapshots from any instance. Called once, before {@link #start}. */
    void onSnapshot(Consumer<Snapshot> receiver);

    /**
     * Starts sharing {@code sources}: a distributed transport hands their shared state to the receiver before
     * returning, then keeps its claims on the sources this instance produces while {@code active} says they are
     * being polled here.
     */
    default void start(Collection<SourceConfig> sources, Predicate<String> active) {}

    /**
     * Whether this instance should produce {@code sourceId} now (fetch it, or recombine it). A distributed transport
     * claims the source when no instance holds it. May block on I/O.
     */
    default boolean mayProduce(String sourceId) {
        return true;
    }

    /** The sources in force changed: stop claiming any not in {@code sources}. */
    default void retain(Collection<SourceConfig> sources) {}

    /** "ok" or "degraded" when this instance is part of a cluster; empty when it runs alone. */
    default Optional<String> clusterState() {
        return Optional.empty();
    }

    /** False while a distributed transport has not reached its cluster even once since start. */
    default boolean joinedOnce() {
        return true;
    }

    /** Gives up this instance's claims and stops delivering. */
    @Override
    void close();
}
