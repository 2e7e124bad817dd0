package io.github.aggregator.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.TestClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SubscriberTest {
    private static final Duration NONE = Duration.ZERO;
    private static final Duration LONG = Duration.ofSeconds(10);

    @Test
    void deliversInOrderUpToCapacity() throws Exception {
        Subscriber sub = new Subscriber(List.of("s"), "client", 3);
        List<Signal> offered = List.of(changed("s", 1), changed("s", 2), changed("s", 3));
        offered.forEach(sub::offer);

        assertSame(offered.get(0), sub.poll(NONE));
        assertSame(offered.get(1), sub.poll(NONE));
        assertSame(offered.get(2), sub.poll(NONE));
        assertNull(sub.poll(NONE));
        assertEquals(0, sub.overflows());
    }

    @Test
    void offerBeyondCapacityCollapsesToOneResync() throws Exception {
        Subscriber sub = new Subscriber(List.of("s"), "client", 3);
        for (int v = 1; v <= 4; v++) {
            sub.offer(changed("s", v));
        }

        assertInstanceOf(Signal.Resync.class, sub.poll(NONE));
        assertNull(sub.poll(NONE), "everything pending collapsed into the one resync");
        assertEquals(1, sub.overflows());
    }

    @Test
    void signalsBehindPendingResyncAreAbsorbed() throws Exception {
        Subscriber sub = new Subscriber(List.of("s"), "client", 2);
        for (int v = 1; v <= 3; v++) {
            sub.offer(changed("s", v));
        }
        for (int v = 4; v <= 50; v++) {
            sub.offer(changed("s", v));
            sub.offer(new Signal.StatusChanged(changed("s", v).snapshot()));
        }

        assertInstanceOf(Signal.Resync.class, sub.poll(NONE));
        assertNull(sub.poll(NONE));
        assertEquals(1, sub.overflows(), "a pending resync absorbs later signals without overflowing again");

        // once the resync is taken, the queue works normally again
        Signal next = changed("s", 51);
        sub.offer(next);
        assertSame(next, sub.poll(NONE));
        assertNull(sub.poll(NONE));
    }

    @Test
    void everyOverflowAfterAResyncWasTakenCounts() throws Exception {
        Subscriber sub = new Subscriber(List.of("s"), "client", 1);
        sub.offer(changed("s", 1));
        sub.offer(changed("s", 2));
        assertInstanceOf(Signal.Resync.class, sub.poll(NONE));
        sub.offer(changed("s", 3));
        sub.offer(changed("s", 4));
        assertInstanceOf(Signal.Resync.class, sub.poll(NONE));
        assertNull(sub.poll(NONE));
        assertEquals(2, sub.overflows());
    }

    @Test
    void closeIsDeliveredEvenWhenFull() throws Exception {
        Subscriber sub = new Subscriber(List.of("s"), "client", 2);
        sub.offer(changed("s", 1));
        sub.offer(changed("s", 2));
        Signal.Closed closed = new Signal.Closed("server shutting down", null, null);

        sub.close(closed);

        assertSame(closed, sub.poll(NONE), "closing drops what is pending and puts Closed first");
        assertNull(sub.poll(NONE));
    }

    @Test
    void closeIsDeliveredBehindAPendingResync() throws Exception {
        Subscriber sub = new Subscriber(List.of("s"), "client", 1);
        sub.offer(changed("s", 1));
        sub.offer(changed("s", 2));
        Signal.Closed closed = new Signal.Closed("removed from config", "removed", null);

        sub.close(closed);

        assertSame(closed, sub.poll(NONE));
        assertNull(sub.poll(NONE));
    }

    @Test
    void nothingIsQueuedAfterClose() throws Exception {
        Subscriber sub = new Subscriber(List.of("s"), "client", 2);
        Signal.Closed first = new Signal.Closed("first", null, null);
        sub.close(first);
        sub.close(new Signal.Closed("second", null, null));
        sub.offer(changed("s", 1));
        sub.offer(changed("s", 2));
        sub.offer(changed("s", 3));

        assertSame(first, sub.poll(NONE), "the first close wins");
        assertNull(sub.poll(NONE));
        assertEquals(0, sub.overflows());
    }

    private final TestSubscribers subscribers = new TestSubscribers();

    /** A subscriber that waits with a timed park, or (as the hub's do) untimed, ended by a {@link Wakeups} sweep. */
    private Subscriber waiting(boolean swept) {
        return subscribers.of(swept, 2);
    }

    @AfterEach
    void stopSweeps() {
        subscribers.close();
    }

    /**
     * A timed park (not swept) is the JDK's own timed wait on real time: nothing comes, so it returns null, twice. Whether
     * a wait lasts its timeout, not less, is asserted on a test clock below, not by measuring real time.
     */
    @Test
    @Timeout(60)
    void pollReturnsNullOnTimeout() throws Exception {
        Subscriber sub = waiting(false);
        assertNull(sub.poll(NONE));
        assertNull(sub.poll(Duration.ofMillis(150)), "nothing came: the wait ends at its deadline");
        assertNull(sub.poll(Duration.ofMillis(150)), "and the next wait too");
    }

    /**
     * A swept wait returns null once the injected clock passes its timeout, and not a moment before: a millisecond short
     * of it, the wait goes on and takes the next signal.
     */
    @Test
    @Timeout(60)
    void sweptPollReturnsNullOnceTheClockPassesTheTimeout() throws Exception {
        TestClock clock = new TestClock();
        List<Subscriber> all = new CopyOnWriteArrayList<>();
        Wakeups wakeups = subscribers.keep(new Wakeups(all, clock::nanoTime));
        Subscriber sub = new Subscriber(List.of("s"), "client", 2, wakeups);
        Subscriber probe = new Subscriber(List.of("s"), "client", 2, wakeups);
        all.add(sub);
        all.add(probe);
        Duration timeout = Duration.ofMillis(150);
        assertNull(sub.poll(NONE));

        AtomicReference<Signal> got = new AtomicReference<>(changed("s", 0));
        Thread waiter = waitIn(sub, timeout, got);
        AtomicReference<Signal> gotProbe = new AtomicReference<>(changed("s", 0));
        Thread probing = waitIn(probe, timeout.minusMillis(2), gotProbe);
        clock.advance(timeout.minusMillis(1));
        // the probe's shorter wait ending shows a sweep saw the clock 1 ms short of the timeout
        assertTrue(probing.join(Duration.ofSeconds(10)), "a wait past its deadline on the clock did not end");
        assertNull(gotProbe.get());
        assertTrue(waiter.isAlive(), "the wait ended before its timeout on the clock");
        clock.advance(Duration.ofMillis(1));
        assertTrue(waiter.join(Duration.ofSeconds(10)), "the wait did not end once the clock passed its timeout");
        assertNull(got.get(), "nothing came: the wait ends at its deadline");

        got.set(changed("s", 0));
        Thread next = waitIn(sub, timeout, got);
        clock.advance(timeout);
        assertTrue(next.join(Duration.ofSeconds(10)), "the next wait did not end at its timeout on the clock");
        assertNull(got.get(), "and the next wait too");
    }

    /**
     * The hub's untimed waits end on its injected clock, not on real time: a one-hour wait ends once a test clock is
     * moved past the hour (at the next sweep), and one that saw the clock a millisecond short of its deadline goes on
     * waiting and returns the next signal.
     */
    @Test
    @Timeout(60)
    void sweptWaitsEndOnTheInjectedClock() throws Exception {
        TestClock clock = new TestClock();
        List<Subscriber> all = new CopyOnWriteArrayList<>();
        Wakeups wakeups = subscribers.keep(new Wakeups(all, clock::nanoTime));
        Subscriber sub = new Subscriber(List.of("s"), "client", 2, wakeups);
        Subscriber other = new Subscriber(List.of("s"), "client", 2, wakeups);
        all.add(sub);
        all.add(other);
        Duration hour = Duration.ofHours(1);

        AtomicReference<Signal> got = new AtomicReference<>();
        AtomicReference<Signal> gotOther = new AtomicReference<>(changed("s", 0));
        Thread waiter = waitIn(sub, hour, got);
        Thread shorter = waitIn(other, Duration.ofMinutes(1), gotOther);
        clock.advance(hour.minusMillis(1));
        // the shorter wait ending shows a sweep saw the clock at 59:59.999; the hour's wait was not due then
        assertTrue(shorter.join(Duration.ofSeconds(10)), "a wait past its deadline on the clock did not end");
        assertNull(gotOther.get(), "the shorter wait timed out");
        assertTrue(waiter.isAlive(), "a wait ended before its deadline on the clock");
        Signal signal = changed("s", 1);
        sub.offer(signal);
        assertTrue(waiter.join(Duration.ofSeconds(10)));
        assertSame(signal, got.get(), "the wait went on until the signal came");

        got.set(signal);
        Thread next = waitIn(sub, hour, got);
        clock.advance(hour);
        assertTrue(next.join(Duration.ofSeconds(10)), "a wait past its deadline on the clock did not end");
        assertNull(got.get(), "nothing came: the wait ended at its deadline on the clock");
    }

    /** Starts {@code sub.poll(timeout)} on a thread and returns once it waits; the result goes to {@code got}. */
    private static Thread waitIn(Subscriber sub, Duration timeout, AtomicReference<Signal> got) throws Exception {
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                got.set(sub.poll(timeout));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Await.isTrue(() -> t.getState() == Thread.State.WAITING, Duration.ofSeconds(10), "the poll waits");
        return t;
    }

    @ParameterizedTest(name = "swept: {0}")
    @ValueSource(booleans = {false, true})
    void pollWakesUpWhenASignalArrives(boolean swept) throws Exception {
        Subscriber sub = waiting(swept);
        AtomicReference<Signal> got = new AtomicReference<>();
        CountDownLatch polling = new CountDownLatch(1);
        Thread consumer = Thread.ofVirtual().start(() -> {
            polling.countDown();
            try {
                got.set(sub.poll(LONG));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(polling.await(5, TimeUnit.SECONDS));
        Signal signal = changed("s", 1);

        sub.offer(signal);

        assertTrue(
                consumer.join(Duration.ofSeconds(5)),
                "poll did not return after an offer (it waits " + LONG + " otherwise)");
        assertSame(signal, got.get());
    }

    @ParameterizedTest(name = "swept: {0}")
    @ValueSource(booleans = {false, true})
    void pollWakesUpOnClose(boolean swept) throws Exception {
        Subscriber sub = waiting(swept);
        AtomicReference<Signal> got = new AtomicReference<>();
        Thread consumer = Thread.ofVirtual().start(() -> {
            try {
                got.set(sub.poll(LONG));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Signal.Closed closed = new Signal.Closed("bye", null, null);

        sub.close(closed);

        assertTrue(consumer.join(Duration.ofSeconds(5)), "poll did not return after close");
        assertSame(closed, got.get());
    }

    @Test
    void manyProducersOneConsumer() throws Exception {
        int producers = 8;
        int perProducer = 20_000;
        Subscriber sub = new Subscriber(List.of("s"), "client", 4);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        CountDownLatch go = new CountDownLatch(1);

        List<Signal> received = new ArrayList<>();
        Thread consumer = Thread.ofPlatform().start(() -> {
            try {
                while (true) {
                    Signal s = sub.poll(LONG);
                    if (s == null) {
                        errors.add(new AssertionError("consumer starved before Closed"));
                        return;
                    }
                    received.add(s);
                    if (s instanceof Signal.Closed) {
                        return;
                    }
                }
            } catch (Throwable t) {
                errors.add(t);
            }
        });
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            String producer = "p" + p;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int v = 1; v <= perProducer; v++) {
                        sub.offer(changed(producer, v));
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
        }
        go.countDown();
        for (Thread t : threads) {
            assertTrue(t.join(Duration.ofSeconds(30)), "producer did not finish");
        }
        Signal.Closed closed = new Signal.Closed("done", null, null);
        sub.close(closed);
        assertTrue(consumer.join(Duration.ofSeconds(30)), "consumer did not end");

        if (!errors.isEmpty()) {
            fail("errors in producer/consumer threads: " + errors, errors.get(0));
        }
        assertSame(closed, received.getLast(), "consumer ends with Closed");
        assertNull(sub.poll(NONE), "nothing follows Closed");
        // each producer's signals stay in the order it offered them (some collapsed, none reordered or repeated)
        Map<String, Long> lastSeen = new ConcurrentHashMap<>();
        for (Signal s : received) {
            if (s instanceof Signal.Changed c) {
                long previous = lastSeen.getOrDefault(c.snapshot().id(), 0L);
                assertTrue(
                        c.snapshot().version() > previous,
                        c.snapshot().id() + " went from " + previous + " to "
                                + c.snapshot().version());
                lastSeen.put(c.snapshot().id(), c.snapshot().version());
            }
        }
    }

    private static Signal.Changed changed(String id, long version) {
        Instant at = Instant.parse("2026-01-01T00:00:00Z");
        return new Signal.Changed(
                new Snapshot(id, version, at, at, false, null, JsonNodeFactory.instance.numberNode(version), "h"));
    }
}
