package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.budget.Ledger;
import io.github.aggregator.source.BudgetConfig;
import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.TestClock;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The clustered ledger while the transport is degraded: the budget is counted in this instance at once, without a
 * single call to Redis. Redis here is a port that accepts connections and never answers, with the longest Redis
 * timeout there is (1m): any check that went to it would wait that long.
 */
class RedisLedgerTest {
    private static final BudgetConfig PLAN =
            new BudgetConfig("plan", List.of(new BudgetConfig.Limit(5, Duration.ofMinutes(1))));

    @Test
    void aDegradedTransportCountsLocallyWithoutAskingRedis() throws Exception {
        int port = Ports.free();
        ClusterConfig config = new ClusterConfig(
                ClusterConfig.parseUrl("redis://127.0.0.1:" + port),
                "t:",
                Duration.ofMinutes(1),
                Duration.ofMinutes(1),
                List.of());
        TestClock clock = new TestClock();
        List<Socket> held = new CopyOnWriteArrayList<>();
        try (RedisTransport transport = new RedisTransport(config, new SnapshotStore(4), 4)) {
            transport.start(List.of(), id -> true); // nothing listens yet: refused, so degraded at once
            assertEquals(Optional.of("degraded"), transport.clusterState());
            try (ServerSocket silent = new ServerSocket(port, 50, InetAddress.getLoopbackAddress())) {
                Thread.ofVirtual().start(() -> {
                    while (!silent.isClosed()) {
                        try {
                            held.add(silent.accept()); // accepted, never answered
                        } catch (java.io.IOException e) {
                            return;
                        }
                    }
                });
                Ledger ledger = transport.ledger(clock);
                AtomicInteger done = new AtomicInteger();
                AtomicInteger sent = new AtomicInteger();
                Thread checks = Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < 20; i++) {
                        if (ledger.trySend(PLAN, false, "r" + i) == 0) {
                            sent.incrementAndGet();
                        }
                        ledger.reserve(PLAN);
                        ledger.use(PLAN);
                        done.incrementAndGet();
                    }
                });
                // one check that went to the silent port would hold this for a minute
                Await.isTrue(() -> done.get() == 20, Duration.ofSeconds(20), "20 checks while degraded");
                checks.join();
                assertEquals(5, sent.get(), "the local count keeps the limit of 5 per minute");
                assertEquals(5, ledger.use(PLAN).getFirst().used());
                clock.advance(PLAN.limits().getFirst().counted().plusMillis(1));
                assertEquals(0, ledger.trySend(PLAN, false, "after"), "a new window on the instance's clock");
                assertEquals(Optional.of("degraded"), transport.clusterState());
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }
}
