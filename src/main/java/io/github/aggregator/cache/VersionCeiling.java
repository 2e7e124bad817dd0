package io.github.aggregator.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.source.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The version ceiling: a number that no version handed out by this process may exceed before it is on disk, so that
 * a restart after any crash can go on above every version a client may have seen, however far the store's own writes
 * lagged behind. Kept in a small file of its own, {@value #FILE}, beside the store, replaced atomically (written to a
 * temporary file, forced to disk, renamed, the directory forced) so that a crash leaves the old or the new number.
 *
 * <p>The ceiling is reserved in blocks of {@value #BLOCK} versions and raised by the store's writer thread once the
 * highest version handed out comes within half a block of it, so a change never waits for the disk; only one that
 * outruns the writer by half a block (hundreds of changes of one source between two writes) waits for the raise.
 *
 * <p>A clean close writes the ceiling with {@code "clean": true} and the latest version of every source it wrote;
 * the next start continues from those versions without a gap. Any other start (after {@code kill -9}, a crash, a lost
 * write) goes on above the ceiling. Thread-safe.
 */
final class VersionCeiling {
    /** The ceiling file's name inside the data directory. */
    static final String FILE = "aggregator.versions";
    /** Versions reserved at a time. */
    static final long BLOCK = 1_000;
    /** How long a change that outran the writer waits for the ceiling before the store is given up as too slow. */
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(2);

    /** What the file says. */
    record State(long ceiling, boolean clean, Map<String, Long> latest) {}

    private final Path dir;
    private final Path file;
    private final AtomicLong highest = new AtomicLong();
    private final Map<String, Long> handed = new ConcurrentHashMap<>();
    private final AtomicLong waits = new AtomicLong();
    private volatile long synced; // the ceiling on disk: no version above it has been handed out
    private volatile boolean sealed;
    private long lastWritten; // the ceiling this process last wrote, 0 before; guarded by this

    VersionCeiling(Path dir) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
    }

    /** The file's state; null when there is none. @throws IOException when it cannot be read or is not ours */
    State read() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(bytes);
        } catch (IOException e) {
            throw new IOException(FILE + " is not JSON");
        }
        if (n == null
                || !n.path("ceiling").canConvertToLong()
                || n.path("ceiling").asLong() < 0) {
            throw new IOException(FILE + " holds no ceiling");
        }
        Map<String, Long> latest = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.path("latest").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            latest.put(e.getKey(), e.getValue().asLong());
        }
        return new State(n.get("ceiling").asLong(), n.path("clean").asBoolean(false), latest);
    }

    /**
     * Writes {@code ceiling} durably and makes it the one changes are checked against. {@code latest} (with {@code
     * clean}) lists the version of every source on disk.
     */
    synchronized void write(long ceiling, boolean clean, Map<String, Long> latest) throws IOException {
        ObjectNode n = Json.MAPPER.createObjectNode().put("ceiling", ceiling).put("clean", clean);
        if (latest != null) {
            ObjectNode l = n.putObject("latest");
            latest.forEach(l::put);
        }
        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(
                tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(Json.bytes(n));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        force(dir);
        lastWritten = ceiling;
        synced = ceiling;
        notifyAll();
    }

    /** The ceiling this process last wrote (0 before its first write): another one means another process wrote. */
    synchronized long lastWritten() {
        return lastWritten;
    }

    /** The highest version handed out by this process. */
    long highest() {
        return highest.get();
    }

    /** The ceiling on disk. */
    long synced() {
        return synced;
    }

    /** Whether the writer should raise the ceiling now. */
    boolean wanted() {
        return synced > 0 && highest.get() > synced - BLOCK / 2;
    }

    /** Changes that had to wait for the ceiling since start. */
    long waits() {
        return waits.get();
    }

    /**
     * Notes that {@code version} of {@code id} is about to be handed out. Returns at once unless it lies above the
     * ceiling on disk; then waits (at most a few seconds) for the writer, woken by {@code wake}, to raise it.
     *
     * @param up whether the store is writable now (while it is not, versions are handed out from memory alone)
     * @return false once the store is sealed for a clean close: the change must not be handed out
     */
    boolean reserve(String id, long version, BooleanSupplier up, Runnable wake) {
        if (sealed) {
            return false;
        }
        highest.accumulateAndGet(version, Math::max);
        handed.merge(id, version, Math::max);
        if (sealed) {
            return false; // the close may not have seen this version: it is not handed out
        }
        if (!up.getAsBoolean() || version <= synced - BLOCK / 2) {
            return true;
        }
        wake.run();
        if (version <= synced) {
            return true;
        }
        waits.incrementAndGet();
        long deadline = System.nanoTime() + WAIT_NANOS;
        synchronized (this) {
            long left;
            while (synced < version && !sealed && up.getAsBoolean() && (left = deadline - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return !sealed;
    }

    /** From now on no version is handed out; returns what was (by source) for the close to check against. */
    Map<String, Long> seal() {
        sealed = true;
        synchronized (this) {
            notifyAll();
        }
        return Map.copyOf(handed);
    }

    /**
     * At start: the number the versions of a crashed run must go above, or 0 when the last close was clean and the
     * store holds every version it recorded (then versions continue from the store's own, without a gap).
     *
     * @param state what the ceiling file says (null: none, e.g. a store written by an older release)
     * @param latest the latest version of every source the store holds
     */
    static long crashBase(State state, Map<String, Long> latest) {
        return state != null && state.clean() && state.latest().equals(latest) ? 0 : highWater(state, latest);
    }

    /** The highest version a previous run may have handed out, by the ceiling file and what the store holds. */
    static long highWater(State state, Map<String, Long> latest) {
        long max = max(latest);
        if (state == null) {
            return latest.isEmpty() ? 0 : max + 2 * BLOCK; // how far an older release got is unknown: a wide margin
        }
        return Math.max(state.ceiling(), max);
    }

    /** The highest of {@code versions}, 0 for none. */
    static long max(Map<String, Long> versions) {
        return versions.values().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    /**
     * Whether every version in {@code handed} is on disk ({@code latest}), for the sources in {@code keep} (null: all).
     */
    static boolean allWritten(Map<String, Long> handed, Map<String, Long> latest, Set<String> keep) {
        return handed != null
                && handed.entrySet().stream()
                        .allMatch(e -> (keep != null && !keep.contains(e.getKey()))
                                || latest.getOrDefault(e.getKey(), 0L) >= e.getValue());
    }

    /** Wakes changes waiting for the ceiling (the store has become unavailable: they go on from memory). */
    synchronized void release() {
        notifyAll();
    }

    /** Forces a directory's entry list to disk where the platform allows it. */
    static void force(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException ignored) {
            // not supported on every platform; the rename is atomic all the same
        }
    }
}
