package io.github.aggregator.cache;

import static io.github.aggregator.cache.DiskOpening.reason;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

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
 * <p>Version numbers never repeat, whatever ends the process: see {@link VersionCeiling}, whose file lies beside the
 * store's and is written by the same thread.
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
    private final VersionCeiling ceiling;
    private volatile Set<String> retained; // null until the first retain: keep everything
    private volatile SnapshotStore memory;
    private volatile DiskFile disk; // null while unavailable
    private volatile String problem;
    private volatile String logged; // the problem last said at WARNING, until its recovery is said
    private volatile long upSince; // when writing worked again after a problem; 0 when said or none
    private volatile Map<String, SnapshotStore.Entry> restored = Map.of();
    private volatile boolean closed;
    private volatile boolean writing;
    private volatile long bytes;
    private volatile long crashBase;
    private volatile Map<String, Long> handedAtSeal;
    private boolean owned; // writer thread only: the file held nothing but this process's writes since start
    private long nextTry; // writer thread only
    private int commitsSinceCompaction; // writer thread only
    private Thread writer;

    private DurableStore(Path dir, Duration retry) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.retryNanos = retry.toNanos();
        this.ceiling = new VersionCeiling(dir);
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

    /**
     * The number versions must go above after the last run ended without a clean close (0 after a clean one): every
     * version that run may have handed out, written or not, lies at or below it.
     */
    long crashBase() {
        return crashBase;
    }

    /**
     * Called before version {@code version} of {@code id} is handed out; returns at once unless the change outran the
     * writer by half a reserved block (see {@link VersionCeiling}).
     *
     * @return false while the store closes: the change must not be handed out then
     */
    boolean reserve(String id, long version) {
        return ceiling.reserve(id, version, () -> disk != null, this::wake);
    }

    private void wake() {
        Thread w = writer;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /** Marks {@code id} to be written; returns at once. */
    void changed(String id) {
        if (pending.add(id)) {
            wake();
        }
    }

    /** Forgets every source not in {@code ids} (sources removed from the config), at the writer's next round. */
    void retain(Collection<String> ids) {
        retained = Set.copyOf(ids);
        pending.add(""); // a round that only prunes
        wake();
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

    /** Changes that waited for the version ceiling to be raised since start (0 unless the disk falls far behind). */
    public long ceilingWaits() {
        return ceiling.waits();
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

    /**
     * Writes what is still marked, then closes the file; from now on no change is handed out. Waits for the writer at
     * most {@code timeout}. When everything handed out is on disk, the close is clean: the next start continues the
     * versions without a gap.
     */
    public void close(Duration timeout) {
        handedAtSeal = ceiling.seal();
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
            if (pending.isEmpty() && !last && !ceiling.wanted()) {
                LockSupport.parkNanos(IDLE_NANOS);
            }
            DiskFile d = disk;
            if (d == null) {
                if (!last && System.nanoTime() - nextTry >= 0 && tryOpen(false)) {
                    markAll();
                }
            } else if (!Files.exists(file)) {
                fail(d, "its file vanished (was the data directory removed?)");
            } else if (raiseCeiling(d)) {
                writeMarked(d);
            }
            if (last) {
                finish();
                return;
            }
        }
    }

    /** Raises the version ceiling on disk when changes come near it; false when that failed. */
    private boolean raiseCeiling(DiskFile d) {
        if (!ceiling.wanted()) {
            return true;
        }
        try {
            ceiling.write(Math.max(ceiling.highest(), ceiling.synced()) + VersionCeiling.BLOCK, false, null);
            return true;
        } catch (IOException | RuntimeException e) {
            fail(d, "writing " + VersionCeiling.FILE + " failed (" + reason(e) + ")");
            return false;
        }
    }

    /** The last round: writes what is left, closes the file, and marks the close clean when nothing is missing. */
    private void finish() {
        DiskFile d = disk;
        if (d == null) {
            return;
        }
        for (int round = 0; round < 3 && !allWritten(d) && disk != null; round++) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // a change stored just before the seal
            writeMarked(d);
        }
        boolean clean = owned && disk != null && allWritten(d);
        disk = null;
        d.close();
        if (clean) {
            try {
                DiskFile.force(file);
                ceiling.write(ceiling.synced(), true, d.latestVersions());
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "store: the clean close could not be recorded (" + reason(e) + ")");
            }
        }
    }

    /** Whether every version handed out before the seal, of every source still configured, is on disk. */
    private boolean allWritten(DiskFile d) {
        return VersionCeiling.allWritten(handedAtSeal, d.latestVersions(), retained);
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
                    d.write(id, keep == null || keep.contains(id) ? memory.entry(id) : null);
                }
            }
            if (keep != null) {
                for (String id : d.ids()) {
                    if (!keep.contains(id)) {
                        d.write(id, null);
                    }
                }
            }
            d.commit();
            writes.incrementAndGet();
            if (problem != null) {
                problem = null;
                upSince = System.nanoTime() | 1;
            }
            // said once writing has worked for a retry period: a disk that is nearly full, failing again at the next
            // write, stays the one line it was
            if (upSince != 0 && System.nanoTime() - upSince >= retryNanos) {
                upSince = 0;
                logged = null;
                LOG.log(Level.INFO, "store: " + file + " is usable again; wrote what is held in memory");
            }
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
        DiskOpening.Result opened = DiskOpening.open(dir, file);
        if (opened.setAside()) {
            failures.incrementAndGet();
        }
        DiskFile d = opened.disk();
        if (d == null) {
            return unavailable(opened.problem());
        }
        if (!versions(d, atStart)) {
            return false;
        }
        if (atStart) {
            restored = opened.read();
        }
        bytes = d.size();
        disk = d;
        return true; // after a fault, the problem stays until the first write succeeds (one line for a full disk)
    }

    /**
     * Reads the version ceiling and writes a new one above everything handed out, before any version is. At start it
     * sets {@link #crashBase}; later (after a fault) it raises the version floors of memory above what another process
     * may have handed out meanwhile, so that no version number is handed out twice.
     */
    private boolean versions(DiskFile d, boolean atStart) {
        Map<String, Long> latest = d.latestVersions();
        VersionCeiling.State state;
        try {
            state = ceiling.read();
        } catch (IOException e) {
            state = null;
            LOG.log(Level.WARNING, "store: " + reason(e) + "; versions go on above a wide margin");
        }
        long high = VersionCeiling.highWater(state, latest);
        if (atStart) {
            crashBase = VersionCeiling.crashBase(state, latest);
            owned = true;
        } else if (state == null ? !latest.isEmpty() : state.ceiling() != ceiling.lastWritten()) {
            owned = false; // another process wrote the file meanwhile (or it is new): no clean close
            SnapshotStore m = memory;
            if (m != null) {
                m.raiseFloor(high);
            }
        }
        // a clean start needs no room above what the file holds (every version handed out is in it); others do
        long above = !atStart
                ? Math.max(high, ceiling.highest())
                : crashBase == 0 ? VersionCeiling.max(latest) : crashBase + 1;
        try {
            ceiling.write(above + VersionCeiling.BLOCK, false, null);
        } catch (IOException | RuntimeException e) {
            d.close();
            return unavailable("the data directory " + dir + " cannot be written (" + reason(e) + ")");
        }
        return true;
    }

    private void fail(DiskFile d, String what) {
        disk = null;
        ceiling.release();
        d.abandon();
        bytes = 0;
        nextTry = System.nanoTime() + retryNanos;
        unavailable("store " + file + ": " + what);
    }

    private boolean unavailable(String why) {
        failures.incrementAndGet();
        upSince = 0;
        if (!why.equals(problem) && !why.equals(logged)) {
            logged = why;
            LOG.log(
                    Level.WARNING,
                    "store: " + why + "; running in memory only, trying again every "
                            + (retryNanos % 1_000_000_000 == 0
                                    ? TimeUnit.NANOSECONDS.toSeconds(retryNanos) + "s"
                                    : TimeUnit.NANOSECONDS.toMillis(retryNanos) + "ms"));
        }
        problem = why;
        return false;
    }
}
