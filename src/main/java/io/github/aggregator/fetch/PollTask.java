package io.github.aggregator.fetch;

import io.github.aggregator.fetch.budget.Budgets;
import io.github.aggregator.observe.Metrics;
import io.github.aggregator.observe.StartupTrace;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.SourceConfig;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/** The schedule and in-flight state of one upstream source, as {@link Poller} describes. Thread-safe. */
final class PollTask {
    private static final System.Logger LOG = System.getLogger(Poller.class.getName());

    /** What every task of one poller shares. */
    record Context(
            Scheduler time,
            ExecutorService workers,
            Demand demand,
            Predicate<String> mayFetch,
            Function<SourceConfig, Fetcher> fetchers,
            Poller.Listener listener,
            Metrics metrics,
            RandomGenerator random,
            Budgets budgets,
            BooleanSupplier closed) {}

    private final Context c;

    private volatile Fetcher fetcher; // made by the first fetch, on its own thread: off the start-up path
    private final SourceConfig source;
    private CompletableFuture<Void> inFlight; // guarded by this
    private CompletableFuture<Void> completion = new CompletableFuture<>(); // guarded by this
    private Future<?> next; // guarded by this
    private long lastEndNanos; // guarded by this; when the previous fetch ended
    private boolean started; // guarded by this
    private boolean seen; // guarded by this; a result of it was fetched here or observed from elsewhere
    private int failures; // guarded by this
    private volatile boolean idle; // written under this; read without it by wake's fast path
    private boolean cancelled; // guarded by this
    private volatile Instant nextAt;
    private Instant holdUntil; // guarded by this; no fetch before it
    private boolean reserved; // guarded by this; the budget has reserved the start this fetch is scheduled for
    private long reservedAt; // guarded by this; that start, on the scheduler's nanoTime
    private Instant restoredAt; // guarded by this; fetchedAt of the snapshot restored at start, until the first fetch

    /**
     * @param restoredAt {@code fetchedAt} of the snapshot of {@code source} read back from the durable store at start,
     *     or null: its first fetch is then due one interval after that time, and {@code minInterval} counts from it
     */
    PollTask(Context c, SourceConfig source, Instant restoredAt) {
        this.c = c;
        this.source = source;
        this.idle = source.poll() == SourceConfig.Poll.ON_DEMAND;
        this.restoredAt = restoredAt;
        if (restoredAt != null) {
            // the fetch that made the restored snapshot ended about then: minInterval counts from it
            Duration age = Duration.between(restoredAt, c.time().instant());
            Duration counted = age.isNegative()
                    ? Duration.ZERO
                    : age.compareTo(source.minInterval()) > 0 ? source.minInterval() : age;
            lastEndNanos = c.time().nanoTime() - counted.toNanos();
        }
        if (!idle) {
            c.budgets().join(source, () -> c.demand().watched(source));
        }
    }

    synchronized Poller.State state() {
        return new Poller.State(idle ? null : nextAt, failures, !idle);
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
        c.budgets().leave(source.id());
    }

    synchronized void schedule(long delayMillis) {
        if (c.closed().getAsBoolean() || cancelled) {
            return;
        }
        if (next != null) {
            next.cancel(false);
        }
        nextAt = c.time().instant().plusMillis(delayMillis);
        try {
            next = c.time().schedule(this::tick, Duration.ofMillis(delayMillis));
        } catch (RuntimeException e) { // rejected after close
            next = null;
        }
    }

    /**
     * Milliseconds from now until the first fetch of a source with a restored snapshot is due: one (effective)
     * interval after the restored {@code fetchedAt}; 0 when that has passed, and never more than one interval (a
     * {@code fetchedAt} ahead of this clock counts as now). -1 when there is no restored snapshot, or it was fetched
     * since.
     */
    synchronized long restoredDue() {
        if (restoredAt == null || seen) {
            return -1;
        }
        long interval = c.budgets().interval(source).toMillis();
        long age = Math.max(0, Duration.between(restoredAt, c.time().instant()).toMillis());
        return Math.max(0, interval - age);
    }

    /** A scheduled fetch is due: fetch, unless an on-demand source is no longer wanted. */
    private void tick() {
        synchronized (this) {
            // idle before the check: a reader records its read, then reads idle without the lock (wake), so either
            // the check sees that read or the reader sees idle and wakes the source
            idle = true;
            if (!c.demand().wanted(source)) {
                nextAt = null;
                c.budgets().leave(source.id());
                LOG.log(Level.DEBUG, "source " + source.id() + ": idle (no readers)");
                return;
            }
            idle = false;
        }
        run();
    }

    /**
     * Ends an idle spell: fetch now (or as soon as minInterval allows). Empty when not idle, and when a restored
     * snapshot is there to serve: the reader gets it at once, and the fetch is made now only when that snapshot is at
     * least one interval old (else it is scheduled for when it is).
     */
    Optional<CompletableFuture<Void>> wake() {
        if (!idle) {
            return Optional.empty(); // every read of an active source: no lock
        }
        return wakeIdle();
    }

    private synchronized Optional<CompletableFuture<Void>> wakeIdle() {
        if (!idle) {
            return Optional.empty();
        }
        idle = false;
        c.budgets().join(source, () -> c.demand().watched(source));
        LOG.log(Level.DEBUG, "source " + source.id() + ": active");
        long due = restoredDue();
        if (due > 0) {
            schedule(due);
            return Optional.empty();
        }
        CompletableFuture<Void> fetch = run();
        return due == 0 ? Optional.empty() : Optional.of(fetch);
    }

    /** Starts the first fetch now, unless one was started or a restored snapshot stands in for it until it is due. */
    synchronized void runIfNeverStarted() {
        if (!started && !idle && restoredDue() <= 0) {
            run();
        }
    }

    synchronized CompletableFuture<Void> run() {
        if (inFlight != null) {
            return inFlight;
        }
        if (holdUntil != null && c.time().instant().isBefore(holdUntil)) {
            // the upstream asked for quiet (rate limit spent, Retry-After): the schedule already waits for it
            long waitMillis = Duration.between(c.time().instant(), holdUntil).toMillis() + 1;
            if (nextAt == null || nextAt.isBefore(holdUntil)) {
                schedule(waitMillis);
            }
            return completion;
        }
        long sinceLast = c.time().nanoTime() - lastEndNanos;
        long floor = source.minInterval().toNanos();
        if ((started || restoredAt != null) && floor > 0 && sinceLast < floor) {
            long waitMillis = TimeUnit.NANOSECONDS.toMillis(floor - sinceLast) + 1;
            if (nextAt == null || nextAt.isAfter(c.time().instant().plusMillis(waitMillis))) {
                schedule(waitMillis);
            }
            return completion;
        }
        CompletableFuture<Void> done = completion;
        inFlight = done;
        started = true;
        long startNanos = c.time().nanoTime();
        try {
            c.workers().execute(() -> fetchOnce(done, startNanos));
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
            if (!c.mayFetch().test(source.id())) {
                nextAt = c.time().instant().plusMillis(delay);
                return; // another instance fetches it; whoever waits keeps waiting for its result
            }
            long slot = startSlot();
            if (slot > 0) {
                // the budget spaces fetch starts evenly: this one waits for the start reserved for it
                from = c.time().nanoTime();
                delay = slot;
                nextAt = c.time().instant().plusMillis(delay);
                return;
            }
            fetched = true;
            if (fetcher == null) {
                fetcher = c.fetchers().apply(source); // one fetch at a time per task: no race
            }
            long fetchStart = c.time().nanoTime();
            StartupTrace.mark("first fetch starts");
            FetchResult result = fetcher.fetch();
            StartupTrace.mark("first fetch done");
            from = c.time().nanoTime();
            // the delay counts from here: a hold until an instant is measured from here too, else the time spent
            // handling the result would be taken off it twice and the next fetch would come before that instant
            Instant fromAt = c.time().instant();
            if (result instanceof FetchResult.Deferred d) {
                // the budget allowed no (further) request: nothing changes, the data stays fresh as it was
                fetched = false;
                delay = Math.max(1, Duration.between(fromAt, d.notBefore()).toMillis());
                synchronized (this) {
                    reserved = true; // the start stands; when the budget allows, the fetch goes ahead
                    reservedAt = from + TimeUnit.MILLISECONDS.toNanos(delay);
                }
                nextAt = c.time().instant().plusMillis(delay);
                return;
            }
            c.metrics().fetched(source.baseId(), Backoff.outcome(result), from - fetchStart);
            delay = nextDelay(result, TimeUnit.NANOSECONDS.toMillis(from - startNanos));
            delay = holdFor(fetcher.quietUntil(), result, delay, fromAt);
            // a budget shared by more than it covers stretches the interval (see Budgets#interval)
            delay = Math.max(
                    delay, c.budgets().interval(source).toMillis() - TimeUnit.NANOSECONDS.toMillis(from - startNanos));
            // visible before the result is, so nextFetchAt is never behind fetchedAt
            nextAt = c.time().instant().plusMillis(delay);
            c.listener().onResult(source, result, c.time().instant());
            StartupTrace.mark("first result recorded");
        } catch (RuntimeException e) {
            if (!c.closed().getAsBoolean()) { // after close, failures of the fetches it cut short are expected
                LOG.log(Level.ERROR, "source " + source.id() + ": fetch or result handling failed: " + e);
            }
        } finally {
            synchronized (this) {
                inFlight = null;
                if (fetched) {
                    seen = true;
                    restoredAt = null;
                    lastEndNanos = from;
                    completion = new CompletableFuture<>();
                }
                // the time spent storing and delivering the result is not added to the period
                schedule(Math.max(
                        0, delay - TimeUnit.NANOSECONDS.toMillis(c.time().nanoTime() - from)));
            }
            if (fetched) {
                done.complete(null);
            }
        }
    }

    /**
     * Milliseconds until the start the budget reserves for this fetch (0: go now), reserving one unless this fetch was
     * scheduled for a reserved start already. A source without budget always goes now.
     */
    private long startSlot() {
        synchronized (this) {
            if (reserved) {
                long left = reservedAt - c.time().nanoTime();
                if (left > 0) {
                    return Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)); // another trigger came first: wait
                }
                reserved = false;
                return 0;
            }
        }
        long wait = c.budgets().reserve(source);
        if (wait > 0) {
            synchronized (this) {
                reserved = true;
                reservedAt = c.time().nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
            }
        }
        return wait;
    }

    /**
     * Keeps the source quiet until the upstream's rate-limit reset or Retry-After, whichever is later, against
     * every trigger (see {@link #run}); the delay, at least until then, counted from {@code from} (the moment the delay
     * counts from, see fetchOnce).
     */
    private synchronized long holdFor(Instant quiet, FetchResult result, long delay, Instant from) {
        Instant retry = result instanceof FetchResult.Failure f ? f.retryAfter() : null;
        Instant until = quiet == null || (retry != null && retry.isAfter(quiet)) ? retry : quiet;
        holdUntil = until;
        if (until == null) {
            return delay;
        }
        return Math.max(delay, Duration.between(from, until).toMillis());
    }

    private synchronized long nextDelay(FetchResult result, long elapsedMillis) {
        failures = result instanceof FetchResult.Failure ? failures + 1 : 0;
        return Backoff.nextDelay(
                source, result, failures, elapsedMillis, c.time().instant(), c.random());
    }
}
