package io.github.aggregator.fetch.budget;

import io.github.aggregator.source.BudgetConfig;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The requests of each budget counted in this process, on the clock given (a test's clock moves only when the test
 * advances it). A budget whose limits change (a reload) keeps the requests already sent: each new limit counts those
 * still inside its window, so no window straddling the reload holds more than the limit in force. Thread-safe.
 */
public final class LocalLedger implements Ledger {
    private final InstantSource clock;
    private final ConcurrentHashMap<String, State> states = new ConcurrentHashMap<>();

    public LocalLedger(InstantSource clock) {
        this.clock = clock;
    }

    @Override
    public long trySend(BudgetConfig budget, boolean extra, String request) {
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
                log.add(now, request);
            }
            if (extra) {
                s.nextStart = Math.max(s.nextStart, now) + s.spacing;
            }
            return 0;
        }
    }

    @Override
    public void answered(BudgetConfig budget, String request) {
        State s = state(budget);
        long now = clock.millis();
        synchronized (s) {
            for (Log log : s.logs) {
                log.restamp(request, now);
            }
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
        return states.compute(budget.id(), (id, old) -> {
            if (old != null && old.budget.equals(budget)) {
                return old;
            }
            State fresh = new State(budget);
            if (old != null) {
                synchronized (old) {
                    fresh.carryOver(old, clock.millis());
                }
            }
            return fresh;
        });
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

        /** Takes over the requests {@code old} counted (the union of its logs) and its pacing. */
        void carryOver(State old, long now) {
            java.util.Map<String, Long> sent = new java.util.HashMap<>();
            for (Log log : old.logs) {
                log.byTime.forEach(e -> sent.merge(e.name(), e.time(), Math::max));
            }
            for (Log log : logs) {
                sent.forEach((name, time) -> {
                    if (time > now - log.window) {
                        log.add(time, name);
                    }
                });
            }
            nextStart = old.nextStart;
        }
    }

    /** The requests of one limit still in its counted window, by time (then name), and each one's time by name. */
    private static final class Log {
        final BudgetConfig.Limit limit;
        final long window;
        final java.util.TreeSet<Entry> byTime = new java.util.TreeSet<>();
        final java.util.HashMap<String, Entry> byName = new java.util.HashMap<>();

        record Entry(long time, String name) implements Comparable<Entry> {
            @Override
            public int compareTo(Entry o) {
                return time != o.time ? Long.compare(time, o.time) : name.compareTo(o.name);
            }
        }

        Log(BudgetConfig.Limit limit) {
            this.limit = limit;
            this.window = limit.counted().toMillis();
        }

        /** Forgets the requests that left the window (at or before {@code now - window}). */
        private void expire(long now) {
            while (!byTime.isEmpty() && byTime.first().time() <= now - window) {
                byName.remove(byTime.pollFirst().name());
            }
        }

        /** 0 when one more request now keeps the limit, else milliseconds until it would. */
        long waitAt(long now) {
            expire(now);
            if (byTime.size() < limit.requests()) {
                return 0;
            }
            // full: the oldest must leave the window first
            return Math.max(1, byTime.first().time() + window - now);
        }

        void add(long now, String name) {
            Entry e = new Entry(now, name);
            byTime.add(e);
            byName.put(name, e);
        }

        void restamp(String name, long now) {
            Entry old = byName.get(name);
            if (old != null && old.time() < now) {
                byTime.remove(old);
                add(now, name);
            }
        }

        Use use(long now) {
            expire(now);
            return new Use(
                    limit,
                    byTime.size(),
                    byTime.isEmpty()
                            ? null
                            : Instant.ofEpochMilli(byTime.first().time() + window));
        }
    }
}
