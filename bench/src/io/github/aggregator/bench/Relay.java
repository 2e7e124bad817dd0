package io.github.aggregator.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;

/**
 * The poller in front of Nchan, which has none of its own: every 200 ms it fetches the upstream and POSTs a body that
 * changed to Nchan's publisher location, as an application publishing to a push hub would. Runs on its own thread in
 * the benchmark JVM, so its CPU is not counted as nginx's.
 */
final class Relay implements AutoCloseable {
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final URI upstream;
    private final URI publish;
    private final Thread thread;
    private volatile boolean stop;

    Relay(String upstream, String publish) {
        this.upstream = URI.create(upstream);
        this.publish = URI.create(publish);
        this.thread = Thread.ofPlatform().daemon().name("nchan-relay").start(this::run);
    }

    private void run() {
        byte[] last = null;
        long next = System.nanoTime();
        while (!stop) {
            try {
                byte[] body = http.send(HttpRequest.newBuilder(upstream).build(), HttpResponse.BodyHandlers.ofByteArray())
                        .body();
                if (!Arrays.equals(body, last)) {
                    int status = http.send(
                                    HttpRequest.newBuilder(publish)
                                            .header("Content-Type", "application/json")
                                            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding())
                            .statusCode();
                    if (status / 100 == 2) {
                        last = body;
                    }
                }
            } catch (Exception e) {
                // nginx not up yet, or going down: try on the next tick
            }
            next += 200_000_000L;
            long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    Thread.sleep(Duration.ofNanos(wait));
                } catch (InterruptedException e) {
                    return;
                }
            } else {
                next = System.nanoTime();
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.interrupt();
        thread.join(5000);
    }
}
