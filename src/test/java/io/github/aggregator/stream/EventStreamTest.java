package io.github.aggregator.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The resume decision and the ordering rules of one stream, on a real store and hub. */
class EventStreamTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private final SnapshotStore store = new SnapshotStore(3);
    private final Hub hub = new Hub(4, 100, 100);

    private Snapshot change(int v) throws Exception {
        Snapshot s = store.record("a", new FetchResult.Success(Json.MAPPER.readTree("{\"v\":" + v + "}")), T0);
        hub.deliver(s);
        return s;
    }

    private EventStream stream() {
        return new EventStream(hub, store, null, List.of("a"), false, "client", Duration.ofMillis(50));
    }

    private static List<String> describe(List<SseEvent> events) {
        return events.stream()
                .map(e -> e.name() == null ? ":" + e.comment() : e.name() + "@" + version(e.id()))
                .toList();
    }

    /** The version part of an event id ({@code 7-967c7cb03b89} → {@code 7}); null stays null. */
    private static String version(String id) {
        return id == null ? null : id.split("-", 2)[0];
    }

    private String idOf(int v) {
        return store.at("a", v).orElseThrow().eventId();
    }

    @Test
    void resumeCases() throws Exception {
        for (int v = 1; v <= 5; v++) {
            change(v);
        }
        try (EventStream s = stream()) {
            assertEquals(List.of(), describe(s.start(idOf(5))), "current version: nothing");
        }
        try (EventStream s = stream()) {
            assertEquals(List.of("update@4", "update@5"), describe(s.start(idOf(3))), "missed versions in history");
        }
        String wrongHash = "5-" + "0".repeat(Snapshot.ID_HASH_LENGTH);
        for (String id : new String[] {
            "1-" + "a".repeat(12),
            "0",
            "6-" + idOf(5).substring(2),
            "abc",
            "-1",
            "",
            null,
            "9".repeat(40),
            wrongHash,
            idOf(5).toUpperCase(),
            idOf(5) + "0",
            "5",
            "3"
        }) {
            try (EventStream s = stream()) {
                assertEquals(List.of("snapshot@5"), describe(s.start(id)), "fresh snapshot for " + id);
            }
        }
    }

    @Test
    void eventIdIsTheVersionAndTheHashPrefixLikeTheEtag() throws Exception {
        Snapshot s1 = change(1);
        try (EventStream s = stream()) {
            List<SseEvent> first = s.start(null);
            assertEquals(s1.eventId(), first.get(0).id());
            assertTrue(first.get(0).id().matches("1-[0-9a-f]{12}"), first.get(0).id());
            assertEquals("\"" + first.get(0).id() + "\"", s1.etag());
        }
    }

    @Test
    void anIdFromBeforeARestartIsCurrentOnlyForTheSameContent() throws Exception {
        // the old process served {"v":1} as version 1; the new one, without its history, fetched other data as 1
        String before = change(1).eventId();
        SnapshotStore restarted = new SnapshotStore(3);
        Hub hub2 = new Hub(4, 100, 100);
        hub2.deliver(restarted.record("a", new FetchResult.Success(Json.MAPPER.readTree("{\"v\":2}")), T0));
        try (EventStream s = new EventStream(hub2, restarted, null, List.of("a"), false, "c", Duration.ofMillis(50))) {
            assertEquals(List.of("snapshot@1"), describe(s.start(before)), "same version, other data: a snapshot");
        }
        SnapshotStore same = new SnapshotStore(3);
        same.record("a", new FetchResult.Success(Json.MAPPER.readTree("{\"v\":1}")), T0.plusSeconds(60));
        try (EventStream s = new EventStream(hub2, same, null, List.of("a"), false, "c", Duration.ofMillis(50))) {
            assertEquals(List.of(), describe(s.start(before)), "the same data: current");
        }
    }

    @Test
    void sameVersionWithOtherContentReachesSubscribersAsASnapshot() throws Exception {
        // a split brain: this instance made version 2 of one content, the cluster's copy of version 2 is other data
        change(1);
        Snapshot mine = change(2);
        try (EventStream s = stream()) {
            assertEquals(List.of(), describe(s.start(mine.eventId())));
            Snapshot theirs = new Snapshot(
                    "a", 2, T0, T0, false, null, Json.MAPPER.readTree("{\"v\":\"other\"}"), "ff".repeat(32));
            assertTrue(store.offer(theirs));
            hub.deliver(theirs);
            List<SseEvent> events = s.next();
            assertEquals(List.of("snapshot@2"), describe(events));
            assertEquals(theirs.eventId(), events.get(0).id());
        }
        try (EventStream s = stream()) {
            assertEquals(List.of("snapshot@2"), describe(s.start(mine.eventId())), "the superseded id is not current");
        }
    }

    @Test
    void multiplexedCursorResumesEachSourceOnItsOwn() throws Exception {
        change(1);
        change(2);
        Snapshot b = store.record("b", new FetchResult.Success(Json.MAPPER.readTree("1")), T0);
        hub.deliver(b);
        try (EventStream s = new EventStream(hub, store, null, List.of("a", "b"), true, "c", Duration.ofMillis(50))) {
            List<SseEvent> events = s.start("a:" + idOf(1) + ",b:1");
            assertEquals(List.of("update@a:2", "snapshot@a:2"), describe(events), "a replayed, b's bare 1 unproven");
            assertEquals("a:" + idOf(2) + ",b:" + b.eventId(), events.get(1).id());
        }
        try (EventStream s = new EventStream(hub, store, null, List.of("a", "b"), true, "c", Duration.ofMillis(50))) {
            assertEquals(List.of(), describe(s.start("b:" + b.eventId() + ",a:" + idOf(2))), "both current");
        }
    }

    @Test
    void changesAfterStartAreUpdatesWithoutDuplicates() throws Exception {
        change(1);
        try (EventStream s = stream()) {
            assertEquals(List.of("snapshot@1"), describe(s.start(null)));
            change(2);
            assertEquals(List.of("update@2"), describe(s.next()));
            assertEquals(List.of(":keep-alive"), describe(s.next()));
        }
    }

    @Test
    void statusOnStaleAndRecovery() throws Exception {
        change(1);
        try (EventStream s = stream()) {
            s.start(null);
            hub.deliver(store.record("a", new FetchResult.Failure("HTTP 500"), T0));
            List<SseEvent> stale = s.next();
            assertEquals(List.of("status@1"), describe(stale));
            assertTrue(stale.get(0).data().contains("\"stale\":true"));
            assertTrue(stale.get(0).data().contains("HTTP 500"));
            hub.deliver(store.record("a", new FetchResult.Failure("HTTP 502"), T0));
            assertEquals(List.of(":keep-alive"), describe(s.next()), "still stale: no second status");
            change(1);
            assertEquals(List.of("status@1"), describe(s.next()), "recovered");
        }
    }

    @Test
    void overflowCollapsesIntoOneSnapshotOfTheLatest() throws Exception {
        change(1);
        try (EventStream s = stream()) {
            s.start(null);
            for (int v = 2; v <= 12; v++) {
                change(v);
            }
            assertEquals(List.of("snapshot@12"), describe(s.next()));
            assertEquals(List.of(":keep-alive"), describe(s.next()));
        }
    }

    @Test
    void overflowOnStatusFlipsAloneDoesNotRepeatTheVersionAlreadySent() throws Exception {
        change(1);
        try (EventStream s = stream()) {
            assertEquals(List.of("snapshot@1"), describe(s.start(null)));
            for (int i = 0; i < 5; i++) {
                hub.deliver(store.record("a", new FetchResult.Failure("HTTP 500"), T0));
                hub.deliver(store.record("a", new FetchResult.Success(Json.MAPPER.readTree("{\"v\":1}")), T0));
            }
            hub.deliver(store.record("a", new FetchResult.Failure("HTTP 500"), T0));
            assertEquals(List.of("status@1"), describe(s.next()), "only the stale state, no second snapshot@1");
            assertEquals(List.of(":keep-alive"), describe(s.next()));
        }
    }

    @Test
    void closeEndsWithRemovedEventAndComment() throws Exception {
        change(1);
        try (EventStream s = stream()) {
            s.start(null);
            hub.remove("a", "source removed");
            assertEquals(List.of("removed@null", ":source removed"), describe(s.next()));
            assertTrue(s.ended());
            assertEquals(List.of(), s.next());
        }
    }

    @Test
    void encodingSplitsDataLinesAndStripsLineBreaksFromFields() {
        String wire = new String(new SseEvent("up\ndate", "1\r2", "a\nb", null).encode(), StandardCharsets.UTF_8);
        assertEquals("event: up date\nid: 1 2\ndata: a\ndata: b\n\n", wire);
    }
}
