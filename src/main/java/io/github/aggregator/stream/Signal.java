package io.github.aggregator.stream;

import io.github.aggregator.source.Snapshot;

/** What the hub puts in a subscriber's queue. */
sealed interface Signal {

    /** The source has a new version. */
    record Changed(Snapshot snapshot) implements Signal {}

    /** The source turned stale or recovered. */
    record StatusChanged(Snapshot snapshot) implements Signal {}

    /** The queue overflowed: pending signals were dropped; send the latest state of every source instead. */
    record Resync() implements Signal {}

    /** Source {@code id} was removed from the config. */
    record Removed(String id, String reason) implements Signal {}

    /** The stream must end, after an optional {@code event} and a final comment carrying {@code reason}. */
    record Closed(String reason, String event, String id) implements Signal {}
}
