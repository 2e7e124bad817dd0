package io.github.aggregator.fetch;

import io.github.aggregator.observe.Metrics;
import io.github.aggregator.observe.StartupTrace;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Decides when each upstream source is fetched, and fetches it.
 *
 * <ul>
 *   <li>Once at start (after a small random jitter), then once per interval, measured from the start of the previous
 *       fetch.
 *   <li>After failures, exponential backoff with full jitter: the n-th consecutive failure waits a random time
 *       between the interval and {@code min(maxBackoff, interval * 2^n)}; the first success resets it.
 *   <li>A 429/503 with Retry-After, or rate-limit headers saying no request remains ({@link RateLimits}): no request
 *       before that time, even when the interval is shorter, whatever triggers it.
 *   <li>{@code minInterval}: no trigger (schedule, on-demand wake, explicit fetch) starts a fetch sooner than that
 *       after the previous one ended, so the upstream never sees two requests closer than that, however long the
 *       previous request took to reach it.
 *   <li>On-demand sources are fetched only while wanted (subscribed, or read within {@code idleAfter}, directly or
 *       through a combined source); otherwise they sit idle and cost the upstream nothing.
 *   <li>At most one fetch of a source runs at a time; callers that ask while one is in flight share it.
 * </ul>
 *
 * <p>Time comes from the {@link Scheduler} given, which runs the timing on its thread; each fetch runs on its own virtual thread, so a slow upstream delays only
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

    /**
     * The schedule of one source as {@code /api/sources} shows it.
     *
     * @param nextFetchAt when the next fetch is due; null while idle
     * @param consecutiveFailures failures since the last success
     * @param active false while an on-demand source sits idle
     */
    public record State(Instant nextFetchAt, int consecutiveFailures, boolean active) {}

    private final Scheduler time;
    private final SourceRegistry registry;
    private final Function<SourceConfig, Fetcher> fetchers;
    private final Listener listener;
    private final Predicate<String> mayFetch;
    private final RandomGenerator random;
    private final Metrics metrics;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private final ConcurrentHashMap<String, Task> tasks = new ConcurrentHashMap<>();
    private final Demand demand;
    private volatile boolean closed;

    /**
     * @param time the clock and timer of every schedule, backoff, Retry-After and idle decision; closed with the poller
     * @param registry the sources in force, for combined sources' parts and dependents
     * @param fetchers makes the fetcher of one source
     * @param listener receives each result
     * @param subscribed whether a source has SSE subscribers right now
     * @param mayFetch asked on the fetching thread before each fetch: whether this instance fetches the source now
     *     (in a cluster, only the instance holding its lease does; the others keep the schedule and wait for its
     *     results, see {@link #observed})
     * @param random jitter and backoff randomness
     * @param metrics counts each fetch's outcome and latency
     */
    public Poller(
            Scheduler time,
            SourceRegistry registry,
            Function<SourceConfig, Fetcher> fetchers,
            Listener listener,
            Predicate<String> subscribed,
            Predicate<String> mayFetch,
            RandomGenerator random,
            Metrics metrics) {
        this.mayFetch = mayFetch;
        this.time = time;
        this.metrics = metrics;
        this.registry = registry;
        this.fetchers = fetchers;
        this.listener = listener;
        this.demand = new Demand(time, registry, subscribed);
        this.random = random;
    }

    /**
     * Starts polling the upstream sources among {@code sources} (combined ones have nothing to fetch): always-polled
     * ones get their first fetch within a short jitter, on-demand ones start idle.
     */
    public void start(Collection<SourceConfig> sources) {
        for (SourceConfig s : sources) {
            if (s.combined()) {
                continue;
            }
            Task task = new Task(s);
            if (tasks.putIfAbsent(s.id(), task) == null && s.poll() == SourceConfig.Poll.ALWAYS) {
                long cap = Math.min(MAX_START_JITTER.toMillis(), s.interval().toMillis() / 10);
                task.schedule(cap <= 0 ? 0 : random.nextLong(cap + 1));
            }
        }
    }

    /**
     * Fetches {@code id} now, unless a fetch is in flight (that one is returned) or {@code minInterval} has not passed
     * since the last one ended (the fetch is scheduled for when it has, and that one is returned). The future
     * completes after the listener has seen the result. Empty when {@code id} is not an upstream source.
     */
    public Optional<CompletableFuture<Void>> fetchNow(String id) {
        Task task = tasks.get(id);
        return task == null ? Optional.empty() : Optional.of(task.run());
    }

    /**
     * Records a read of {@code id} (a JSON poll, an SSE subscription starting or ending). When that wakes an idle
     * on-demand source (or the idle parts of a combined one), returns the fetch to wait for.
     */
    public Optional<CompletableFuture<Void>> touch(String id) {
        demand.read(id);
        List<CompletableFuture<Void>> woken = new ArrayList<>();
        wake(id, woken, 0);
        return woken.isEmpty()
                ? Optional.empty()
                : Optional.of(CompletableFuture.allOf(woken.toArray(CompletableFuture[]::new)));
    }

    private void wake(String id, List<CompletableFuture<Void>> woken, int depth) {
        Task task = tasks.get(id);
        if (task != null) {
            task.wake().ifPresent(woken::add);
        }
        if (depth < 64) {
            registry.find(id).ifPresent(s -> s.combine().forEach(part -> wake(part, woken, depth + 1)));
        }
    }

    /**
     * For a reader waiting for data that was never fetched: starts now the first fetch of {@code id} (or of those of
     * its parts never fetched) that would otherwise wait out the start-up jitter, then returns the completion of every
     * such first fetch (a combined source is built once each part has been fetched), or {@link #nextCompletion} when
     * there is none. Never fetches a source twice at once, and never one that was fetched before (its schedule,
     * backoff and Retry-After stay in force).
     */
    public Optional<CompletableFuture<Void>> fetchFirst(String id) {
        startFirst(id, 0);
        List<CompletableFuture<Void>> firsts = new ArrayList<>();
        firstCompletions(id, firsts, 0);
        return firsts.isEmpty()
                ? nextCompletion(id)
                : Optional.of(CompletableFuture.allOf(firsts.toArray(CompletableFuture[]::new)));
    }

    private void firstCompletions(String id, List<CompletableFuture<Void>> out, int depth) {
        Task task = tasks.get(id);
        if (task != null) {
            task.firstCompletion().ifPresent(out::add);
        } else if (depth < 64) {
            registry.find(id).ifPresent(s -> s.combine().forEach(part -> firstCompletions(part, out, depth + 1)));
        }
    }

    private void startFirst(String id, int depth) {
        Task task = tasks.get(id);
        if (task != null) {
            task.runIfNeverStarted();
        } else if (depth < 64) {
            registry.find(id).ifPresent(s -> s.combine().forEach(part -> startFirst(part, depth + 1)));
        }
    }

    /**
     * The next fetch of {@code id} to complete (the one in flight, if any); for a combined source, the next fetch of
     * any of its parts. Empty when nothing of it is polled.
     */
    public Optional<CompletableFuture<Void>> nextCompletion(String id) {
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        completions(id, futures, 0);
        return futures.isEmpty()
                ? Optional.empty()
                : Optional.of(CompletableFuture.anyOf(futures.toArray(CompletableFuture[]::new))
                        .thenApply(x -> null));
    }

    private void completions(String id, List<CompletableFuture<Void>> out, int depth) {
        Task task = tasks.get(id);
        if (task != null) {
            out.add(task.completion());
        } else if (depth < 64) {
            registry.find(id).ifPresent(s -> s.combine().forEach(part -> completions(part, out, depth + 1)));
        }
    }

    /**
     * Stops polling {@code id} (its source was removed or edited: {@link #start} the new version). A fetch in flight
     * completes; its result still reaches the listener, which may drop it.
     */
    public void stop(String id) {
        Task task = tasks.remove(id);
        if (task != null) {
            task.cancel();
        }
        demand.forget(id);
    }

    /**
     * A result for {@code id} produced elsewhere (another instance) was stored: completes what waits for the next
     * completion of {@code id}, unless a fetch here is in flight.
     */
    public void observed(String id) {
        Task task = tasks.get(id);
        if (task != null) {
            task.observed();
        }
    }

    /** The schedule of {@code id}, if it is an upstream source being polled. */
    public Optional<State> state(String id) {
        Task task = tasks.get(id);
        return task == null ? Optional.empty() : Optional.of(task.state());
    }

    /** True until {@link #close}, while the scheduler takes work. */
    public boolean running() {
        return !closed && !time.isShutdown();
    }

    @Override
    public void close() {
        closed = true;
        time.close();
        workers.shutdownNow();
    }

    /** The schedule and in-flight state of one upstream source. */
    private final class Task {
        private volatile Fetcher fetcher; // made by the first fetch, on its own thread: off the start-up path
        private final SourceConfig source;
        private CompletableFuture<Void> inFlight; // guarded by this
        private CompletableFuture<Void> completion = new CompletableFuture<>(); // guarded by this
        private Future<?> next; // guarded by this
        private long lastEndNanos; // guarded by this; when the previous fetch ended
        private boolean started; // guarded by this
        private boolean seen; // guarded by this; a result of it was fetched here or observed from elsewhere
        private int failures; // guarded by this
        private boolean idle; // guarded by this
        private boolean cancelled; // guarded by this
        private volatile Instant nextAt;
        private Instant holdUntil; // guarded by this; no fetch before it

        Task(SourceConfig source) {
            this.source = source;
            this.idle = source.poll() == SourceConfig.Poll.ON_DEMAND;
        }

        synchronized State state() {
            return new State(idle ? null : nextAt, failures, !idle);
        }

        synchronized CompletableFuture<Void> completion() {
            return inFlight != null ? inFlight : completion;
        }

        /** The completion of the first fetch, while no result of this source was seen yet (and it is not idle). */
        synchronized Optional<CompletableFuture<Void>> firstCompletion() {
            return seen || idle || cancelled ? Optional.empty() : Optional.of(completion());
        }

        synchronized void cancel() {
            cancelled = true;
            if (next != null) {
                next.cancel(false);
            }
            completion.complete(null); // nobody waits for a source that is gone
        }

        synchronized void schedule(long delayMillis) {
            if (closed || cancelled) {
                return;
            }
            if (next != null) {
                next.cancel(false);
            }
            nextAt = time.instant().plusMillis(delayMillis);
            try {
                next = time.schedule(this::tick, Duration.ofMillis(delayMillis));
            } catch (RuntimeException e) { // rejected after close
                next = null;
            }
        }

        /** A scheduled fetch is due: fetch, unless an on-demand source is no longer wanted. */
        private void tick() {
            synchronized (this) {
                if (!demand.wanted(source)) {
                    idle = true;
                    nextAt = null;
                    LOG.log(Level.DEBUG, "source " + source.id() + ": idle (no readers)");
                    return;
                }
            }
            run();
        }

        /** Ends an idle spell: fetch now (or as soon as minInterval allows). Empty when not idle. */
        synchronized Optional<CompletableFuture<Void>> wake() {
            if (!idle) {
                return Optional.empty();
            }
            idle = false;
            LOG.log(Level.DEBUG, "source " + source.id() + ": active");
            return Optional.of(run());
        }

        synchronized void runIfNeverStarted() {
            if (!started && !idle) {
                run();
            }
        }

        synchronized CompletableFuture<Void> run() {
            if (inFlight != null) {
                return inFlight;
            }
            if (holdUntil != null && time.instant().isBefore(holdUntil)) {
                // the upstream asked for quiet (rate limit spent, Retry-After): the schedule already waits for it
                long waitMillis = Duration.between(time.instant(), holdUntil).toMillis() + 1;
                if (nextAt == null || nextAt.isBefore(holdUntil)) {
                    schedule(waitMillis);
                }
                return completion;
            }
            long sinceLast = time.nanoTime() - lastEndNanos;
            long floor = source.minInterval().toNanos();
            if (started && floor > 0 && sinceLast < floor) {
                long waitMillis = TimeUnit.NANOSECONDS.toMillis(floor - sinceLast) + 1;
                if (nextAt == null || nextAt.isAfter(time.instant().plusMillis(waitMillis))) {
                    schedule(waitMillis);
                }
                return completion;
            }
            CompletableFuture<Void> done = completion;
            inFlight = done;
            started = true;
            long startNanos = time.nanoTime();
            try {
                workers.execute(() -> fetchOnce(done, startNanos));
            } catch (RuntimeException e) { // rejected after close
                inFlight = null;
                done.complete(null);
            }
            return done;
        }

        synchronized void observed() {
            seen = true;
            if (inFlight == null) {
                CompletableFuture<Void> waiting = completion;
                completion = new CompletableFuture<>();
                waiting.complete(null);
            }
        }

        private void fetchOnce(CompletableFuture<Void> done, long startNanos) {
            long delay = source.interval().toMillis();
            long from = startNanos; // the delay counts from here, not from when the result was handled
            boolean fetched = false;
            try {
                if (!mayFetch.test(source.id())) {
                    nextAt = time.instant().plusMillis(delay);
                    return; // another instance fetches it; whoever waits keeps waiting for its result
                }
                fetched = true;
                if (fetcher == null) {
                    fetcher = fetchers.apply(source); // one fetch at a time per task: no race
                }
                long fetchStart = time.nanoTime();
                StartupTrace.mark("first fetch starts");
                FetchResult result = fetcher.fetch();
                StartupTrace.mark("first fetch done");
                from = time.nanoTime();
                metrics.fetched(source.baseId(), Backoff.outcome(result), from - fetchStart);
                delay = nextDelay(result, TimeUnit.NANOSECONDS.toMillis(from - startNanos));
                delay = holdFor(fetcher.quietUntil(), result, delay);
                // visible before the result is, so nextFetchAt is never behind fetchedAt
                nextAt = time.instant().plusMillis(delay);
                listener.onResult(source, result, time.instant());
                StartupTrace.mark("first result recorded");
            } catch (RuntimeException e) {
                if (!closed) { // after close, failures of the fetches it cut short are expected
                    LOG.log(Level.ERROR, "source " + source.id() + ": fetch or result handling failed: " + e);
                }
            } finally {
                synchronized (this) {
                    inFlight = null;
                    if (fetched) {
                        seen = true;
                        lastEndNanos = from;
                        completion = new CompletableFuture<>();
                    }
                    // the time spent storing and delivering the result is not added to the period
                    schedule(Math.max(0, delay - TimeUnit.NANOSECONDS.toMillis(time.nanoTime() - from)));
                }
                if (fetched) {
                    done.complete(null);
                }
            }
        }

        /**
         * Keeps the source quiet until the upstream's rate-limit reset or Retry-After, whichever is later, against
         * every trigger (see {@link #run}); the delay, at least until then.
         */
        private synchronized long holdFor(Instant quiet, FetchResult result, long delay) {
            Instant retry = result instanceof FetchResult.Failure f ? f.retryAfter() : null;
            Instant until = quiet == null || (retry != null && retry.isAfter(quiet)) ? retry : quiet;
            holdUntil = until;
            if (until == null) {
                return delay;
            }
            return Math.max(delay, Duration.between(time.instant(), until).toMillis());
        }

        private synchronized long nextDelay(FetchResult result, long elapsedMillis) {
            failures = result instanceof FetchResult.Failure ? failures + 1 : 0;
            return Backoff.nextDelay(source, result, failures, elapsedMillis, time.instant(), random);
        }
    }
}
