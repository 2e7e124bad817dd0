package io.github.aggregator.stream;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.source.Snapshot;
import java.util.List;
import java.util.Optional;

/**
 * What an event stream reads besides the hub: the latest state of what it follows and the versions a resuming client
 * missed. Implemented over the {@link SnapshotStore} for whole sources and by {@link FieldViews} for one field of a
 * source. Thread-safe.
 */
public interface History {
    /** The latest snapshot of {@code id}, including one without data yet (version 0). */
    Optional<Snapshot> latest(String id);

    /**
     * Every version of {@code id} newer than {@code afterVersion}, oldest first, when all of them are known; empty when
     * some are gone or {@code afterVersion} is not a version this history can place.
     */
    Optional<List<Snapshot>> since(String id, long afterVersion);

    /** Version {@code version} of {@code id}, if it is the latest or still in history. */
    Optional<Snapshot> at(String id, long version);

    /**
     * Whether this history can vouch that version {@code version} of {@code id} held content whose hash starts with
     * {@code hashPrefix} (the hash part of an event id): only then may a client's id count as current or as a point to
     * replay from.
     */
    boolean holds(String id, long version, String hashPrefix);

    /** The history of whole sources held in {@code store}. */
    static History of(SnapshotStore store) {
        return new History() {
            @Override
            public Optional<Snapshot> latest(String id) {
                return store.latest(id);
            }

            @Override
            public Optional<List<Snapshot>> since(String id, long afterVersion) {
                return store.since(id, afterVersion);
            }

            @Override
            public Optional<Snapshot> at(String id, long version) {
                return store.at(id, version);
            }

            @Override
            public boolean holds(String id, long version, String hashPrefix) {
                return store.holds(id, version, hashPrefix);
            }
        };
    }
}
