package io.github.aggregator.fetch.budget;

import io.github.aggregator.source.BudgetConfig;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The requests of each budget counted in this process, on the clock given (a test's clock moves only when the test
 * advances it). A budget whose limits change starts counting afresh. Thread-safe.
 */
public final class LocalLedger implements Ledger {
    private final InstantSource clock;
    private final ConcurrentHashMap<String, State> states = new ConcurrentHashMap<>();

    public LocalLedger(InstantSource clock) {
        this.clock = clock;
    }

    @Override
    public long trySend(BudgetConfig budget, boolean extra) {
        State s = state(budget);
        long now = clock.millis();
        synchronized (s) {
            long wait = 0;
            for (Log log : s.logs) {
                wait = Math.max(wait, log.waitAt(now));
            }
            if (wait > 0) {
                return wait;
            }
            for (Log log : s.logs) {
                log.add(now);
            }
            if (extra) {
                s.nextStart = Math.max(s.nextStart, now) + s.spacing;
            }
            return 0;
        }
    }

    @Override
    public long reserve(BudgetConfig budget) {
        State s = state(budget);
        long now = clock.millis();
        synchronized (s) {
            long start = Math.max(s.nextStart, now);
            s.nextStart = start + s.spacing;
            return start - now;
        }
    }

    @Override
    public List<Use> use(BudgetConfig budget) {
        State s = state(budget);
        long now = clock.millis();
        List<Use> out = new ArrayList<>();
        synchronized (s) {
            for (Log log : s.logs) {
                out.add(log.use(now));
            }
        }
        return out;
    }

    private State state(BudgetConfig budget) {
        return states.compute(
                budget.id(), (id, old) -> old != null && old.budget.equals(budget) ? old : new State(budget));
    }

    /** One budget's logs and pacing. */
    private static final class State {
        final BudgetConfig budget;
        final List<Log> logs = new ArrayList<>();
        final long spacing;
        long nextStart; // guarded by this; epoch millis of the next free fetch start

        State(BudgetConfig budget) {
            this.budget = budget;
            this.spacing = Math.max(1, budget.spacing().toMillis());
            budget.limits().forEach(l -> logs.add(new Log(l)));
        }
    }

    /** The times of the last {@code requests} requests of one limit, oldest first, in a ring. */
    private static final class Log {
        final BudgetConfig.Limit limit;
        final long window;
        final long[] times;
        int start;
        int size;

        Log(BudgetConfig.Limit limit) {
            this.limit = limit;
            this.window = limit.counted().toMillis();
            this.times = new long[limit.requests()];
        }

        /** 0 when one more request now keeps the limit, else milliseconds until it would. */
        long waitAt(long now) {
            if (size < times.length) {
                return 0;
            }
            // full: the oldest of the last N must have left the window (N-th most recent at or before now - window)
            long oldest = times[start];
            return Math.max(0, oldest + window - now);
        }

        void add(long now) {
            if (size < times.length) {
                times[(start + size) % times.length] = now;
                size++;
            } else {
                times[start] = now;
                start = (start + 1) % times.length;
            }
        }

        Use use(long now) {
            int used = 0;
            long oldest = 0;
            for (int i = 0; i < size; i++) {
                long t = times[(start + i) % times.length];
                if (t > now - window) {
                    if (used == 0) {
                        oldest = t;
                    }
                    used++;
                }
            }
            return new Use(limit, used, used == 0 ? null : Instant.ofEpochMilli(oldest + window));
        }
    }
}
