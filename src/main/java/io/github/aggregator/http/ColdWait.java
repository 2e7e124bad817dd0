package io.github.aggregator.http;

import io.github.aggregator.source.Scheduler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A read's wait for a fetch (a first fetch, or the one an idle on-demand source was woken for), bounded by {@code
 * coldWait} on the injected clock: the wait ends when the fetch completes or when the scheduler's timer for the
 * cold-wait fires, whichever comes first. A test clock therefore decides when a waiting read gives up. Should the
 * scheduler be closed (the service stopping), the wait ends within a second of real time instead of hanging.
 */
final class ColdWait {
    private static final long SHUTDOWN_CHECK_MILLIS = 1000;

    private ColdWait() {}

    /** Waits for {@code fetch} up to {@code coldWait} on {@code time}; returns early when the fetch completes. */
    static void await(CompletableFuture<?> fetch, Duration coldWait, Scheduler time) throws InterruptedException {
        CompletableFuture<Void> done = new CompletableFuture<>();
        fetch.whenComplete((ok, failed) -> done.complete(null));
        Future<?> timer;
        try {
            timer = time.schedule(() -> done.complete(null), coldWait);
        } catch (RejectedExecutionException stopping) {
            return; // answer with what there is
        }
        try {
            while (!done.isDone() && !time.isShutdown()) {
                try {
                    done.get(SHUTDOWN_CHECK_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException stillWaiting) {
                    // not a deadline: only a chance to notice the scheduler closing
                } catch (ExecutionException cannotHappen) {
                    return;
                }
            }
        } finally {
            timer.cancel(false);
        }
    }
}
