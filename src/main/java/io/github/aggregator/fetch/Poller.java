package io.github.aggregator.fetch;

import io.github.aggregator.fetch.budget.Budgets;
import io.github.aggregator.fetch.budget.LocalLedger;
import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
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
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Decides when each upstream source is fetched, and fetches it.
 *
 * <ul>
 *   <li>Once at start (after a small random jitter), then once per interval, measured from the start of the previous
 *       fetch. A source restored from the durable store keeps the schedule it had: its first fetch is one interval
 *       after the restored {@code fetchedAt} (see {@link #start(Collection, Function)}).
 *   <li>After failures, exponential backoff with full jitter: the n-th consecutive failure waits a random time
 *       between the interval and {@code min(maxBackoff, interval * 2^n)}; the first success resets it.
 *   <li>A 429/503 with Retry-After, or rate-limit headers saying no request remains ({@link RateLimits}): no request
 *       before that time, even when the interval is shorter, whatever triggers it.
 *   <li>{@code minInterval}: no trigger (schedule, on-demand wake, explicit fetch) starts a fetch sooner than that
 *       after the previous one ended, so the upstream never sees two requests closer than that, however long the
 *       previous request took to reach it.
 *   <li>On-demand sources are fetched only while wanted (subscribed, or read within {@code idleAfter}, directly or
 *       through a combined source); otherwise they sit idle and cost the upstream nothing.
 *   <li>A source with a request budget ({@link Budgets}) starts each fetch at the evenly spaced time its budget
 *       reserves, is fetched at its budget's effective interval, and when the budget allows no request the fetch
 *       waits for it without a result (the data stays as it is).
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
    private final RandomGenerator random;
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private final ConcurrentHashMap<String, PollTask> tasks = new ConcurrentHashMap<>();
    private final Demand demand;
    private final Budgets budgets;
    private final PollTask.Context context;
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
        this(
                time,
                registry,
                fetchers,
                listener,
                subscribed,
                mayFetch,
                random,
                metrics,
                new Budgets(new LocalLedger(time), List.of()));
    }

    /**
     * As above, with the request budgets the sources spend: a source with a budget starts each fetch at an evenly
     * spaced time its budget reserves, and is fetched at its budget's effective interval ({@link Budgets#interval}).
     *
     * @param budgets the request budgets in force
     */
    public Poller(
            Scheduler time,
            SourceRegistry registry,
            Function<SourceConfig, Fetcher> fetchers,
            Listener listener,
            Predicate<String> subscribed,
            Predicate<String> mayFetch,
            RandomGenerator random,
            Metrics metrics,
            Budgets budgets) {
        this.time = time;
        this.registry = registry;
        this.demand = new Demand(time, registry, subscribed);
        this.random = random;
        this.budgets = budgets;
        this.context = new PollTask.Context(
                time, workers, demand, mayFetch, fetchers, listener, metrics, random, budgets, () -> closed);
    }

    /**
     * Starts polling the upstream sources among {@code sources} (combined ones have nothing to fetch): always-polled
     * ones get their first fetch within a short jitter, on-demand ones start idle.
     */
    public void start(Collection<SourceConfig> sources) {
        start(sources, id -> null);
    }

    /**
     * As {@link #start(Collection)}, for sources whose latest snapshot was read back from the durable store: {@code
     * restored} gives the {@code fetchedAt} of that snapshot (null when there is none). Such a source keeps its normal
     * schedule across the restart: an always-polled one is first fetched one interval after that time (within the
     * start-up jitter when that time has passed, never later than one interval from now); an on-demand one stays idle
     * until read, and a read serves the restored snapshot at once and fetches only when it is at least one interval
     * old (else when it is, if still wanted then). {@code minInterval} counts from that time too.
     */
    public void start(Collection<SourceConfig> sources, Function<String, Instant> restored) {
        for (SourceConfig s : sources) {
            if (s.combined()) {
                continue;
            }
            PollTask task = new PollTask(context, s, restored.apply(s.id()));
            if (tasks.putIfAbsent(s.id(), task) == null && s.poll() == SourceConfig.Poll.ALWAYS) {
                long due = task.restoredDue();
                long cap = Math.min(MAX_START_JITTER.toMillis(), s.interval().toMillis() / 10);
                task.schedule(due > 0 ? due : cap <= 0 ? 0 : random.nextLong(cap + 1));
            }
        }
    }

    /**
     * Fetches {@code id} now, unless a fetch is in flight (that one is returned) or {@code minInterval} has not passed
     * since the last one ended (the fetch is scheduled for when it has, and that one is returned). The future
     * completes after the listener has seen the result. Empty when {@code id} is not an upstream source.
     */
    public Optional<CompletableFuture<Void>> fetchNow(String id) {
        PollTask task = tasks.get(id);
        return task == null ? Optional.empty() : Optional.of(task.run());
    }

    /**
     * Records a read of {@code id} (a JSON poll, an SSE subscription starting or ending). When that wakes an idle
     * on-demand source (or the idle parts of a combined one), returns the fetch to wait for.
     */
    public Optional<CompletableFuture<Void>> touch(String id) {
        demand.read(id);
        List<CompletableFuture<Void>> woken = wake(id, null, 0);
        return woken == null
                ? Optional.empty()
                : Optional.of(CompletableFuture.allOf(woken.toArray(CompletableFuture[]::new)));
    }

    /** Wakes {@code id} and the parts it combines; returns {@code woken} with their fetches added (null if none). */
    private List<CompletableFuture<Void>> wake(String id, List<CompletableFuture<Void>> woken, int depth) {
        PollTask task = tasks.get(id);
        if (task != null) {
            Optional<CompletableFuture<Void>> fetch = task.wake();
            if (fetch.isPresent()) {
                woken = woken == null ? new ArrayList<>() : woken;
                woken.add(fetch.get());
            }
        }
        if (depth < 64) {
            Optional<SourceConfig> s = registry.find(id);
            if (s.isPresent()) {
                for (String part : s.get().combine()) {
                    woken = wake(part, woken, depth + 1);
                }
            }
        }
        return woken;
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
        PollTask task = tasks.get(id);
        if (task != null) {
            task.firstCompletion().ifPresent(out::add);
        } else if (depth < 64) {
            registry.find(id).ifPresent(s -> s.combine().forEach(part -> firstCompletions(part, out, depth + 1)));
        }
    }

    private void startFirst(String id, int depth) {
        PollTask task = tasks.get(id);
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
        PollTask task = tasks.get(id);
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
        PollTask task = tasks.remove(id);
        if (task != null) {
            task.cancel();
        }
        demand.forget(id);
        budgets.leave(id);
    }

    /**
     * A result for {@code id} produced elsewhere (another instance) was stored: completes what waits for the next
     * completion of {@code id}, unless a fetch here is in flight.
     */
    public void observed(String id) {
        PollTask task = tasks.get(id);
        if (task != null) {
            task.observed();
        }
    }

    /** The schedule of {@code id}, if it is an upstream source being polled. */
    public Optional<State> state(String id) {
        PollTask task = tasks.get(id);
        return task == null ? Optional.empty() : Optional.of(task.state());
    }

    /** How often {@code source} is fetched now: its interval, stretched when its budget is shared by more. */
    public Duration effectiveInterval(SourceConfig source) {
        return budgets.interval(source);
    }

    /** The request budgets the sources spend. */
    public Budgets budgets() {
        return budgets;
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
}
