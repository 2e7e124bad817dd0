package io.github.aggregator.fetch;

import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.SourceConfig;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Fetches every source once at start (after a small random jitter) and then once per interval. At most one fetch of a
 * source runs at a time; callers that ask for a fetch while one is in flight share it.
 *
 * <p>Timing runs on one scheduler thread; each fetch runs on its own virtual thread, so a slow upstream delays only
 * its own source. Thread-safe.
 */
public final class Poller implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Poller.class.getName());
    private static final Duration MAX_START_JITTER = Duration.ofSeconds(1);

    /** Receives every fetch result, on the fetching thread. */
    @FunctionalInterface
    public interface Listener {
        void onResult(SourceConfig source, FetchResult result, Instant at);
    }

    private final Clock clock;
    private final Function<SourceConfig, Fetcher> fetchers;
    private final Listener listener;
    private final ScheduledExecutorService timer;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private final ConcurrentHashMap<String, Task> tasks = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public Poller(Clock clock, Function<SourceConfig, Fetcher> fetchers, Listener listener) {
        this.clock = clock;
        this.fetchers = fetchers;
        this.listener = listener;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "poller-timer");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts polling {@code sources}; each gets its first fetch within a short random jitter. */
    public void start(Collection<SourceConfig> sources) {
        for (SourceConfig s : sources) {
            Task task = new Task(fetchers.apply(s));
            if (tasks.putIfAbsent(s.id(), task) == null) {
                long cap = Math.min(MAX_START_JITTER.toMillis(), s.interval().toMillis() / 10);
                task.schedule(cap <= 0 ? 0 : ThreadLocalRandom.current().nextLong(cap + 1));
            }
        }
    }

    /**
     * Fetches {@code id} now unless a fetch is already in flight, in which case that one is returned. The future
     * completes after the listener has seen the result. Empty when the source is not polled.
     */
    public Optional<CompletableFuture<Void>> fetchNow(String id) {
        Task task = tasks.get(id);
        return task == null ? Optional.empty() : Optional.of(task.run());
    }

    /** When the next scheduled fetch of {@code id} is due, if it is polled. */
    public Optional<Instant> nextFetchAt(String id) {
        Task task = tasks.get(id);
        return task == null ? Optional.empty() : Optional.ofNullable(task.nextAt);
    }

    /** The first fetch of {@code id}, or the one in flight; completed once any fetch has finished. */
    public Optional<CompletableFuture<Void>> firstFetch(String id) {
        Task task = tasks.get(id);
        return task == null ? Optional.empty() : Optional.of(task.first);
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        workers.shutdownNow();
    }

    /** The schedule and in-flight state of one source. */
    private final class Task {
        private final Fetcher fetcher;
        private final CompletableFuture<Void> first = new CompletableFuture<>();
        private CompletableFuture<Void> inFlight; // guarded by this
        private ScheduledFuture<?> next; // guarded by this
        private volatile Instant nextAt;

        Task(Fetcher fetcher) {
            this.fetcher = fetcher;
        }

        synchronized void schedule(long delayMillis) {
            if (closed) {
                return;
            }
            if (next != null) {
                next.cancel(false);
            }
            nextAt = clock.instant().plusMillis(delayMillis);
            next = timer.schedule(this::run, delayMillis, TimeUnit.MILLISECONDS);
        }

        synchronized CompletableFuture<Void> run() {
            if (inFlight != null) {
                return inFlight;
            }
            CompletableFuture<Void> done = new CompletableFuture<>();
            inFlight = done;
            long startNanos = System.nanoTime();
            try {
                workers.execute(() -> fetchOnce(done, startNanos));
            } catch (RuntimeException e) { // rejected after close
                inFlight = null;
                done.complete(null);
            }
            return done;
        }

        private void fetchOnce(CompletableFuture<Void> done, long startNanos) {
            SourceConfig source = fetcher.source();
            long delay = source.interval().toMillis();
            try {
                FetchResult result = fetcher.fetch();
                long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
                delay = Math.max(0, source.interval().toMillis() - elapsed);
                // visible before the result is, so nextFetchAt is never behind fetchedAt
                nextAt = clock.instant().plusMillis(delay);
                listener.onResult(source, result, clock.instant());
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "source " + source.id() + ": result handling failed: " + e);
            } finally {
                synchronized (this) {
                    inFlight = null;
                    schedule(delay);
                }
                first.complete(null);
                done.complete(null);
            }
        }
    }
}
