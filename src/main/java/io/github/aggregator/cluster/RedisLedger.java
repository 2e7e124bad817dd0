package io.github.aggregator.cluster;

import io.github.aggregator.fetch.budget.Ledger;
import io.github.aggregator.source.BudgetConfig;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The request budgets counted in Redis, so that every instance of a cluster spends one budget together. Per budget and
 * limit a sorted set of the requests sent (score: Redis' own clock in milliseconds, so instances' clocks need not
 * agree), and one key with the next free evenly spaced fetch start; one Lua script checks and records atomically. All
 * keys of a budget carry its id as hash tag ({@link Keys#budget}), so the script runs in one slot of a Redis Cluster.
 *
 * <p>While Redis cannot be reached, each instance counts in its own {@code fallback} (one warning when that starts,
 * one line when Redis answers again): a cluster that lost its Redis may then spend up to one budget per instance.
 * While the transport is degraded no check goes to Redis at all, so no check waits for a connect or command timeout;
 * a check that fails degrades the transport, and its background check brings the budgets back to Redis with the rest
 * of the instance when Redis answers again. Thread-safe.
 */
final class RedisLedger implements Ledger {
    private static final System.Logger LOG = System.getLogger(RedisLedger.class.getName());
    /** Keys stay a minute past their last use, so an idle budget leaves nothing behind. */
    private static final long LINGER_MILLIS = 60_000;

    // KEYS[1]: next free start; KEYS[1 + j]: the log of limit j. ARGV: mode, request, spacing, linger, then window and
    // count of each limit. Returns: send/sendx 0 or the wait; reserve the wait; answered 0 (the request's entries
    // move to now); use {count, oldest + window or -1} per limit, then Redis' time
    private static final String SCRIPT = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local mode = ARGV[1]
            local spacing = tonumber(ARGV[3])
            local linger = tonumber(ARGV[4])
            local function pace()
              local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
              local start = math.max(nxt, now)
              redis.call('SET', KEYS[1], string.format('%d', start + spacing), 'PX',
                string.format('%d', start + spacing - now + linger))
              return start - now
            end
            if mode == 'reserve' then
              return pace()
            end
            if mode == 'answered' then
              for j = 1, #KEYS - 1 do
                redis.call('ZADD', KEYS[j + 1], 'XX', 'GT', string.format('%d', now), ARGV[2])
              end
              return 0
            end
            local wait = 0
            local out = {}
            for j = 1, #KEYS - 1 do
              local key = KEYS[j + 1]
              local w = tonumber(ARGV[3 + 2 * j])
              local n = tonumber(ARGV[4 + 2 * j])
              redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%d', now - w))
              local count = redis.call('ZCARD', key)
              if mode == 'use' then
                local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
                out[#out + 1] = count
                out[#out + 1] = first[2] and tonumber(first[2]) + w or -1
              elseif count >= n then
                local r = redis.call('ZRANGE', key, count - n, count - n, 'WITHSCORES')
                local free = tonumber(r[2]) + w - now
                if free > wait then wait = free end
              end
            end
            if mode == 'use' then
              out[#out + 1] = now
              return out
            end
            if wait > 0 then
              return wait
            end
            for j = 1, #KEYS - 1 do
              local key = KEYS[j + 1]
              local w = tonumber(ARGV[3 + 2 * j])
              redis.call('ZADD', key, string.format('%d', now), ARGV[2])
              redis.call('PEXPIRE', key, string.format('%d', w + linger))
            end
            if mode == 'sendx' then
              pace()
            end
            return 0
            """;

    private final Connector connector;
    private final String instance;
    private final Ledger fallback;
    private final BooleanSupplier transportDegraded;
    private final Consumer<RuntimeException> failed;
    private volatile boolean degraded;

    /**
     * @param transportDegraded true while the cluster transport cannot reach Redis: the fallback counts at once
     * @param failed told when a call to Redis fails, so the transport becomes degraded too
     */
    RedisLedger(
            Connector connector,
            String instance,
            Ledger fallback,
            BooleanSupplier transportDegraded,
            Consumer<RuntimeException> failed) {
        this.connector = connector;
        this.instance = instance;
        this.fallback = fallback;
        this.transportDegraded = transportDegraded;
        this.failed = failed;
    }

    @Override
    public long trySend(BudgetConfig budget, boolean extra, String request) {
        Object answer = run(budget, extra ? "sendx" : "send", request);
        return answer instanceof Long wait ? wait : fallback.trySend(budget, extra, request);
    }

    @Override
    public void answered(BudgetConfig budget, String request) {
        if (run(budget, "answered", request) == null) {
            fallback.answered(budget, request);
        }
    }

    @Override
    public long reserve(BudgetConfig budget) {
        Object answer = run(budget, "reserve", "");
        return answer instanceof Long wait ? wait : fallback.reserve(budget);
    }

    @Override
    public List<Use> use(BudgetConfig budget) {
        Object answer = run(budget, "use", "");
        if (!(answer instanceof List<?> values)
                || values.size() != budget.limits().size() * 2 + 1) {
            return fallback.use(budget);
        }
        List<Use> out = new ArrayList<>();
        for (int j = 0; j < budget.limits().size(); j++) {
            long count = (Long) values.get(2 * j);
            long resets = (Long) values.get(2 * j + 1);
            out.add(new Use(budget.limits().get(j), (int) count, resets < 0 ? null : Instant.ofEpochMilli(resets)));
        }
        return out;
    }

    /** The script's answer, or null when Redis could not be asked (the fallback answers then). */
    private Object run(BudgetConfig budget, String mode, String request) {
        if (transportDegraded.getAsBoolean()) {
            if (!degraded) {
                degraded = true;
                LOG.log(
                        Level.WARNING,
                        "budget " + budget.id() + ": cluster degraded, counting in this instance until Redis answers");
            }
            return null;
        }
        List<String> keys = new ArrayList<>();
        List<String> args = new ArrayList<>();
        try {
            Link link = connector.link();
            keys.add(link.keys().budget(budget.id(), "next"));
            args.add(mode);
            args.add(instance + ":" + request);
            args.add(Long.toString(Math.max(1, budget.spacing().toMillis())));
            args.add(Long.toString(LINGER_MILLIS));
            for (BudgetConfig.Limit l : budget.limits()) {
                // one log per window (a budget has at most one limit per window): a reload that changes the count
                // of a limit keeps the requests already sent in its log, and the script counts them against the new
                keys.add(link.keys().budget(budget.id(), l.window().toMillis() + "ms"));
                args.add(Long.toString(l.counted().toMillis()));
                args.add(Integer.toString(l.requests()));
            }
            Object answer = link.client().eval(SCRIPT, keys, args);
            if (degraded) {
                degraded = false;
                LOG.log(Level.INFO, "budget " + budget.id() + ": counted in Redis again");
            }
            return answer;
        } catch (RuntimeException e) {
            if (!degraded) {
                degraded = true;
                LOG.log(
                        Level.WARNING,
                        "budget " + budget.id() + ": Redis unreachable ("
                                + e.getClass().getSimpleName() + "), counting in this instance until it answers");
            }
            failed.accept(e);
            return null;
        }
    }
}
