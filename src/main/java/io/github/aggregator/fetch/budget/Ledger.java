package io.github.aggregator.fetch.budget;

import io.github.aggregator.source.BudgetConfig;
import java.time.Instant;
import java.util.List;

/**
 * Where the requests of each budget are counted: in this process ({@link LocalLedger}), or in Redis across every
 * instance of a cluster. For each limit a sliding log of the requests sent (a request is allowed when fewer than the
 * limit's count were sent in the last counted window, so no window of that length ever holds more), and for the whole
 * budget an even pacing of fetch starts (one per {@link BudgetConfig#spacing}). Implementations are thread-safe.
 */
public interface Ledger {

    /** The use of one limit now. */
    record Use(BudgetConfig.Limit limit, int used, Instant resetsAt) {
        /** Requests the limit still allows in the current window. */
        public int remaining() {
            return Math.max(0, limit.requests() - used);
        }
    }

    /**
     * Records one request of {@code budget} now when every limit allows it.
     *
     * @param extra true for a request beyond a fetch's first (a redirect, a retry, a token request): it also pushes
     *     the pacing of later fetch starts back by one spacing
     * @param request names the request, unique, for {@link #answered}
     * @return 0 when recorded (send it), else milliseconds until every limit would allow one
     */
    long trySend(BudgetConfig budget, boolean extra, String request);

    /**
     * The recorded {@code request} was answered (or failed) now: it counts from now on instead of from when it was
     * sent. The upstream received it somewhere between the two, so counting it until the later time keeps the
     * upstream's own windows within the limit however long the request took to reach it.
     */
    void answered(BudgetConfig budget, String request);

    /**
     * Reserves the next evenly spaced start for a fetch of {@code budget}.
     *
     * @return milliseconds from now until the reserved start (0: now)
     */
    long reserve(BudgetConfig budget);

    /** The use of each limit of {@code budget} now, in the budget's order. */
    List<Use> use(BudgetConfig budget);
}
