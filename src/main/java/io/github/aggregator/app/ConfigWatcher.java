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
 * logged in one line and kept as {@link #error()} until a valid one arrives; the running config stays in force.
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
                error = file + ": cannot read config file; the running config stays in force";
                LOG.log(Level.WARNING, "config: " + error);
            }
            return;
        }
        unreadable = 0;
        if (Arrays.equals(now.get(), digest)) {
            return;
        }
        digest = now.get();
        try {
            ConfigFile next = ConfigFile.load(file, env);
            apply.accept(next);
            if (error != null) {
                LOG.log(Level.INFO, "config: " + file + " is valid again");
            }
            error = null;
        } catch (ConfigException e) {
            error = e.getMessage();
            LOG.log(Level.WARNING, "config: " + error + " (the running config stays in force)");
        } catch (RuntimeException e) {
            error = file + ": could not apply the new config (" + e.getClass().getSimpleName() + ")";
            LOG.log(Level.ERROR, "config: " + error, e);
        }
    }

    private Optional<byte[]> read() {
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
