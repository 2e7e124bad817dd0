package io.github.aggregator.testing;

import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Waiting with a deadline instead of sleeping a guess: poll a condition every 20 ms until it holds or time is up. */
public final class Await {
    private Await() {}

    /** A condition that may throw (an HTTP call, a parse). */
    @FunctionalInterface
    public interface Check {
        boolean holds() throws Exception;
    }

    /** Polls {@code get} until {@code done} holds, for up to {@code within}; fails with the last value otherwise. */
    public static <T> T until(Supplier<T> get, Predicate<T> done, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            last = get.get();
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("condition not reached within " + within + "; last value: " + last);
    }

    /** Waits until {@code check} holds, for up to {@code within}; fails naming {@code what} otherwise. */
    public static void isTrue(Check check, Duration within, String what) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + within.toMillis() + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }
}
