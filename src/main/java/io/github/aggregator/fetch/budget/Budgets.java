package io.github.aggregator.fetch.budget;

import io.github.aggregator.source.BudgetConfig;
import io.github.aggregator.source.SourceConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * The request budgets in force and the sources spending each: what the poller asks before each fetch (an evenly
 * spaced start, the effective interval) and the fetcher before each request it sends (see {@link #gate}). The
 * counting itself is the {@link Ledger}'s, in this process or in Redis. Thread-safe.
 */
public final class Budgets {
    private final Ledger ledger;
    private volatile Map<String, BudgetConfig> byId = Map.of();
    /** The sources being polled now (always-polled ones, on-demand ones while active), by source id. */
    private final ConcurrentHashMap<String, Member> members = new ConcurrentHashMap<>();

    /** Whether a source spends a budget now, and whether someone watches it. */
    private record Member(SourceConfig source, BooleanSupplier watched) {}

    /** Asked before each upstream request of one source, and told when it was answered. */
    public interface Gate {
        /** A gate for a source without budget: always open. */
        Gate OPEN = new Gate() {
            @Override
            public long acquire(boolean extra) {
                return 0;
            }

            @Override
            public void answered() {}
        };

        /**
         * Counts one request about to be sent.
         *
         * @param extra true for a request beyond the fetch's first (a redirect, a retry, a token request)
         * @return 0 to send it now, else milliseconds until the budget allows one (nothing was counted)
         */
        long acquire(boolean extra);

        /** The request last counted was answered or failed: it counts from now (see {@link Ledger#answered}). */
        void answered();
    }

    /** The gate of one source; its fetches run one at a time, so one request is outstanding at most. */
    private final class SourceGate implements Gate {
        private final SourceConfig source;
        private final java.util.concurrent.atomic.AtomicLong sequence = new java.util.concurrent.atomic.AtomicLong();
        private volatile String outstanding;

        SourceGate(SourceConfig source) {
            this.source = source;
        }

        @Override
        public long acquire(boolean extra) {
            Optional<BudgetConfig> b = of(source);
            if (b.isEmpty()) {
                return 0;
            }
            String name = source.id() + "#" + Long.toHexString(System.identityHashCode(this)) + "-"
                    + sequence.incrementAndGet();
            long wait = ledger.trySend(b.get(), extra, name);
            outstanding = wait == 0 ? name : null;
            return wait;
        }

        @Override
        public void answered() {
            String name = outstanding;
            outstanding = null;
            if (name != null) {
                of(source).ifPresent(b -> ledger.answered(b, name));
            }
        }
    }

    public Budgets(Ledger ledger, List<BudgetConfig> budgets) {
        this.ledger = ledger;
        configure(budgets);
    }

    /** Puts {@code budgets} in force (a config reload); a budget whose limits stay keeps its count. */
    public void configure(List<BudgetConfig> budgets) {
        Map<String, BudgetConfig> next = new java.util.LinkedHashMap<>();
        budgets.forEach(b -> next.put(b.id(), b));
        byId = java.util.Collections.unmodifiableMap(next);
    }

    /** Every budget in force, in config order. */
    public List<BudgetConfig> all() {
        return List.copyOf(byId.values());
    }

    /** The budget {@code source} spends, if any. */
    public Optional<BudgetConfig> of(SourceConfig source) {
        return source.budget() == null ? Optional.empty() : Optional.ofNullable(byId.get(source.budget()));
    }

    /** The gate of {@code source}'s requests: its budget's, or always open. */
    public Gate gate(SourceConfig source) {
        if (source.budget() == null) {
            return Gate.OPEN;
        }
        return new SourceGate(source);
    }

    /** Milliseconds until the evenly spaced start reserved for a fetch of {@code source}; 0 without budget. */
    public long reserve(SourceConfig source) {
        return of(source).map(ledger::reserve).orElse(0L);
    }

    /** {@code source} is polled now and spends its budget; {@code watched} says whether someone follows it. */
    public void join(SourceConfig source, BooleanSupplier watched) {
        if (source.budget() != null) {
            members.put(source.id(), new Member(source, watched));
        }
    }

    /** {@code id} is no longer polled (idle, removed or edited). */
    public void leave(String id) {
        members.remove(id);
    }

    /**
     * How often {@code source} is fetched while its budget is shared as {@link Shares} describes: its own interval
     * when the budget covers every source's, longer when not.
     */
    public Duration interval(SourceConfig source) {
        Optional<BudgetConfig> budget = of(source);
        if (budget.isEmpty()) {
            return source.interval();
        }
        List<Shares.Wish> wishes = new ArrayList<>();
        boolean self = false;
        for (Member m : members.values()) {
            if (budget.get().id().equals(m.source().budget())) {
                wishes.add(new Shares.Wish(
                        m.source().id(),
                        m.source().interval().toMillis(),
                        m.watched().getAsBoolean()));
                self |= m.source().id().equals(source.id());
            }
        }
        if (!self) {
            wishes.add(new Shares.Wish(source.id(), source.interval().toMillis(), false));
        }
        Long ms = Shares.intervals(budget.get().spacing().toMillis(), wishes).get(source.id());
        return ms == null ? source.interval() : Duration.ofMillis(ms);
    }

    /** The use of each limit of budget {@code id} now; empty for an unknown id. */
    public List<Ledger.Use> use(String id) {
        BudgetConfig b = byId.get(id);
        return b == null ? List.of() : ledger.use(b);
    }
}
