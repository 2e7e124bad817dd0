package io.github.aggregator.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.observe.Metrics;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.testing.Await;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Changes written to clients by the hub's fan-out workers ({@link Fanout}) while each client's handler waits: they
 * arrive in order without the handler, a client whose write blocks delays nobody else and gets the rest through its
 * own queue (collapsed into one snapshot when it overflows), and a failed write ends that stream. Real hub, store and
 * streams; a sink stands for each client's socket. Waits have deadlines; nothing here is timed.
 */
class DirectDeliveryTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int QUEUE = 4;
    private final SnapshotStore store = new SnapshotStore(50);
    private final Metrics metrics = new Metrics();
    private final Hub hub = new Hub(QUEUE, 100, 100, metrics);
    private final List<Thread> handlers = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        hub.close("test over");
        for (Thread t : handlers) {
            t.join(WAIT.toMillis());
        }
    }

    /**
     * One client: what reached it in order, whoever wrote it, and how much of that the workers wrote. Which events go
     * which way depends on timing (a write slower than {@link Fanout#STUCK_NANOS} hands the client to its handler
     * until it caught up), so the checks hold for either.
     */
    private final class Client {
        final EventStream stream = new EventStream(hub, store, null, List.of("a"), false, "c", Duration.ofHours(1));
        final List<String> received = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger direct = new AtomicInteger();

        Client(EventStream.Sink sink) {
            stream.start(null);
            stream.direct(events -> {
                sink.write(events);
                events.forEach(e -> received.add(describe(e)));
                direct.addAndGet(events.size());
            });
            Thread t = Thread.ofVirtual().start(() -> {
                try (stream) {
                    while (!stream.ended()) {
                        stream.next().forEach(e -> received.add(describe(e)));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            handlers.add(t);
        }

        Client() {
            this(events -> {});
        }
    }

    private static void await(Await.Check state) throws Exception {
        Await.isTrue(state, WAIT, "the state the deliveries lead to");
    }

    private static String describe(SseEvent e) {
        return e.name() == null ? ":" + e.comment() : e.name() + "@" + e.id().split("-", 2)[0];
    }

    private void change(int v) throws Exception {
        Snapshot s = store.record("a", new FetchResult.Success(Json.MAPPER.readTree("{\"v\":" + v + "}")), T0);
        hub.deliver(s);
    }

    private static List<String> updates(int from, int to) {
        List<String> l = new ArrayList<>();
        for (int v = from; v <= to; v++) {
            l.add("update@" + v);
        }
        return l;
    }

    @Test
    void changesReachEveryClientInOrderMostlyWrittenByTheWorkers() throws Exception {
        change(1);
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            clients.add(new Client());
        }
        await(() -> clients.stream().allMatch(c -> c.stream.waiting())); // the handlers wait
        for (int v = 2; v <= 6; v++) {
            change(v);
            int version = v;
            await(() -> clients.stream().allMatch(c -> c.received.contains("update@" + version)));
        }
        for (Client c : clients) {
            assertEquals(updates(2, 6), c.received, "every change once, in order");
        }
        int direct = clients.stream().mapToInt(c -> c.direct.get()).sum();
        assertTrue(direct > 0, "the workers wrote changes themselves: " + direct + " of 100");
    }

    @Test
    void aBlockedClientDelaysNobodyAndCatchesUpThroughItsQueue() throws Exception {
        change(1);
        CountDownLatch unblock = new CountDownLatch(1);
        AtomicInteger blockedWrites = new AtomicInteger();
        Client blocked = new Client(events -> {
            blockedWrites.incrementAndGet();
            try {
                unblock.await(); // a client that stopped reading: its write does not return
            } catch (InterruptedException e) {
                throw new IOException("cut off", e);
            }
        });
        List<Client> others = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            others.add(new Client());
        }
        await(() -> others.stream().allMatch(c -> c.stream.waiting()) && blocked.stream.waiting());
        change(2);
        await(() -> blockedWrites.get() == 1); // a worker is stuck in the blocked client's write of version 2
        int last = 3 + QUEUE + 1; // enough changes to overflow the blocked client's queue
        for (int v = 2; v <= last; v++) {
            change(v);
            int version = v;
            await(() -> others.stream().allMatch(c -> c.received.contains("update@" + version)));
        }
        assertEquals(1, blockedWrites.get(), "the blocked client's first write is still under way");
        assertTrue(metrics.read("a").overflows() >= 1, "its later changes queued and overflowed");
        for (Client c : others) {
            assertEquals(updates(2, last), c.received, "the others got every change meanwhile");
        }
        unblock.countDown();
        String latest = "snapshot@" + last;
        await(() -> blocked.received.contains(latest));
        assertEquals(List.of("update@2", latest), blocked.received, "its backlog collapsed into one snapshot");
        await(() -> blocked.stream.waiting());
        change(last + 1);
        String next = "update@" + (last + 1);
        await(() -> blocked.received.contains(next));
        assertEquals(List.of("update@2", latest, next), blocked.received, "and it follows again once caught up");
    }

    @Test
    void aFailedWriteEndsThatStreamOnly() throws Exception {
        change(1);
        Client failing = new Client(events -> {
            throw new IOException("connection reset");
        });
        Client fine = new Client();
        await(() -> failing.stream.waiting() && fine.stream.waiting());
        change(2);
        await(() -> failing.stream.ended());
        await(() -> hub.subscribers("a") == 1);
        change(3);
        await(() -> fine.received.contains("update@3"));
        assertEquals(List.of("update@2", "update@3"), fine.received);
        assertEquals(List.of(":write failed"), failing.received, "the failed stream ended with its closing comment");
    }
}
