package io.github.aggregator.cache;

import io.github.aggregator.source.Snapshot;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.h2.mvstore.FileStore;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The MVStore file behind {@link DurableStore}: map {@code latest} (source id → its latest snapshot) and map {@code
 * history} ({@code id/version}, zero-padded so keys sort by version → that version). Used by the writer thread only
 * (and at open). MVStore locks the file, so a second process opening it fails with {@code ERROR_FILE_LOCKED}.
 */
final class DiskFile {
    /** Written to the {@code meta} map; a file with another format is treated as unreadable. */
    private static final String FORMAT = "1";

    private final MVStore store;
    private final MVMap<String, byte[]> latest;
    private final MVMap<String, byte[]> history;
    private final Map<String, Map<Long, String>> hashes = new HashMap<>(); // by source: its versions on disk
    private final Map<String, Long> latestVersions = new HashMap<>(); // by source: its latest version on disk

    private DiskFile(MVStore store) {
        this.store = store;
        MVMap<String, String> meta = store.openMap("meta");
        String format = meta.putIfAbsent("format", FORMAT);
        if (format != null && !format.equals(FORMAT)) {
            store.closeImmediately();
            throw new IllegalStateException("store format " + format + " is not " + FORMAT);
        }
        this.latest = store.openMap("latest");
        this.history = store.openMap("history");
    }

    /**
     * By file: what makes the MVStore {@link FileStore} that reads and writes it, in place of the engine's own (which
     * {@link MVStore.Builder#fileName} opens). A seam for tests at the engine's boundary, e.g. a file store whose
     * writes stall; empty in the service.
     */
    static final Map<Path, Supplier<FileStore<?>>> FILE_STORES = new ConcurrentHashMap<>();

    /** @throws org.h2.mvstore.MVStoreException when the file is locked or unreadable */
    static DiskFile open(Path file) {
        MVStore.Builder builder = new MVStore.Builder()
                .autoCommitDisabled() // the writer commits; no MVStore background thread
                .compress();
        Supplier<FileStore<?>> other = FILE_STORES.get(file.toAbsolutePath().normalize());
        if (other == null) {
            builder.fileName(file.toString());
        } else {
            FileStore<?> fs = other.get();
            fs.open(file.toString(), false, null);
            builder.adoptFileStore(fs); // closed with the store
        }
        MVStore store = builder.open();
        try {
            // new chunks always go to the end of the file, where reopening after kill -9 finds the newest one by its
            // footer; space is reclaimed by the periodic compaction instead
            store.setReuseSpace(false);
            DiskFile d = new DiskFile(store);
            d.asciiKeys();
            store.commit();
            return d;
        } catch (RuntimeException e) {
            store.closeImmediately();
            throw e;
        }
    }

    /**
     * Renames history keys whose version is not in ASCII digits: a file written before keys were formatted with
     * {@link Locale#ROOT}, under a default locale with other digits, holds such keys, which the writer's pruning
     * (by the ASCII key) would never find again. Every open (the restore right after reads every history entry anyway;
     * a file a rollback to such a build wrote to again is mended too); a key that does not end in digits is left alone.
     */
    private void asciiKeys() {
        Map<String, String> renames = new LinkedHashMap<>(); // key as found → the key this build writes
        for (Iterator<String> it = history.keyIterator(null); it.hasNext(); ) {
            String k = it.next();
            int slash = k.lastIndexOf('/');
            String digits = k.substring(slash + 1);
            if (!digits.isEmpty() && digits.chars().allMatch(Character::isDigit)) {
                String written = key(k.substring(0, slash), version(k));
                if (!written.equals(k)) {
                    renames.put(k, written);
                }
            }
        }
        renames.forEach((k, written) -> history.putIfAbsent(written, history.remove(k)));
    }

    /** Everything the file holds, by source; fails on anything it did not write. */
    Map<String, SnapshotStore.Entry> readAll() throws IOException {
        Map<String, SnapshotStore.Entry> out = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : latest.entrySet()) {
            String id = e.getKey();
            Snapshot s = DiskCodec.decode(id, e.getValue());
            List<Snapshot> versions = new ArrayList<>();
            Set<Long> jumps = new TreeSet<>();
            for (String key : historyKeys(id)) {
                byte[] bytes = history.get(key);
                Snapshot h = DiskCodec.decode(id, bytes);
                if (h.version() <= s.version()) {
                    versions.add(h);
                    if (DiskCodec.jump(bytes)) {
                        jumps.add(h.version());
                    }
                }
            }
            if (versions.isEmpty() || versions.getLast().version() != s.version()) {
                versions.add(s);
                if (DiskCodec.jump(e.getValue())) {
                    jumps.add(s.version());
                }
            }
            out.put(
                    id,
                    new SnapshotStore.Entry(
                            s,
                            List.copyOf(versions),
                            DiskCodec.before(e.getValue()),
                            Set.copyOf(jumps),
                            DiskCodec.formerly(e.getValue())));
            latestVersions.put(id, s.version());
        }
        return out;
    }

    /** The latest version of every source on disk. */
    Map<String, Long> latestVersions() {
        return Map.copyOf(latestVersions);
    }

    /** Writes what memory holds of {@code id} (null: removes it) where it differs from what is on disk. */
    void write(String id, SnapshotStore.Entry now) {
        Map<Long, String> there = hashes.computeIfAbsent(id, this::historyHashes);
        if (now == null || !now.latest().hasData()) {
            if (now == null) {
                remove(id, there.keySet());
                hashes.remove(id);
                latestVersions.remove(id);
            }
            return;
        }
        latest.put(
                id,
                DiskCodec.encode(
                        now.latest(),
                        now.before(),
                        now.jumps().contains(now.latest().version()),
                        now.formerly()));
        latestVersions.put(id, now.latest().version());
        Map<Long, String> wanted = new HashMap<>();
        now.history().forEach(h -> wanted.put(h.version(), h.hash()));
        for (Long v : List.copyOf(there.keySet())) {
            if (!wanted.containsKey(v)) {
                history.remove(key(id, v));
                there.remove(v);
            }
        }
        for (Snapshot h : now.history()) {
            if (!h.hash().equals(there.get(h.version()))) {
                history.put(
                        key(id, h.version()),
                        DiskCodec.encode(h, null, now.jumps().contains(h.version())));
                there.put(h.version(), h.hash());
            }
        }
    }

    /** The sources the file holds. */
    Set<String> ids() {
        return new TreeSet<>(latest.keySet());
    }

    /** The versions of {@code id} in history and their hashes. */
    private Map<Long, String> historyHashes(String id) {
        Map<Long, String> out = new HashMap<>();
        for (String key : historyKeys(id)) {
            try {
                out.put(version(key), DiskCodec.decode(id, history.get(key)).hash());
            } catch (IOException e) {
                out.put(version(key), ""); // rewritten at the next write
            }
        }
        return out;
    }

    /** Removes {@code id} and every version of it. */
    private void remove(String id, Collection<Long> known) {
        latest.remove(id);
        known.forEach(v -> history.remove(key(id, v)));
        historyKeys(id).forEach(history::remove);
    }

    void commit() {
        store.commit();
    }

    /** Rewrites sparse parts of the file so that its size follows what it holds. */
    void compact() {
        store.compactFile(200);
    }

    long size() {
        return store.getFileStore() == null ? 0 : store.getFileStore().size();
    }

    /** Commits and closes (compaction is left to the periodic one: shutdown stays quick). */
    void close() {
        try {
            store.commit();
            store.sync();
            store.close();
        } catch (RuntimeException e) {
            store.closeImmediately();
        }
    }

    /** Forces {@code file} to disk (after a close, before the close is recorded as clean). */
    static void force(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Closes without writing anything more (after a failed write, or a vanished file). */
    void abandon() {
        try {
            store.closeImmediately();
        } catch (RuntimeException ignored) {
            // the file is being given up anyway
        }
    }

    private List<String> historyKeys(String id) {
        List<String> keys = new ArrayList<>();
        String from = id + "/";
        Iterator<String> it = history.keyIterator(from);
        while (it.hasNext()) {
            String k = it.next();
            if (!k.startsWith(from)) {
                break;
            }
            keys.add(k);
        }
        return keys;
    }

    /**
     * ASCII digits whatever the default locale: {@code String.format} would write the locale's own digits (Persian or
     * Bengali ones, say), and a file written under one locale would then miss its keys under another.
     */
    private static String key(String id, long version) {
        return id + "/" + String.format(Locale.ROOT, "%019d", version);
    }

    private static long version(String key) {
        return Long.parseLong(key.substring(key.lastIndexOf('/') + 1));
    }
}
