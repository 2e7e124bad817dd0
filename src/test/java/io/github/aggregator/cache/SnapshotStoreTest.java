package io.github.aggregator.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class SnapshotStoreTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private static FetchResult ok(String json) throws Exception {
        JsonNode node = Json.MAPPER.readTree(json);
        return new FetchResult.Success(node);
    }

    @Test
    void versionBumpsOnlyWhenContentChanges() throws Exception {
        SnapshotStore store = new SnapshotStore(8);
        Snapshot s1 = store.record("a", ok("{\"x\":1,\"y\":2}"), T0);
        Snapshot s2 = store.record("a", ok("{ \"y\": 2, \"x\": 1 }"), T0.plusSeconds(1));
        Snapshot s3 = store.record("a", ok("{\"x\":2,\"y\":2}"), T0.plusSeconds(2));
        assertEquals(1, s1.version());
        assertEquals(1, s2.version(), "same content in another key order is not a change");
        assertEquals(T0.plusSeconds(1), s2.fetchedAt());
        assertEquals(T0, s2.changedAt());
        assertEquals(2, s3.version());
        assertEquals(T0.plusSeconds(2), s3.changedAt());
    }

    @Test
    void failureKeepsDataAndVersionAndMarksStale() throws Exception {
        SnapshotStore store = new SnapshotStore(8);
        store.record("a", ok("{\"x\":1}"), T0);
        Snapshot failed = store.record("a", new FetchResult.Failure("HTTP 500"), T0.plusSeconds(1));
        assertTrue(failed.stale());
        assertEquals("HTTP 500", failed.error());
        assertEquals(1, failed.version());
        assertEquals(T0, failed.fetchedAt());
        assertEquals("{\"x\":1}", failed.data().toString());
        Snapshot back = store.record("a", ok("{\"x\":1}"), T0.plusSeconds(2));
        assertFalse(back.stale());
        assertNull(back.error());
        assertEquals(1, back.version());
    }

    @Test
    void failureBeforeFirstSuccessHasNoData() {
        SnapshotStore store = new SnapshotStore(8);
        Snapshot s = store.record("a", new FetchResult.Failure("connection refused"), T0);
        assertFalse(s.hasData());
        assertTrue(s.stale());
        assertEquals(0, s.version());
    }

    @Test
    void historyIsBoundedAndSinceNeedsEveryMissedVersion() throws Exception {
        SnapshotStore store = new SnapshotStore(3);
        for (int i = 1; i <= 5; i++) {
            store.record("a", ok("{\"v\":" + i + "}"), T0.plusSeconds(i));
        }
        assertEquals(
                List.of(4L, 5L),
                store.since("a", 3).orElseThrow().stream()
                        .map(Snapshot::version)
                        .toList());
        assertEquals(List.of(), store.since("a", 5).orElseThrow());
        assertTrue(store.since("a", 1).isEmpty(), "versions 2 was evicted: no gap-free replay");
        assertTrue(store.since("a", 6).isEmpty(), "a future version is unknown");
        assertTrue(store.since("b", 0).isEmpty());
    }

    @Test
    void offerNeverGoesBackwards() throws Exception {
        SnapshotStore store = new SnapshotStore(4);
        store.record("a", ok("{\"v\":1}"), T0);
        Snapshot v2 = store.record("a", ok("{\"v\":2}"), T0.plusSeconds(1));
        Snapshot old = new Snapshot("a", 1, T0, T0, false, null, Json.MAPPER.readTree("{\"v\":1}"), "x".repeat(64));
        assertFalse(store.offer(old));
        assertEquals(v2, store.latest("a").orElseThrow());
    }

    @Test
    void retainDropsRemovedSources() throws Exception {
        SnapshotStore store = new SnapshotStore(4);
        store.record("a", ok("1"), T0);
        store.record("b", ok("2"), T0);
        store.retain(List.of("b"));
        assertTrue(store.latest("a").isEmpty());
        assertTrue(store.latest("b").isPresent());
    }
}
