package io.github.aggregator.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.fetch.budget.Budgets;
import io.github.aggregator.fetch.budget.Ledger;
import io.github.aggregator.observe.PrometheusText;
import io.github.aggregator.source.BudgetConfig;
import io.github.aggregator.source.SourceConfig;

/** How the request budgets show in {@code GET /api/sources} and in the metrics. */
final class BudgetView {
    private BudgetView() {}

    /** A source's budget fields: {@code budget} (when it has one) and {@code effectiveInterval} in seconds. */
    static void source(ObjectNode n, SourceConfig s, Poller poller) {
        if (s.budget() != null) {
            n.put("budget", s.budget());
        }
        n.put("effectiveInterval", poller.effectiveInterval(s).toMillis() / 1000.0);
    }

    /**
     * {@code budgets}: each budget with, per limit, {@code limit} as configured, {@code used} in the current window,
     * {@code remaining}, and {@code resetsAt}, when the oldest request counted leaves the window (null when none is
     * counted).
     */
    static void budgets(ObjectNode body, Budgets budgets) {
        if (budgets.all().isEmpty()) {
            return;
        }
        ArrayNode list = body.putArray("budgets");
        for (BudgetConfig b : budgets.all()) {
            ObjectNode n = list.addObject();
            n.put("id", b.id());
            ArrayNode limits = n.putArray("limits");
            for (Ledger.Use u : budgets.use(b.id())) {
                limits.addObject()
                        .put("limit", u.limit().toString())
                        .put("used", u.used())
                        .put("remaining", u.remaining())
                        .put(
                                "resetsAt",
                                u.resetsAt() == null ? null : u.resetsAt().toString());
            }
        }
    }

    /** {@code aggregator_budget_remaining{budget, limit}}: one sample per configured limit, so the labels stay bounded. */
    static void metrics(PrometheusText out, Budgets budgets) {
        if (budgets == null || budgets.all().isEmpty()) {
            return;
        }
        out.family(
                "aggregator_budget_remaining",
                "gauge",
                "Requests a shared budget still allows in the current window of each of its limits.");
        for (BudgetConfig b : budgets.all()) {
            for (Ledger.Use u : budgets.use(b.id())) {
                out.sample(
                        "aggregator_budget_remaining",
                        (long) u.remaining(),
                        "budget",
                        b.id(),
                        "limit",
                        u.limit().toString());
            }
        }
    }
}
