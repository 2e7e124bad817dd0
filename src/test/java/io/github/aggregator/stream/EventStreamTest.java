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
                .map(e -> e.name() == null ? ":" + e.comment() : e.name() + "@" + e.id())
                .toList();
    }

    @Test
    void resumeCases() throws Exception {
        for (int v = 1; v <= 5; v++) {
            change(v);
        }
        try (EventStream s = stream()) {
            assertEquals(List.of(), describe(s.start("5")), "current version: nothing");
        }
        try (EventStream s = stream()) {
            assertEquals(List.of("update@4", "update@5"), describe(s.start("3")), "missed versions in history");
        }
        for (String id : new String[] {"1", "0", "6", "abc", "-1", "", null, "9".repeat(40)}) {
            try (EventStream s = stream()) {
                assertEquals(List.of("snapshot@5"), describe(s.start(id)), "fresh snapshot for " + id);
            }
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
