package io.github.aggregator.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.LogCapture;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The durable store on a real file: what survives a reopen, the bounds, and every fault it must ride out. */
class DurableStoreTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration RETRY = Duration.ofMillis(200);

    @TempDir
    Path dir;

    private final AtomicReference<Instant> now = new AtomicReference<>(T0);
    private final InstantSource clock = () -> now.get();

    private SnapshotStore memory(int historySize) {
        return new SnapshotStore(historySize, Duration.ofDays(1), clock);
    }

    private static FetchResult ok(String json) throws IOException {
        return new FetchResult.Success(Json.MAPPER.readTree(json));
    }

    private static Snapshot change(SnapshotStore store, String id, int n, Instant at) throws IOException {
        return store.record(id, ok("{\"n\":" + n + "}"), at);
    }

    @Test
    void latestHistoryAndVersionsSurviveAReopen() throws Exception {
        Snapshot last;
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            assertNull(durable.problem());
            SnapshotStore store = memory(4);
            assertEquals(Set.of(), store.attach(durable, List.of("a", "b")));
            for (int n = 1; n <= 6; n++) {
                change(store, "a", n, T0.plusSeconds(n));
            }
            store.record("b", ok("\"only\""), T0);
            last = store.record("a", new FetchResult.Failure("HTTP 503"), T0.plusSeconds(9));
        }
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            assertNull(durable.problem());
            SnapshotStore store = memory(4);
            assertEquals(Set.of("a", "b"), store.attach(durable, List.of("a", "b")));
            Snapshot a = store.latest("a").orElseThrow();
            assertTrue(a.restored(), "marked restored");
            assertEquals(last.version(), a.version());
            assertEquals(last.eventId(), a.eventId());
            assertEquals(last.fetchedAt(), a.fetchedAt(), "fetchedAt stays the old time");
            assertEquals(last.changedAt(), a.changedAt());
            assertTrue(a.stale());
            assertEquals("HTTP 503", a.error());
            assertEquals(Json.MAPPER.readTree("{\"n\":6}"), a.data());
            // history for resume: versions 3..6 (historySize 4), and 2 is the one that fell out of it
            assertEquals(
                    List.of(4L, 5L, 6L),
                    store.since("a", 3).orElseThrow().stream()
                            .map(Snapshot::version)
                            .toList());
            assertTrue(store.holds("a", 2, ""), "the version that fell out of history is still vouched for");
            assertTrue(store.since("a", 2).isPresent(), "resume from the version just before history");
            assertTrue(store.since("a", 1).isEmpty());
            // versions go on from where they were, and the first fetch clears "restored"
            Snapshot next = change(store, "a", 7, T0.plusSeconds(20));
            assertEquals(last.version() + 1, next.version());
            assertFalse(next.restored());
            Snapshot same = store.record("b", ok("\"only\""), T0.plusSeconds(30));
            assertEquals(1, same.version(), "the same content is not a new version after a restart");
            assertFalse(same.restored());
        }
    }

    @Test
    void noVersionIsHandedOutAboveTheCeilingOnDisk() throws Exception {
        VersionCeiling onDisk = new VersionCeiling(dir);
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a"));
            for (int n = 1; n <= 3 * (int) VersionCeiling.BLOCK; n++) {
                Snapshot s = change(store, "a", n, T0.plusMillis(n));
                assertEquals(n, s.version());
                long ceiling = onDisk.read().ceiling();
                assertTrue(s.version() <= ceiling, "version " + s.version() + " above the ceiling " + ceiling);
            }
            System.out.println("ceiling: " + onDisk.read() + ", changes that waited for it: " + durable.ceilingWaits());
        }
        VersionCeiling.State closed = onDisk.read();
        assertTrue(closed.clean(), closed.toString());
        assertEquals(java.util.Map.of("a", 3 * VersionCeiling.BLOCK), closed.latest());
    }

    /**
     * A copy of the data directory taken while changes are being written is what a crash at that moment leaves on
     * disk: whatever it holds, a store opened on it goes on above every version handed out before the copy.
     */
    @Test
    void afterACrashVersionsGoOnAboveEveryOneHandedOutAndResumeAcrossTheJump() throws Exception {
        Path crashed = dir.resolveSibling(dir.getFileName() + "-crashed");
        long handed;
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(64);
            store.attach(durable, List.of("a"));
            for (int n = 1; n <= 20; n++) {
                change(store, "a", n, T0.plusSeconds(n));
            }
            Await.isTrue(() -> durable.pending() == 0, WAIT, "20 versions on disk");
            for (int n = 21; n <= 40; n++) {
                change(store, "a", n, T0.plusSeconds(n));
            }
            handed = store.latest("a").orElseThrow().version();
            Files.createDirectories(crashed);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.copy(f, crashed.resolve(f.getFileName()));
                }
            }
        }
        try (DurableStore durable = DurableStore.open(crashed, RETRY)) {
            assertNull(durable.problem());
            SnapshotStore store = memory(64);
            assertEquals(Set.of("a"), store.attach(durable, List.of("a")));
            Snapshot restored = store.latest("a").orElseThrow();
            assertTrue(restored.restored());
            assertTrue(restored.version() > handed, restored.version() + " after " + handed + " handed out");
            int n = restored.data().get("n").asInt();
            assertTrue(n >= 20, "at least what was on disk: " + n);
            // a client that saw version 10 (on disk) gets the versions after it, across the jump, without a gap
            List<Snapshot> missed = store.since("a", 10).orElseThrow();
            assertEquals(restored.version(), missed.getLast().version());
            assertEquals(
                    java.util.stream.IntStream.rangeClosed(11, n).boxed().toList(),
                    missed.stream().map(s -> s.data().get("n").asInt()).toList(),
                    "each content once, in order");
            // one that saw a version that was handed out but never written gets a snapshot
            if (n < 40) {
                assertFalse(store.holds("a", n + 1, ""));
            }
            Snapshot next = change(store, "a", 41, T0.plusSeconds(41));
            assertEquals(restored.version() + 1, next.version());
            assertEquals(List.of(next), store.since("a", restored.version()).orElseThrow());
        }
        try (DurableStore durable = DurableStore.open(crashed, RETRY)) {
            SnapshotStore store = memory(64);
            store.attach(durable, List.of("a"));
            assertTrue(store.since("a", 10).isPresent(), "the jump is on disk too: resume across it after a restart");
        }
    }

    @Test
    void anUnreadableCeilingFileCostsAWideMarginNeverARepeatedVersion() throws Exception {
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a"));
            for (int n = 1; n <= 5; n++) {
                change(store, "a", n, T0.plusSeconds(n));
            }
        }
        Files.writeString(dir.resolve(VersionCeiling.FILE), "{not json");
        try (LogCapture log = LogCapture.start();
                DurableStore durable = DurableStore.open(dir, RETRY)) {
            assertNull(durable.problem(), "the store itself is fine");
            SnapshotStore store = memory(4);
            assertEquals(Set.of("a"), store.attach(durable, List.of("a")));
            Snapshot restored = store.latest("a").orElseThrow();
            assertTrue(restored.version() > 5, "above every version possibly handed out: " + restored.version());
            assertEquals(Json.MAPPER.readTree("{\"n\":5}"), restored.data());
            assertTrue(single(log, VersionCeiling.FILE).contains("wide margin"));
            assertEquals(List.of(restored), store.since("a", 4).orElseThrow(), "resume across the jump");
        }
    }

    @Test
    void sizeStaysBoundedOverManyThousandsOfVersions() throws Exception {
        int versions = 20_000;
        long largest = 0;
        String padding = "x".repeat(1_000);
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(16);
            store.attach(durable, List.of("a", "b", "c"));
            for (int n = 1; n <= versions; n++) {
                String id = List.of("a", "b", "c").get(n % 3);
                store.record(id, ok("{\"n\":" + n + ",\"pad\":\"" + padding + "\"}"), T0.plusMillis(n));
                if (n % 500 == 0) {
                    long marked = durable.writes();
                    Await.isTrue(() -> durable.writes() > marked, WAIT, "a commit");
                    largest = Math.max(largest, Files.size(durable.file()));
                }
            }
            assertNull(durable.problem());
        }
        long live = 3 * 17 * 1_100L; // 16 versions and the latest per source, about 1.1 KB each before compression
        System.out.println("durable store: " + versions + " versions through 3 sources (historySize 16): largest file "
                + largest + " bytes, after close " + Files.size(dir.resolve(DurableStore.FILE)) + " bytes; live data ~"
                + live + " bytes");
        assertTrue(largest < 8 * 1024 * 1024, "the file grew to " + largest + " bytes");
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(16);
            store.attach(durable, List.of("a", "b", "c"));
            for (String id : List.of("a", "b", "c")) {
                long v = store.latest(id).orElseThrow().version();
                assertTrue(store.since(id, v - 16).isPresent(), id + ": the last 16 versions are there");
                assertTrue(store.since(id, v - 18).isEmpty(), id + ": nothing older is kept");
            }
        }
    }

    @Test
    void historyIsBoundedByAgeToo() throws Exception {
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = new SnapshotStore(64, Duration.ofMinutes(10), clock);
            store.attach(durable, List.of("a"));
            change(store, "a", 1, T0);
            change(store, "a", 2, T0.plusSeconds(200));
            change(store, "a", 3, T0.plusSeconds(700));
            now.set(T0.plusSeconds(700));
            assertFalse(store.holds("a", 1, ""), "version 1 is older than 10 minutes: gone");
            assertTrue(store.holds("a", 2, ""));
            assertEquals(1, store.since("a", 2).orElseThrow().size());
            now.set(T0.plusSeconds(5_000));
            assertEquals(List.of(), store.since("a", 3).orElseThrow(), "the latest always stays");
            assertFalse(store.holds("a", 2, ""));
        }
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = new SnapshotStore(64, Duration.ofMinutes(10), clock);
            store.attach(durable, List.of("a"));
            assertEquals(3, store.latest("a").orElseThrow().version());
            assertFalse(store.holds("a", 2, ""), "aged out after the restart too");
            assertTrue(store.holds("a", 3, ""));
        }
    }

    @Test
    void removedSourcesLeaveTheStore() throws Exception {
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a", "b"));
            change(store, "a", 1, T0);
            change(store, "b", 1, T0);
            store.retain(List.of("a"));
        }
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(4);
            assertEquals(Set.of("a"), store.attach(durable, List.of("a", "b")));
        }
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(4);
            assertEquals(
                    Set.of(), store.attach(durable, List.of("b")), "a source not in the config at start is dropped");
        }
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            assertEquals(Set.of(), memory(4).attach(durable, List.of("a")));
        }
    }

    @Test
    void aCorruptFileIsMovedAsideAndAFreshStoreStarts() throws Exception {
        Files.write(
                dir.resolve(DurableStore.FILE),
                "this is not a store".repeat(500).getBytes());
        try (LogCapture log = LogCapture.start();
                DurableStore durable = DurableStore.open(dir, RETRY)) {
            assertNull(durable.problem(), "a new store was started");
            SnapshotStore store = memory(4);
            assertEquals(Set.of(), store.attach(durable, List.of("a")));
            change(store, "a", 1, T0);
            String line = single(log, "could not be read");
            assertTrue(line.contains("moved it to"), line);
            assertFalse(line.contains("\n"), "one line: " + line);
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith(DurableStore.FILE + ".unreadable-")));
        }
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            assertEquals(Set.of("a"), memory(4).attach(durable, List.of("a")));
        }
    }

    @Test
    void aTruncatedFileNeverStopsTheService() throws Exception {
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a"));
            for (int n = 1; n <= 50; n++) {
                change(store, "a", n, T0.plusSeconds(n));
            }
        }
        Path file = dir.resolve(DurableStore.FILE);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        try (DurableStore durable = DurableStore.open(dir, RETRY)) {
            assertNull(durable.problem());
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a"));
            Snapshot next = change(store, "a", 1_000, T0.plusSeconds(100));
            // the file no longer matches what its clean close recorded: versions go on above the ceiling
            assertTrue(next.version() > 50, "never a number handed out before: " + next.version());
        }
    }

    @Test
    void aSecondStoreOnTheSameDirectoryRunsInMemoryAndTakesOverLater() throws Exception {
        DurableStore first = DurableStore.open(dir, RETRY);
        SnapshotStore one = memory(4);
        one.attach(first, List.of("a"));
        for (int n = 1; n <= 5; n++) {
            change(one, "a", n, T0);
        }
        try (LogCapture log = LogCapture.start();
                DurableStore second = DurableStore.open(dir, RETRY)) {
            assertNotNull(second.problem());
            assertTrue(second.problem().contains("in use"), second.problem());
            single(log, "in use");
            SnapshotStore two = memory(4);
            assertEquals(Set.of(), two.attach(second, List.of("a")));
            Snapshot mine = change(two, "a", 100, T0);
            assertEquals(1, mine.version(), "in memory, from nothing");
            first.close();
            Await.isTrue(() -> second.problem() == null, WAIT, "the second took the file over");
            // the first had handed out versions 1..5: the second's next change goes above them
            Snapshot next = change(two, "a", 101, T0);
            assertTrue(next.version() > 5, "above the first's versions: " + next.version());
        }
    }

    @Test
    void aVanishedDirectoryIsNoticedAndTheStateWrittenAgainWhenItCanBe() throws Exception {
        Path data = dir.resolve("data");
        try (LogCapture log = LogCapture.start();
                DurableStore durable = DurableStore.open(data, RETRY)) {
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a"));
            change(store, "a", 1, T0);
            Await.isTrue(() -> durable.writes() >= 1, WAIT, "written");
            deleteTree(data);
            change(store, "a", 2, T0);
            Await.isTrue(() -> count(log, "vanished") >= 1 || durable.problem() != null, WAIT, "noticed");
            // the writer makes the directory again and writes what memory holds
            Await.isTrue(() -> durable.problem() == null && Files.exists(durable.file()), WAIT, "recreated");
            change(store, "a", 3, T0);
        }
        try (DurableStore durable = DurableStore.open(data, RETRY)) {
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a"));
            assertEquals(3, store.latest("a").orElseThrow().version());
        }
    }

    @Test
    void aDirectoryThatCannotBeMadeLeavesTheStoreInMemoryWithOneLine() throws Exception {
        Path blocker = dir.resolve("file");
        Files.writeString(blocker, "a file where the data directory should be");
        try (LogCapture log = LogCapture.start();
                DurableStore durable = DurableStore.open(blocker.resolve("data"), RETRY)) {
            assertNotNull(durable.problem());
            assertTrue(durable.problem().contains("cannot be created"), durable.problem());
            SnapshotStore store = memory(4);
            store.attach(durable, List.of("a"));
            assertEquals(1, change(store, "a", 1, T0).version(), "serving from memory");
            Await.isTrue(() -> durable.failures() >= 3, WAIT, "tried again");
            assertEquals(1, count(log, "cannot be created"), "one line, not one per try");
        }
    }

    /** The one store record containing {@code text}; fails when there are none or several. */
    static String single(LogCapture log, String text) {
        List<String> found = log.records().stream()
                .filter(r -> r.contains(DurableStore.class.getName()) && r.contains(text))
                .toList();
        assertEquals(1, found.size(), "store log lines with \"" + text + "\": " + found);
        return found.getFirst();
    }

    static long count(LogCapture log, String text) {
        return log.records().stream()
                .filter(r -> r.contains(DurableStore.class.getName()) && r.contains(text))
                .count();
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
