package io.github.aggregator.testing;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP upstream on loopback (JDK {@link HttpServer}), scripted per test: set the reply, then assert on what it
 * received. Thread-safe.
 */
public final class Upstream implements AutoCloseable {

    /** What the upstream answers; {@code handler} (when set) takes over the exchange completely. */
    public record Reply(int status, Map<String, String> headers, byte[] body, Handler handler) {
        public static Reply json(String body) {
            return new Reply(200, Map.of("Content-Type", "application/json"), bytes(body), null);
        }

        public static Reply status(int status, String contentType, String body) {
            return new Reply(status, Map.of("Content-Type", contentType), bytes(body), null);
        }

        public static Reply custom(Handler handler) {
            return new Reply(0, Map.of(), new byte[0], handler);
        }

        private static byte[] bytes(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** Full control over one exchange (for hangs, trickles, resets). */
    @FunctionalInterface
    public interface Handler {
        void handle(HttpExchange exchange) throws IOException, InterruptedException;
    }

    /** One request as the upstream saw it. */
    public record Request(String method, URI uri, Headers headers, long nanoTime) {}

    private final HttpServer server;
    private volatile Reply reply = Reply.json("{}");
    private final AtomicInteger hits = new AtomicInteger();
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    public Upstream() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    private void handle(HttpExchange exchange) throws IOException {
        hits.incrementAndGet();
        requests.add(new Request(
                exchange.getRequestMethod(),
                exchange.getRequestURI(),
                exchange.getRequestHeaders(),
                System.nanoTime()));
        Reply r = reply;
        try {
            if (r.handler() != null) {
                r.handler().handle(exchange);
                return;
            }
            r.headers().forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
            exchange.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(r.body());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            exchange.close();
        }
    }

    /** Answers every following request with {@code reply}. */
    public Upstream reply(Reply reply) {
        this.reply = reply;
        return this;
    }

    /** Answers every following request with 200 and {@code json}. */
    public Upstream json(String json) {
        return reply(Reply.json(json));
    }

    /** The base URL, e.g. {@code http://127.0.0.1:41234}. */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Requests received so far. */
    public int hits() {
        return hits.get();
    }

    /** Every request received so far, in arrival order. */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
