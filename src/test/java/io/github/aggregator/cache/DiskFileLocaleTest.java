package io.github.aggregator.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.LongStream;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data file's keys do not depend on the JVM's default locale. */
class DiskFileLocaleTest {
    @TempDir
    Path dir;

    @Test
    void aFileWrittenUnderOneLocaleKeepsItsHistoryBoundedUnderAnother() throws Exception {
        Path file = dir.resolve("store.mv");
        Locale before = Locale.getDefault();
        try {
            Locale.setDefault(Locale.US);
            write(file, 1, 3);
            // a locale whose digits are not ASCII (Persian): the next start of the same file
            Locale.setDefault(Locale.forLanguageTag("fa-IR"));
            write(file, 3, 5); // versions 1 and 2 leave the history
            Locale.setDefault(Locale.US);
            assertEquals(List.of(3L, 4L, 5L), historyVersions(file));
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void keysWrittenWithAnotherLocalesDigitsAreRenamedAtOpen() throws Exception {
        Path file = dir.resolve("store.mv");
        write(file, 1, 3);
        // a file from before keys were ASCII, written under a Persian default locale: every version in Persian digits
        MVStore raw = new MVStore.Builder().fileName(file.toString()).open();
        try {
            MVMap<String, byte[]> history = raw.openMap("history");
            for (String k : List.copyOf(history.keySet())) {
                String digits = k.substring(k.indexOf('/') + 1);
                StringBuilder persian = new StringBuilder();
                digits.chars().forEach(c -> persian.append((char) ('\u06f0' + (c - '0'))));
                history.put("s/" + persian, history.remove(k));
            }
            raw.commit();
        } finally {
            raw.close();
        }
        write(file, 2, 4); // version 1 leaves the history
        assertEquals(List.of(2L, 3L, 4L), historyVersions(file));
    }

    /** The versions of source {@code s} in {@code file}'s history, as a restore reads them. */
    private static List<Long> historyVersions(Path file) throws Exception {
        DiskFile d = DiskFile.open(file);
        try {
            return d.readAll().get("s").history().stream()
                    .map(Snapshot::version)
                    .toList();
        } finally {
            d.close();
        }
    }

    /** Opens {@code file} and writes source {@code s} with versions {@code from..to} in its history. */
    private static void write(Path file, long from, long to) {
        DiskFile d = DiskFile.open(file);
        try {
            List<Snapshot> history = LongStream.rangeClosed(from, to)
                    .mapToObj(DiskFileLocaleTest::version)
                    .toList();
            d.write("s", new SnapshotStore.Entry(history.getLast(), history, null, Set.of()));
            d.commit();
        } finally {
            d.close();
        }
    }

    private static Snapshot version(long v) {
        var data = Json.MAPPER.createObjectNode().put("v", v);
        Instant at = Instant.parse("2026-01-01T00:00:00Z").plusSeconds(v);
        return new Snapshot("s", v, at, at, false, null, data, Json.hash(data));
    }
}
