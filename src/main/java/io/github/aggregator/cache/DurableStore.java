package io.github.aggregator.cache;

import io.github.aggregator.source.Snapshot;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVStoreException;

/**
 * The latest snapshot and the bounded history of every source on local disk, beneath the in-memory {@link
 * SnapshotStore}, so that they and the version counter survive a restart. One file, {@value #FILE}, in the data
 * directory, in H2's MVStore (an append-only, copy-on-write B-tree store: a write interrupted by a crash leaves the
 * last committed state readable).
 *
 * <p>Writing never delays anyone: {@link #changed} only marks the source; one background thread writes the marked
 * sources' current state (so a source that changed ten times since the last write is written once) and commits.
 * Faults never stop the service: a data directory that cannot be created or written, a file another process holds,
 * a write that fails (disk full) or a file that vanished make the store unavailable, which {@link #problem} names and
 * one log line reports; the service goes on in memory and the writer tries again every {@code retry}, then writes the
 * whole state held in memory. A file that cannot be read (corrupt, truncated, not a store) is moved aside with one
 * log line and a new one is started.
 *
 * <p>Thread-safe.
 */
public final class DurableStore implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DurableStore.class.getName());
    /** The store's file name inside the data directory. */
    public static final String FILE = "aggregator.mv.db";
    /** Commits between two compactions of the file. */
    private static final int COMPACT_EVERY = 2_000;
    /** How long the writer sleeps when nothing is marked, before it checks that the file is still there. */
    private static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Path dir;
    private final Path file;
    private final long retryNanos;
    private final Set<String> pending = ConcurrentHashMap.newKeySet();
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final Map<String, Map<Long, String>> onDisk = new HashMap<>(); // writer thread only
    private volatile Set<String> retained; // null until the first retain: keep everything
    private volatile SnapshotStore memory;
    private volatile DiskFile disk; // null while unavailable
    private volatile String problem;
    private volatile Map<String, SnapshotStore.Entry> restored = Map.of();
    private volatile boolean closed;
    private volatile boolean writing;
    private volatile long bytes;
    private long nextTry; // writer thread only
    private int commitsSinceCompaction; // writer thread only
    private Thread writer;

    private DurableStore(Path dir, Duration retry) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.retryNanos = retry.toNanos();
    }

    /**
     * Opens (or creates) the store in {@code dir} and reads what it holds; never throws. When it cannot be opened the
     * store is unavailable, says why in {@link #problem}, and is tried again every {@code retry}.
     */
    public static DurableStore open(Path dir, Duration retry) {
        DurableStore store = new DurableStore(dir, retry);
        store.tryOpen(true);
        return store;
    }

    /** Called by the snapshot store this one lies beneath; starts the writer. */
    synchronized void attach(SnapshotStore memory) {
        if (this.memory != null) {
            throw new IllegalStateException("a durable store lies beneath one snapshot store only");
        }
        this.memory = memory;
        this.writer = Thread.ofPlatform().name("store-writer").daemon().start(this::write);
    }

    /** What the file held when it was opened at start, by source. */
    Map<String, SnapshotStore.Entry> restored() {
        return restored;
    }

    void forgetRestored() {
        restored = Map.of();
    }

    /** Marks {@code id} to be written; returns at once. */
    void changed(String id) {
        if (pending.add(id)) {
            Thread w = writer;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }

    /** Forgets every source not in {@code ids} (sources removed from the config), at the writer's next round. */
    void retain(Collection<String> ids) {
        retained = Set.copyOf(ids);
        Thread w = writer;
        pending.add(""); // a round that only prunes
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /** Why the store is unavailable (the service runs in memory only then), or null when it works. */
    public String problem() {
        return problem;
    }

    /** Where the store lives. */
    public Path file() {
        return file;
    }

    /** Sources marked but not written yet (0 once everything stored in memory is on disk, or while unavailable). */
    public int pending() {
        return disk == null ? 0 : pending.size() + (writing ? 1 : 0);
    }

    /** Commits made since start. */
    public long writes() {
        return writes.get();
    }

    /** Opens and writes that failed since start. */
    public long failures() {
        return failures.get();
    }

    /** The file's size after the last commit, in bytes; 0 while unavailable. */
    public long bytes() {
        return bytes;
    }

    /** Writes what is still marked, then closes the file. Waits for the writer at most {@code timeout}. */
    public void close(Duration timeout) {
        closed = true;
        Thread w = writer;
        if (w != null) {
            LockSupport.unpark(w);
            try {
                w.join(timeout.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        DiskFile d = disk;
        if (d != null && (w == null || !w.isAlive())) {
            disk = null;
            d.close();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }

    private void write() {
        while (true) {
            boolean last = closed;
            if (pending.isEmpty() && !last) {
                LockSupport.parkNanos(IDLE_NANOS);
            }
            DiskFile d = disk;
            if (d == null) {
                if (!last && System.nanoTime() - nextTry >= 0 && tryOpen(false)) {
                    markAll();
                }
            } else if (!Files.exists(file)) {
                fail(d, "its file vanished (was the data directory removed?)");
            } else {
                writeMarked(d);
            }
            if (last) {
                DiskFile open = disk;
                if (open != null) {
                    disk = null;
                    open.close();
                }
                return;
            }
        }
    }

    private void writeMarked(DiskFile d) {
        if (pending.isEmpty()) {
            return;
        }
        writing = true;
        List<String> batch = List.copyOf(pending);
        pending.removeAll(batch);
        try {
            Set<String> keep = retained;
            for (String id : batch) {
                if (!id.isEmpty()) {
                    writeOne(d, id, keep == null || keep.contains(id) ? memory.entry(id) : null);
                }
            }
            if (keep != null) {
                for (String id : d.ids()) {
                    if (!keep.contains(id)) {
                        writeOne(d, id, null);
                    }
                }
            }
            d.commit();
            writes.incrementAndGet();
            if (++commitsSinceCompaction >= COMPACT_EVERY) {
                commitsSinceCompaction = 0;
                d.compact();
            }
            bytes = d.size();
        } catch (RuntimeException e) {
            batch.forEach(pending::add);
            fail(d, "writing failed (" + reason(e) + ")");
        } finally {
            writing = false;
        }
    }

    /** Writes what memory holds of {@code id} (null: removes it) where it differs from what is on disk. */
    private void writeOne(DiskFile d, String id, SnapshotStore.Entry now) {
        Map<Long, String> there = onDisk.computeIfAbsent(id, d::historyHashes);
        if (now == null || !now.latest().hasData()) {
            if (now == null) {
                d.remove(id, there.keySet());
                onDisk.remove(id);
            }
            return;
        }
        d.putLatest(id, DiskCodec.encode(now.latest(), now.before()));
        Map<Long, String> wanted = new HashMap<>();
        now.history().forEach(h -> wanted.put(h.version(), h.hash()));
        for (Long v : List.copyOf(there.keySet())) {
            if (!wanted.containsKey(v)) {
                d.removeVersion(id, v);
                there.remove(v);
            }
        }
        for (Snapshot h : now.history()) {
            if (!h.hash().equals(there.get(h.version()))) {
                d.putVersion(id, h.version(), DiskCodec.encode(h, null));
                there.put(h.version(), h.hash());
            }
        }
    }

    /** After the file was unavailable: every source held in memory is written again whole. */
    private void markAll() {
        SnapshotStore m = memory;
        if (m != null) {
            pending.addAll(m.ids());
            pending.add("");
        }
    }

    /**
     * Opens the file. At start it reads everything into {@link #restored}; later (after a fault) it only raises the
     * version floors of memory to what the file holds, so that no version number is handed out twice.
     */
    private boolean tryOpen(boolean atStart) {
        nextTry = System.nanoTime() + retryNanos;
        try {
            Files.createDirectories(dir);
        } catch (IOException | RuntimeException e) {
            return unavailable("the data directory " + dir + " cannot be created (" + reason(e) + ")");
        }
        try {
            Files.deleteIfExists(Files.createTempFile(dir, ".probe-", ".tmp"));
        } catch (IOException | RuntimeException e) {
            return unavailable("the data directory " + dir + " is not writable (" + reason(e) + ")");
        }
        DiskFile d;
        try {
            d = DiskFile.open(file);
        } catch (MVStoreException e) {
            if (e.getErrorCode() == DataUtils.ERROR_FILE_LOCKED) {
                return unavailable(file + " is in use by another process (two instances on one data directory?)");
            }
            d = startOver(e);
            if (d == null) {
                return false;
            }
        } catch (RuntimeException e) {
            d = startOver(e);
            if (d == null) {
                return false;
            }
        }
        Map<String, SnapshotStore.Entry> read;
        try {
            read = d.readAll();
        } catch (IOException | RuntimeException e) {
            d.close();
            d = startOver(e);
            if (d == null) {
                return false;
            }
            read = Map.of();
        }
        onDisk.clear();
        if (atStart) {
            restored = read;
        } else {
            SnapshotStore m = memory;
            read.forEach((id, entry) -> {
                if (m != null) {
                    m.raiseFloor(id, entry.latest().version());
                }
            });
        }
        bytes = d.size();
        disk = d;
        if (problem != null) {
            LOG.log(Level.INFO, "store: " + file + " is usable again; writing what is held in memory");
        }
        problem = null;
        return true;
    }

    /** The file is unreadable: moves it aside and starts a new one; null when even that fails. */
    private DiskFile startOver(Exception cause) {
        Path aside = dir.resolve(FILE + ".unreadable-" + System.currentTimeMillis());
        try {
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            DiskFile d = DiskFile.open(file);
            failures.incrementAndGet();
            LOG.log(
                    Level.WARNING,
                    "store: " + file + " could not be read (" + reason(cause) + "); moved it to " + aside.getFileName()
                            + " and started an empty store: versions and history from before are lost");
            return d;
        } catch (IOException | RuntimeException e) {
            unavailable(file + " could not be read (" + reason(cause) + ") nor replaced (" + reason(e) + ")");
            return null;
        }
    }

    private void fail(DiskFile d, String what) {
        disk = null;
        onDisk.clear();
        d.abandon();
        bytes = 0;
        nextTry = System.nanoTime() + retryNanos;
        unavailable("store " + file + ": " + what);
    }

    private boolean unavailable(String why) {
        failures.incrementAndGet();
        if (!why.equals(problem)) {
            LOG.log(
                    Level.WARNING,
                    "store: " + why + "; running in memory only, trying again every "
                            + TimeUnit.NANOSECONDS.toSeconds(retryNanos) + "s");
        }
        problem = why;
        return false;
    }

    /** A short reason without a stack trace. */
    private static String reason(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        m = m.replace('\n', ' ');
        int bracket = m.indexOf(" [");
        return bracket > 0 ? m.substring(0, bracket) : (m.length() > 200 ? m.substring(0, 200) : m);
    }
}
