package io.github.aggregator.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.testing.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * How a handler waits in a {@link Subscriber} (it parks its thread; see the class comment): what ends a wait, what must
 * not, and the hand-over between a direct write and the handler, with real threads.
 */
class SubscriberWaitTest {
    private static final Duration LONG = Duration.ofMinutes(10);
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final TestSubscribers subscribers = new TestSubscribers();
    private final CountDownLatch writing = new CountDownLatch(1);
    private final CountDownLatch finish = new CountDownLatch(1);

    @AfterEach
    void stop() {
        finish.countDown();
        subscribers.close();
    }

    private Subscriber subscriber(boolean swept) {
        return subscribers.of(swept, 4);
    }

    /** A direct writer that holds its write until {@link #finish}, after saying so on {@link #writing}. */
    private Subscriber.Direct heldWriter() {
        return (status, change) -> {
            writing.countDown();
            try {
                finish.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    /** Starts a handler waiting in {@code sub}'s poll (what it returns goes to {@code got}); returns once it waits. */
    private static Thread waitingHandler(Subscriber sub, AtomicReference<Signal> got) throws Exception {
        Thread handler = Thread.ofVirtual().start(() -> {
            try {
                got.set(sub.poll(LONG));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Await.isTrue(sub::waiting, WAIT, "the handler waits in poll");
        return handler;
    }

    /** Lets {@code sub} take direct writes and starts one, held until {@link #finish}; returns once it writes. */
    private Thread directWriteUnderWay(Subscriber sub) throws Exception {
        sub.direct(heldWriter());
        Thread worker = Thread.ofVirtual().start(() -> sub.deliver(null, changed(1), System.nanoTime()));
        assertTrue(writing.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the direct write started");
        return worker;
    }

    private static Thread parked(Thread t, String what) throws Exception {
        Await.isTrue(
                () -> t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING, WAIT, what);
        return t;
    }

    @ParameterizedTest(name = "swept: {0}")
    @ValueSource(booleans = {false, true})
    void anInterruptEndsAWaitingPoll(boolean swept) throws Exception {
        Subscriber sub = subscriber(swept);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread handler = Thread.ofVirtual().start(() -> {
            try {
                outcome.set(sub.poll(LONG));
            } catch (InterruptedException e) {
                outcome.set(e);
            }
        });
        parked(handler, "the handler waits in poll");

        handler.interrupt();

        assertTrue(handler.join(WAIT), "an interrupted poll did not end");
        assertInstanceOf(InterruptedException.class, outcome.get());
        Signal later = changed(1);
        sub.offer(later);
        assertSame(later, sub.poll(Duration.ZERO), "the queue still works after an interrupted wait");
    }

    /**
     * An offer during a direct write does not wake the handler (the worker owns the client), and the write's release
     * then does: the queued signal reaches the handler and is not lost between the two.
     */
    @Test
    void aSignalQueuedDuringADirectWriteReachesTheHandlerWhenTheWriteEnds() throws Exception {
        Subscriber sub = subscriber(true);
        AtomicReference<Signal> got = new AtomicReference<>();
        Thread handler = waitingHandler(sub, got);
        Thread worker = directWriteUnderWay(sub);
        Signal queued = changed(2);

        sub.offer(queued);

        parked(handler, "the handler keeps waiting while the direct write is under way");
        assertEquals(null, got.get());
        finish.countDown();
        assertTrue(worker.join(WAIT), "the direct write ended");
        assertTrue(handler.join(WAIT), "the write's release did not wake the handler for the queued signal");
        assertSame(queued, got.get());
    }

    /**
     * stopDirect waits for the direct write under way, and an interrupt meanwhile neither ends that wait nor is lost:
     * nothing may be written to a response after its handler returned.
     */
    @Test
    void stopDirectWaitsOutTheWriteUnderWayAndKeepsAnInterrupt() throws Exception {
        Subscriber sub = subscriber(true);
        Thread first = waitingHandler(sub, new AtomicReference<>());
        Thread worker = directWriteUnderWay(sub);
        first.interrupt(); // the handler leaves its poll, as it does when its stream ends
        assertTrue(first.join(WAIT));
        AtomicBoolean returned = new AtomicBoolean();
        AtomicBoolean interruptedAfter = new AtomicBoolean();
        Thread ending = Thread.ofVirtual().start(() -> {
            sub.stopDirect();
            returned.set(true);
            interruptedAfter.set(Thread.currentThread().isInterrupted());
        });
        parked(ending, "stopDirect waits for the write");

        ending.interrupt();

        parked(ending, "stopDirect still waits after an interrupt");
        assertFalse(returned.get(), "stopDirect returned while a direct write was under way");
        finish.countDown();
        assertTrue(ending.join(WAIT), "stopDirect did not return once the write ended");
        assertTrue(interruptedAfter.get(), "the interrupt was kept for after the wait");
        assertTrue(worker.join(WAIT));
        assertFalse(sub.allowsDirect());
    }

    /**
     * Another thread stopping direct writes while the handler waits in poll and a write is under way: when the write
     * ends, both are woken, the stopper returns, and the handler gets what was queued meanwhile.
     */
    @Test
    void aThreadStoppingDirectWritesAndTheWaitingHandlerBothGoOn() throws Exception {
        Subscriber sub = subscriber(true);
        AtomicReference<Signal> got = new AtomicReference<>();
        Thread handler = waitingHandler(sub, got);
        Thread worker = directWriteUnderWay(sub);
        Thread stopper = Thread.ofVirtual().start(sub::stopDirect);
        parked(stopper, "stopDirect waits for the write");
        Signal queued = changed(2);
        sub.offer(queued);

        finish.countDown();

        assertTrue(stopper.join(WAIT), "stopDirect did not return once the write ended");
        assertTrue(handler.join(WAIT), "the handler was not woken for the signal queued during the write");
        assertSame(queued, got.get());
        assertTrue(worker.join(WAIT));
    }

    private static Signal.Changed changed(long version) {
        Instant at = Instant.parse("2026-01-01T00:00:00Z");
        return new Signal.Changed(
                new Snapshot("s", version, at, at, false, null, JsonNodeFactory.instance.numberNode(version), "h"));
    }
}
