package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Precedence in a budget for a source that a polling reader reads (plain GETs, no SSE subscription), on the test
 * clock: while it is read within its {@code idleAfter} it gets the larger share, the other keeps its floor; once the
 * reads stop and {@code idleAfter} has passed, both share the budget alike.
 */
class BudgetPrecedenceTest {
    private static final String ADMIN = "admin-token-0123456789";

    @Test
    void aSourceWithAPollingReaderGetsPrecedenceUntilItsReadsStop() throws Exception {
        TestClock clock = new TestClock();
        List<String> received = new CopyOnWriteArrayList<>();
        String yaml = """
                admin:
                  token: %s
                aggregator:
                  budgets:
                    - id: plan
                      limits: [6/1m]
                  sources:
                %s""".formatted(ADMIN, BudgetTest.sources("read,plain", "%s", "1s", "plan"));
        try (Upstream up = new Upstream()) {
            up.reply(Upstream.Reply.custom(ex -> {
                received.add(ex.getRequestURI().getPath());
                BudgetTest.json(ex, 200, "{\"v\":1}");
            }));
            String config = yaml.replace("%s", up.url())
                    .replace("      timeout: 2s\n", "      timeout: 2s\n      idleAfter: 1m\n");
            try (Service svc = Service.start(config, Map.of(), clock)) {
                // a reader polls /api/sources/read every 30s for 10 minutes
                int before = received.size();
                for (int i = 0; i < 20; i++) {
                    assertEquals(200, svc.get("/api/sources/read").statusCode());
                    BudgetTest.run(svc, clock, Duration.ofSeconds(30));
                }
                List<String> during = List.copyOf(received.subList(before, received.size()));
                long read = during.stream().filter("/read"::equals).count();
                long plain = during.stream().filter("/plain"::equals).count();
                assertTrue(read >= 2 * plain, "read " + read + ", plain " + plain);
                assertTrue(plain >= 5, "the other source still gets its floor: " + plain);
                JsonNode sources = BudgetTest.status(svc).get("sources");
                double r = BudgetTest.find(sources, "read")
                        .get("effectiveInterval")
                        .asDouble();
                double p = BudgetTest.find(sources, "plain")
                        .get("effectiveInterval")
                        .asDouble();
                assertTrue(r < p, "read every " + r + "s, plain every " + p + "s");

                // the reader stops: after idleAfter (1m) neither source is followed, and they share alike
                BudgetTest.run(svc, clock, Duration.ofSeconds(90));
                int after = received.size();
                BudgetTest.run(svc, clock, Duration.ofMinutes(5));
                List<String> idle = List.copyOf(received.subList(after, received.size()));
                long readIdle = idle.stream().filter("/read"::equals).count();
                long plainIdle = idle.stream().filter("/plain"::equals).count();
                assertTrue(Math.abs(readIdle - plainIdle) <= 2, "read " + readIdle + ", plain " + plainIdle);
                sources = BudgetTest.status(svc).get("sources");
                assertEquals(
                        BudgetTest.find(sources, "read")
                                .get("effectiveInterval")
                                .asDouble(),
                        BudgetTest.find(sources, "plain")
                                .get("effectiveInterval")
                                .asDouble(),
                        0.001,
                        sources.toString());
            }
        }
    }
}
