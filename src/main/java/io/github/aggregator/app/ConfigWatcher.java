package io.github.aggregator.app;

import io.github.aggregator.config.ConfigException;
import io.github.aggregator.config.ConfigFile;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Watches the config file by content (a digest every {@code period}: works for in-place writes, editors' renames and
 * Kubernetes' ConfigMap symlink swaps alike) and hands each new valid version to {@code apply}. An invalid version is
 * logged in one line and kept as {@link #error()} until a valid one arrives; the running config stays in force. A file
 * that goes away or cannot be read counts as an error after three checks, cleared once the file is readable and valid
 * again, whether its content changed or not. Only a regular file (or a link to one) is read, so a named pipe put in its
 * place never blocks the watcher.
 */
final class ConfigWatcher implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ConfigWatcher.class.getName());
    /** Unreadable this many checks in a row (not just mid-rename) counts as an error. */
    private static final int UNREADABLE_CHECKS = 3;

    private final Path file;
    private final Map<String, String> env;
    private final Consumer<ConfigFile> apply;
    private final ScheduledExecutorService timer;
    private byte[] digest; // only the timer thread touches it after start
    private int unreadable;
    private boolean
            unreadableReported; // the error says the file cannot be read: cleared once it can be, changed or not
    private volatile String error;

    ConfigWatcher(Path file, Map<String, String> env, Duration period, Consumer<ConfigFile> apply) {
        this.file = file;
        this.env = env;
        this.apply = apply;
        this.digest = read().orElse(new byte[0]);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "config-watcher");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::check, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The one-line reason the file's current content is not in force, or null when it is. */
    String error() {
        return error;
    }

    private void check() {
        Optional<byte[]> now = read();
        if (now.isEmpty()) {
            if (++unreadable == UNREADABLE_CHECKS) {
                String why =
                        Files.exists(file) && !Files.isRegularFile(file) ? "is not a regular file" : "cannot be read";
                error = file + ": the config file " + why + "; the running config stays in force";
                unreadableReported = true;
                LOG.log(Level.WARNING, "config: " + error);
            }
            return;
        }
        unreadable = 0;
        // back with the content it had before it went away (a checkout, a ConfigMap remount): read it again, so that
        // the error clears
        if (Arrays.equals(now.get(), digest) && !unreadableReported) {
            return;
        }
        unreadableReported = false;
        digest = now.get();
        try {
            ConfigFile next = ConfigFile.load(file, env);
            String was = error;
            // cleared before the new config is visible, so that whoever sees it in force never sees the old error
            // beside it (a failure to apply sets its own below)
            error = null;
            apply.accept(next);
            if (was != null) {
                LOG.log(Level.INFO, "config: " + file + " is valid again");
            }
        } catch (ConfigException e) {
            error = e.getMessage();
            LOG.log(Level.WARNING, "config: " + error + " (the running config stays in force)");
        } catch (RuntimeException e) {
            error = file + ": could not apply the new config (" + e.getClass().getSimpleName() + ")";
            LOG.log(Level.ERROR, "config: " + error, e);
        }
    }

    /** The digest of the file's content; empty when it cannot be read. Never blocks: only a regular file is opened. */
    private Optional<byte[]> read() {
        if (!Files.isRegularFile(file)) {
            return Optional.empty(); // a named pipe or a device would block the read, maybe for good
        }
        try {
            return Optional.of(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            return Optional.empty();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
