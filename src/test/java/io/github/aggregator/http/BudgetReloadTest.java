package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Budgets changed in a running service by a config reload, on the test clock: a limit raised, a budget added and a
 * source moved onto it, then that budget removed and the source back on its own interval. Each phase's requests, as
 * the upstream noted them, keep the limits in force during that phase, and the new limits are really spent.
 */
class BudgetReloadTest {
    private static final String ADMIN = "admin-token-0123456789";
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration PHASE = Duration.ofSeconds(40);

    @Test
    void limitsBudgetsAndASourcesBudgetChangeInARunningService() throws Exception {
        TestClock clock = new TestClock();
        List<BudgetTest.Received> received = new CopyOnWriteArrayList<>();
        try (Upstream up = new Upstream()) {
            up.reply(Upstream.Reply.custom(
                    BudgetTest.noting(clock, received, ex -> BudgetTest.json(ex, 200, "{\"v\":1}"))));
            try (Service svc = Service.start(config(up, "[3/10s]", null, null), Map.of(), clock)) {
                // phase 1: a and b share 3 per 10s; c has no budget
                BudgetTest.run(svc, clock, PHASE);
                Instant first = clock.instant();
                List<Instant> ab1 = times(received, Instant.MIN, first, "/a", "/b");
                BudgetTest.assertAtMost(ab1, 3, Duration.ofSeconds(10));
                assertTrue(ab1.size() >= 8, "a and b in phase 1: " + ab1);

                // phase 2: the plan's limit raised, a budget "extra" added and c moved onto it
                write(svc.configFile(), config(up, "[6/10s]", "[2/10s]", "extra"));
                Await.isTrue(
                        () -> budgets(svc).equals(List.of("plan 6/10s", "extra 2/10s"))
                                && "extra"
                                        .equals(BudgetTest.find(
                                                        BudgetTest.status(svc).get("sources"), "c")
                                                .path("budget")
                                                .asText()),
                        WAIT,
                        "the reload in force");
                BudgetTest.run(svc, clock, PHASE);
                Instant second = clock.instant();
                List<Instant> ab2 = times(received, first, second, "/a", "/b");
                BudgetTest.assertAtMost(ab2, 6, Duration.ofSeconds(10));
                // more than 3 per 10s could ever give in 40s (at most 15): the raised limit is spent
                assertTrue(ab2.size() >= 17, "a and b in phase 2: " + ab2);
                List<Instant> c2 = times(received, first, second, "/c");
                BudgetTest.assertAtMost(c2, 2, Duration.ofSeconds(10));
                assertTrue(c2.size() >= 5, "c on its new budget: " + c2);
                JsonNode c = BudgetTest.find(BudgetTest.status(svc).get("sources"), "c");
                assertTrue(c.get("effectiveInterval").asDouble() > 1.0, c.toString());

                // phase 3: "extra" removed, c back on its own interval of 1s
                write(svc.configFile(), config(up, "[6/10s]", null, null));
                Await.isTrue(
                        () -> budgets(svc).equals(List.of("plan 6/10s"))
                                && !BudgetTest.find(BudgetTest.status(svc).get("sources"), "c")
                                        .has("budget"),
                        WAIT,
                        "the second reload in force");
                BudgetTest.run(svc, clock, PHASE);
                List<Instant> ab3 = times(received, second, clock.instant(), "/a", "/b");
                BudgetTest.assertAtMost(ab3, 6, Duration.ofSeconds(10));
                List<Instant> c3 = times(received, second, clock.instant(), "/c");
                // far more than 2 per 10s allowed (at most 10 in 40s): no budget holds c back any more
                assertTrue(c3.size() >= 25, "c without a budget: " + c3.size());
                c = BudgetTest.find(BudgetTest.status(svc).get("sources"), "c");
                assertEquals(1.0, c.get("effectiveInterval").asDouble(), c.toString());
                assertFalse(c.get("stale").asBoolean());
            }
        }
    }

    /** The budgets in force as {@code id limit…}, from the admin view. */
    private static List<String> budgets(Service svc) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode b : BudgetTest.status(svc).path("budgets")) {
            StringBuilder sb = new StringBuilder(b.get("id").asText());
            b.get("limits").forEach(l -> sb.append(' ').append(l.get("limit").asText()));
            out.add(sb.toString());
        }
        return out;
    }

    /** The times of requests to {@code paths} noted in [from, to). */
    private static List<Instant> times(List<BudgetTest.Received> received, Instant from, Instant to, String... paths) {
        List<String> wanted = List.of(paths);
        return received.stream()
                .filter(r -> wanted.contains(r.path()) && !r.at().isBefore(from) && r.at().isBefore(to))
                .map(BudgetTest.Received::at)
                .toList();
    }

    private static String config(Upstream up, String plan, String extra, String cBudget) {
        return """
                admin:
                  token: %s
                aggregator:
                  budgets:
                    - id: plan
                      limits: %s
                %s  sources:
                %s    - id: c
                      url: %s/c
                      interval: 1s
                      timeout: 2s
                %s""".formatted(
                        ADMIN,
                        plan,
                        extra == null ? "" : "    - id: extra\n      limits: " + extra + "\n",
                        BudgetTest.sources("a,b", up.url(), "1s", "plan"),
                        up.url(),
                        cBudget == null ? "" : "      budget: " + cBudget + "\n");
    }

    private static void write(Path file, String yaml) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, yaml);
        ConfigSchema.check(tmp, Map.of());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
