package io.github.aggregator.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An upstream whose body changes on every request: request n gets body n ({@link Upstream#body}, whose {@code
 * "change"} field is n). Records, per request, the {@link System#nanoTime} at which it was served and the User-Agent
 * that asked, so the benchmark can tell which instance fetched each change and time its delivery on the same clock.
 * Serves {@code GET /data} on 127.0.0.1 from one thread. Thread-safe.
 */
final class SequenceUpstream implements AutoCloseable {
    /** Request {@code seq}, served at {@code nanos} to {@code userAgent}. */
    record Served(int seq, long nanos, String userAgent) {}

    private final HttpServer server;
    private final ExecutorService executor = Executors.newSingleThreadExecutor();
    private final List<Served> served = new ArrayList<>();
    private int seq; // only the server's one thread writes it

    SequenceUpstream() throws IOException {
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/data", this::serve);
        server.setExecutor(executor);
        server.start();
    }

    /** The URL the service is configured to poll. */
    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/data";
    }

    /** Every request so far, in order. */
    synchronized List<Served> served() {
        return List.copyOf(served);
    }

    private void serve(HttpExchange exchange) throws IOException {
        int n = ++seq;
        byte[] body = Upstream.body(n);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        String agent = exchange.getRequestHeaders().getFirst("User-Agent");
        long now = System.nanoTime();
        synchronized (this) {
            served.add(new Served(n, now, agent == null ? "" : agent));
        }
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
