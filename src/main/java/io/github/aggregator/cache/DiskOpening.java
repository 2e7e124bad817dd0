package io.github.aggregator.cache;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVStoreException;

/**
 * One attempt to open the store's file in the data directory, whatever state they are in: a directory that cannot be
 * made or written, a file another process holds, a disk too full to write, or a file that cannot be read (corrupt,
 * truncated, not a store), which is moved aside with one log line so that a new one can start. Never throws.
 */
final class DiskOpening {
    private static final System.Logger LOG = System.getLogger(DurableStore.class.getName());

    /**
     * What the attempt gave.
     *
     * @param disk the open file, or null when the store is unavailable
     * @param read what it held, by source
     * @param problem why it is unavailable, or null
     * @param setAside whether an unreadable file was moved aside (a fault, though the store is usable)
     */
    record Result(DiskFile disk, Map<String, SnapshotStore.Entry> read, String problem, boolean setAside) {
        static Result unavailable(String problem) {
            return new Result(null, Map.of(), problem, false);
        }
    }

    private DiskOpening() {}

    static Result open(Path dir, Path file) {
        try {
            Files.createDirectories(dir);
        } catch (IOException | RuntimeException e) {
            return Result.unavailable("the data directory " + dir + " cannot be created (" + reason(e) + ")");
        }
        try {
            // a name of its own per process, so that the problem (and its one log line) reads the same at each retry
            Path probe = dir.resolve(".probe-" + ProcessHandle.current().pid() + ".tmp");
            Files.deleteIfExists(probe);
            Files.createFile(probe);
            Files.delete(probe);
        } catch (IOException | RuntimeException e) {
            return Result.unavailable("the data directory " + dir + " is not writable (" + reason(e) + ")");
        }
        DiskFile d;
        try {
            d = DiskFile.open(file);
        } catch (MVStoreException e) {
            if (e.getErrorCode() == DataUtils.ERROR_FILE_LOCKED) {
                return Result.unavailable(
                        file + " is in use by another process (two instances on one data directory?)");
            }
            if (e.getErrorCode() == DataUtils.ERROR_WRITING_FAILED) {
                return Result.unavailable(file + " cannot be written (" + reason(e) + ")"); // e.g. the disk is full
            }
            return startOver(dir, file, e);
        } catch (RuntimeException e) {
            return startOver(dir, file, e);
        }
        try {
            return new Result(d, d.readAll(), null, false);
        } catch (IOException | RuntimeException e) {
            d.close();
            return startOver(dir, file, e);
        }
    }

    /** The file is unreadable: moves it aside and starts a new one. */
    private static Result startOver(Path dir, Path file, Exception cause) {
        Path aside = dir.resolve(file.getFileName() + ".unreadable-" + System.currentTimeMillis());
        try {
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            DiskFile d = DiskFile.open(file);
            LOG.log(
                    Level.WARNING,
                    "store: " + file + " could not be read (" + reason(cause) + "); moved it to " + aside.getFileName()
                            + " and started an empty store: history from before is lost");
            return new Result(d, Map.of(), null, true);
        } catch (IOException | RuntimeException e) {
            return Result.unavailable(
                    file + " could not be read (" + reason(cause) + ") nor replaced (" + reason(e) + ")");
        }
    }

    /** A short reason without a stack trace. */
    static String reason(Throwable e) {
        if (e instanceof MVStoreException
                && e.getCause() != null
                && e.getCause().getMessage() != null) {
            e = e.getCause(); // the file system's own words ("No space left on device"), not the channel's name
        }
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        m = m.replace('\n', ' ');
        int bracket = m.indexOf(" [");
        return bracket > 0 ? m.substring(0, bracket) : (m.length() > 200 ? m.substring(0, 200) : m);
    }
}
