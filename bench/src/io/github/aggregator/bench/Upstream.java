package io.github.aggregator.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The upstream the service polls: a JDK {@code HttpServer} on 127.0.0.1 serving {@code GET /data}, a JSON body of
 * about 400 bytes that the benchmark switches to force a change (change 0, 1, 2, ...; each body differs). Records the
 * {@link System#nanoTime} at which each body was first served, so that latencies measured by the subscribers of the
 * same JVM share its clock. Thread-safe.
 */
final class Upstream implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();
    private final ConcurrentHashMap<Integer, Long> firstServed = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> firstServedTo = new ConcurrentHashMap<>();
    private volatile int change;

    /** Starts serving change 0 on a free port. */
    Upstream() throws IOException {
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/data", this::serve);
        server.createContext("/large", this::large);
        server.setExecutor(executor);
        server.start();
    }

    /** The URL the service is configured to poll. */
    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/data";
    }

    /** A URL serving a larger body that never changes (about 2.4 KB: enough for the service to gzip it). */
    String largeUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/large";
    }

    /** The change the upstream serves now. */
    int current() {
        return change;
    }

    /** Switches to the next body: from now on every request gets change {@code n + 1}, which this returns. */
    int next() {
        return ++change; // only the benchmark's main thread switches
    }

    /** When the body of change {@code n} was first served ({@code System.nanoTime}), or 0 when not yet. */
    long servedAt(int n) {
        return firstServed.getOrDefault(n, 0L);
    }

    /**
     * When the body of change {@code n} was first served to the poller that asks for {@code /data?who=WHO}, or 0 when
     * not yet: several servers poll the same upstream, each its own time.
     */
    long servedAt(String who, int n) {
        return firstServedTo.getOrDefault(who + "/" + n, 0L);
    }

    private void serve(HttpExchange exchange) throws IOException {
        int n = change;
        byte[] body = body(n);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        long now = System.nanoTime();
        firstServed.putIfAbsent(n, now);
        String query = exchange.getRequestURI().getRawQuery();
        if (query != null && query.startsWith("who=")) {
            firstServedTo.putIfAbsent(query.substring(4) + "/" + n, now);
        }
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private void large(HttpExchange exchange) throws IOException {
        byte[] body = body(0, 36);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    static byte[] body(int change) {
        return body(change, 6);
    }

    /** A weather-station-like reading; only {@code change} and the derived values differ between changes. */
    static byte[] body(int change, int hours) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"station\":\"bench-01\",\"change\":").append(change).append(",\"readings\":[");
        for (int i = 0; i < hours; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append("{\"hour\":")
                    .append(i)
                    .append(",\"tempC\":")
                    .append(10 + (change + i) % 17)
                    .append(",\"windKph\":")
                    .append(5 + (change * 3 + i) % 23)
                    .append(",\"sky\":\"partly cloudy\"}");
        }
        sb.append("]}");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
