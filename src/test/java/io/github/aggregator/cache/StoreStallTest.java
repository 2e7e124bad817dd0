package io.github.aggregator.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.h2.mvstore.SFChunk;
import org.h2.mvstore.SingleFileStore;
import org.junit.jupiter.api.Test;

/**
 * Writing to the store never delays delivery to subscribers or the next fetch: the store's file is written through
 * MVStore's own file store, whose writes the test holds at a gate ({@link DiskFile#FILE_STORES}, the engine's seam).
 * While a write waits there, a running service delivers the next versions to an SSE subscriber and fetches on its
 * schedule (on the test clock); once the gate opens, the store catches up.
 */
class StoreStallTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration INTERVAL = Duration.ofSeconds(10);

    /** H2's single-file store, whose chunk writes wait while a gate is set. */
    private static final class GatedFileStore extends SingleFileStore {
        private volatile CountDownLatch gate;
        private final AtomicInteger held = new AtomicInteger();

        GatedFileStore() {
            super(new HashMap<>());
        }

        @Override
        protected void writeFully(SFChunk chunk, long pos, ByteBuffer src) {
            CountDownLatch g = gate;
            if (g != null) {
                held.incrementAndGet();
                try {
                    g.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            super.writeFully(chunk, pos, src);
        }
    }

    private static double metric(Service svc, String name) {
        for (String line : svc.get("/observe/metrics").body().split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no " + name + " in the metrics");
    }

    private static int n(SseClient.Frame f) throws Exception {
        return Json.MAPPER.readTree(f.data()).get("data").get("n").asInt();
    }

    @Test
    void aStalledWriteDelaysNeitherSubscribersNorTheNextFetch() throws Exception {
        Path data = Files.createTempDirectory("aggregator-stall").resolve("data");
        Path file = data.resolve(DurableStore.FILE).toAbsolutePath().normalize();
        GatedFileStore disk = new GatedFileStore();
        DiskFile.FILE_STORES.put(file, () -> disk);
        TestClock clock = new TestClock();
        try (Upstream up = new Upstream().json("{\"n\":1}")) {
            try (Service svc =
                    Service.start("""
                    aggregator:
                      writeTimeout: 1h
                      sources:
                        - id: s
                          url: %s/s
                          interval: 10s
                    """.formatted(up.url()), Map.of("AGGREGATOR_DATA_DIR", data.toString()), clock)) {
                svc.settle(clock);
                svc.step(clock, INTERVAL);
                Await.isTrue(() -> svc.get("/api/sources/s").statusCode() == 200, WAIT, "the first fetch");
                Await.isTrue(
                        () -> metric(svc, "aggregator_store_pending") == 0
                                && metric(svc, "aggregator_store_commits_total") >= 1,
                        WAIT,
                        "version 1 is on disk");
                try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/s/events"))) {
                    assertNotNull(sse.next(WAIT).retry());
                    assertEquals(1, n(sse.nextEvent(WAIT)));

                    CountDownLatch gate = new CountDownLatch(1);
                    disk.gate = gate;
                    double commits = metric(svc, "aggregator_store_commits_total");
                    up.json("{\"n\":2}");
                    int hits = up.hits();
                    svc.step(clock, INTERVAL);
                    SseClient.Frame f = sse.nextEvent(WAIT);
                    assertNotNull(f, "version 2 was delivered");
                    assertEquals(2, n(f), f.data());
                    Await.isTrue(() -> disk.held.get() > 0, WAIT, "the store's write of version 2 waits at the gate");

                    // while it waits: the next fetch on schedule, its version delivered and served
                    up.json("{\"n\":3}");
                    svc.step(clock, INTERVAL);
                    assertTrue(up.hits() > hits + 1, "the upstream saw the next fetch");
                    f = sse.nextEvent(WAIT);
                    assertNotNull(f, "version 3 was delivered");
                    assertEquals(3, n(f), f.data());
                    assertEquals(
                            3,
                            Json.MAPPER
                                    .readTree(svc.get("/api/sources/s").body())
                                    .get("data")
                                    .get("n")
                                    .asInt());
                    assertEquals(1, gate.getCount(), "still held");
                    assertEquals(commits, metric(svc, "aggregator_store_commits_total"), "no commit got through");
                    assertTrue(metric(svc, "aggregator_store_pending") >= 1, "the store is behind");

                    // the gate opens: the store catches up with what memory holds
                    disk.gate = null;
                    gate.countDown();
                    Await.isTrue(
                            () -> metric(svc, "aggregator_store_pending") == 0
                                    && metric(svc, "aggregator_store_commits_total") > commits,
                            WAIT,
                            "the store caught up");
                    assertEquals(1, metric(svc, "aggregator_store_up"));
                }
            }
        } finally {
            DiskFile.FILE_STORES.remove(file);
        }
        // what the file holds once the service is gone: the latest version, last in its history
        try (DurableStore reopened = DurableStore.open(data, Duration.ofSeconds(30))) {
            SnapshotStore.Entry s = reopened.restored().get("s");
            assertNotNull(s, "the file holds s");
            assertEquals(3, s.latest().data().get("n").asInt(), s.latest().toString());
            assertEquals(
                    s.latest().version(),
                    s.history().getLast().version(),
                    s.history().toString());
        }
    }
}
