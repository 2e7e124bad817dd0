package io.github.aggregator.fetch.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.BudgetConfig;
import io.github.aggregator.testing.TestClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The local ledger's guarantee under arbitrary demand: requests asked for at random times (bursts included), each
 * answered after a random delay, never put more than a limit's count into any window of its length, measured over
 * the times at which the requests could have reached the upstream (anywhere between sending and answer). And the
 * sharing of a budget's rate among its sources.
 */
class LedgerTest {
    private static final BudgetConfig PLAN = new BudgetConfig(
            "plan",
            List.of(
                    new BudgetConfig.Limit(5, Duration.ofSeconds(10)),
                    new BudgetConfig.Limit(12, Duration.ofMinutes(1))));

    @Test
    void noWindowEverHoldsMoreThanTheLimitWhateverTheDemandAndTheLatency() {
        for (long s = 1; s <= 20; s++) {
            long seed = s;
            SplittableRandom random = new SplittableRandom(seed);
            TestClock clock = new TestClock();
            LocalLedger ledger = new LocalLedger(clock);
            List<long[]> sent = new ArrayList<>(); // {sent, answered} in millis of the clock
            for (int i = 0; i < 3000; i++) {
                clock.advance(Duration.ofMillis(random.nextInt(4) == 0 ? 0 : random.nextInt(400)));
                String name = "r" + i;
                if (ledger.trySend(PLAN, random.nextBoolean(), name) == 0) {
                    long at = clock.millis();
                    // the answer comes later; meanwhile the clock moves on
                    long latency = random.nextInt(3000);
                    clock.advance(Duration.ofMillis(latency));
                    ledger.answered(PLAN, name);
                    sent.add(new long[] {at, clock.millis()});
                }
            }
            assertTrue(sent.size() > 50, "requests granted: " + sent.size());
            for (BudgetConfig.Limit limit : PLAN.limits()) {
                long window = limit.window().toMillis();
                // the worst case for the upstream: each earlier request arrives as late as it could (at its answer),
                // the one that starts the window as early as it could (when it was sent)
                for (long[] first : sent) {
                    long count = sent.stream()
                            .filter(r -> r[1] >= first[0] && r[0] < first[0] + window)
                            .count();
                    assertTrue(
                            count <= limit.requests(),
                            "seed " + seed + ": " + count + " requests in one " + limit + " window");
                }
            }
        }
    }

    @Test
    void aLimitLoweredByAReloadCountsTheRequestsAlreadySent() {
        TestClock clock = new TestClock();
        LocalLedger ledger = new LocalLedger(clock);
        BudgetConfig wide = new BudgetConfig("plan", List.of(new BudgetConfig.Limit(10, Duration.ofMinutes(1))));
        BudgetConfig narrow = new BudgetConfig("plan", List.of(new BudgetConfig.Limit(4, Duration.ofMinutes(1))));
        for (int i = 0; i < 6; i++) {
            assertEquals(0, ledger.trySend(wide, false, "w" + i));
            ledger.answered(wide, "w" + i);
            clock.advance(Duration.ofSeconds(1));
        }
        // the reload: 6 sent in the last minute already exceed the new 4
        assertTrue(ledger.trySend(narrow, false, "n0") > 0, "no request while the window holds more than the limit");
        assertEquals(6, ledger.use(narrow).getFirst().used(), "the requests sent before the reload still count");
        // the first three leave the window: still three left, so one more fits
        clock.advance(Duration.ofSeconds(57));
        assertEquals(0, ledger.trySend(narrow, false, "n1"));
        assertTrue(ledger.trySend(narrow, false, "n2") > 0, "four in the window now");
    }

    @Test
    void fetchStartsAreSpacedEvenlyInTheOrderTheyAreReserved() {
        TestClock clock = new TestClock();
        LocalLedger ledger = new LocalLedger(clock);
        // 61s counted per 12 requests: one start per 5083 ms; three at once queue up behind each other
        assertEquals(0, ledger.reserve(PLAN));
        assertEquals(5083, ledger.reserve(PLAN));
        assertEquals(10_166, ledger.reserve(PLAN));
        clock.advance(Duration.ofMinutes(1));
        assertEquals(0, ledger.reserve(PLAN), "an idle budget starts at once");
        // a request beyond a fetch's first pushes the next start back too
        assertEquals(0, ledger.trySend(PLAN, true, "extra"));
        assertEquals(2 * 5083, ledger.reserve(PLAN));
    }

    @Test
    void watchedSourcesComeFirstAndNoneStarves() {
        // capacity: one request per 10 s; two sources want one per second
        Map<String, Long> even =
                Shares.intervals(10_000, List.of(new Shares.Wish("a", 1000, false), new Shares.Wish("b", 1000, false)));
        assertEquals(Map.of("a", 20_000L, "b", 20_000L), even);
        Map<String, Long> first =
                Shares.intervals(10_000, List.of(new Shares.Wish("a", 1000, true), new Shares.Wish("b", 1000, false)));
        // half the rate shared evenly (one per 40 s each), the other half to the watched one
        assertEquals(Map.of("a", 13_334L, "b", 40_000L), first);
        // what a source does not need passes on: a slow one keeps its own interval
        Map<String, Long> slow = Shares.intervals(
                10_000, List.of(new Shares.Wish("a", 1000, false), new Shares.Wish("b", 60_000, false)));
        assertEquals(60_000L, slow.get("b"));
        assertTrue(slow.get("a") < 20_000L, slow.toString());
        // when the budget covers everyone, nothing is stretched
        assertEquals(Map.of("a", 30_000L), Shares.intervals(10_000, List.of(new Shares.Wish("a", 30_000, true))));
    }
}
