package io.github.aggregator.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After a crash the restored snapshot takes a new number; the number its content was stored under goes with it, on
 * disk too, through further crashes, until the content changes ({@link SnapshotStore#heldBefore}). A crash is the
 * data directory copied while the store is open, as {@code kill -9} leaves it.
 */
class RenumberTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration RETRY = Duration.ofMillis(200);

    @TempDir
    Path root;

    private static SnapshotStore memory() {
        return new SnapshotStore(16, Duration.ofDays(1), () -> T0);
    }

    private static Snapshot record(SnapshotStore store, int n, Instant at) throws Exception {
        return store.record("a", new FetchResult.Success(Json.MAPPER.readTree("{\"n\":" + n + "}")), at);
    }

    /** Copies {@code from} to a new directory while its store is open: what a crash leaves. */
    private Path crash(Path from, String name) throws Exception {
        Path to = root.resolve(name);
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static String prefix(Snapshot s) {
        return s.hash().substring(0, Snapshot.ID_HASH_LENGTH);
    }

    @Test
    void theNumberAContentWasStoredUnderOutlivesTwoCrashesUntilTheContentChanges() throws Exception {
        Path first = root.resolve("first");
        Snapshot stored;
        Path once;
        try (DurableStore durable = DurableStore.open(first, RETRY)) {
            SnapshotStore store = memory();
            store.attach(durable, List.of("a"));
            record(store, 1, T0);
            stored = record(store, 2, T0.plusSeconds(1));
            Await.isTrue(() -> durable.pending() == 0, WAIT, "version 2 on disk");
            once = crash(first, "once");
        }
        Snapshot renumbered;
        Path twice;
        try (DurableStore durable = DurableStore.open(once, RETRY)) {
            SnapshotStore store = memory();
            assertEquals(Set.of("a"), store.attach(durable, List.of("a")));
            renumbered = store.latest("a").orElseThrow();
            assertTrue(renumbered.version() > stored.version(), renumbered.toString());
            assertEquals(stored.hash(), renumbered.hash());
            assertTrue(store.heldBefore(renumbered, stored.version(), prefix(stored)));
            assertFalse(store.heldBefore(renumbered, stored.version() - 1, prefix(stored)), "below what was stored");
            assertFalse(store.heldBefore(renumbered, renumbered.version() + 1, prefix(stored)), "above the current");
            assertFalse(store.heldBefore(renumbered, stored.version(), "000000000000"), "other content");
            assertFalse(store.heldBefore(renumbered, stored.version(), ""), "no hash");
            // the renumbered snapshot, written before anything changed
            Await.isTrue(() -> durable.pending() == 0 && durable.writes() > 0, WAIT, "the renumbering on disk");
            twice = crash(once, "twice");
        }
        try (DurableStore durable = DurableStore.open(twice, RETRY)) {
            SnapshotStore store = memory();
            assertEquals(Set.of("a"), store.attach(durable, List.of("a")), "a second crash keeps the snapshot");
            Snapshot again = store.latest("a").orElseThrow();
            assertTrue(again.version() > renumbered.version(), again.toString());
            assertTrue(store.heldBefore(again, stored.version(), prefix(stored)), "the first number still counts");
            assertTrue(store.heldBefore(again, renumbered.version(), prefix(stored)), "and the one between");
            // fetched again unchanged: still; changed: no longer
            Snapshot same = record(store, 2, T0.plusSeconds(5));
            assertEquals(again.version(), same.version());
            assertTrue(store.heldBefore(same, stored.version(), prefix(stored)));
            Snapshot changed = record(store, 3, T0.plusSeconds(6));
            assertFalse(store.heldBefore(changed, stored.version(), prefix(changed)));
            assertFalse(store.heldBefore(changed, again.version(), prefix(again)));
            assertFalse(store.heldBefore(same, stored.version(), prefix(stored)), "no longer the latest");
        }
    }
}
