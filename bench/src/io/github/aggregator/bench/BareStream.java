package io.github.aggregator.bench;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.http.HttpMediaType;
import io.helidon.http.sse.SseEvent;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.sse.SseSink;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The floor of a Helidon SSE fan-out: a Helidon web server doing only what every stream must, with the service's
 * threading (one handler on its virtual thread per stream, parked until a change, then one write and a flush). It polls
 * the upstream every 200 ms like the service; on a change it wakes every handler, which writes the frame, encoded once
 * for all, and flushes. No queue, no heartbeat, no watchdog, no bookkeeping. {@code GET /events} streams; {@code GET
 * /stats} answers {@code {"subscribers":N}}. Listens on 127.0.0.1, the port printed as {@code port N}.
 *
 * <p>It is also the floor of the JSON endpoint: {@code GET /api/sources/{id}} answers the bytes of the file {@code
 * <id>.json} (its {@code <id>.json.gz} with {@code Content-Encoding: gzip} when the request accepts gzip) in the
 * folder of the system property {@code bench.static}, read once, with a fixed ETag and a {@code 304} for a request
 * that names it: what any Helidon route answering from memory pays, and nothing of the service's own work.
 *
 * <p>Mode {@code raw} writes the bytes to the response's output stream, as the service does; mode {@code sink} goes
 * through Helidon's {@link SseSink} (which serializes each event's data again for every stream, field by field).
 *
 * <p>Usage: {@code java -cp ... io.github.aggregator.bench.BareStream MODE UPSTREAM_URL [KEY=VALUE ...]}
 */
public final class BareStream {
    private static final Set<Waiter> WAITERS = ConcurrentHashMap.newKeySet();
    private static volatile long version;
    private static volatile String body;
    private static volatile byte[] frame;

    private BareStream() {}

    /** One stream's wake-up, as the service's subscriber queue has one. */
    private static final class Waiter {
        final ReentrantLock lock = new ReentrantLock();
        final Condition changed = lock.newCondition();

        void signal() {
            lock.lock();
            try {
                changed.signal();
            } finally {
                lock.unlock();
            }
        }

        long await(long seen) throws InterruptedException {
            lock.lock();
            try {
                while (version == seen) {
                    changed.await();
                }
                return version;
            } finally {
                lock.unlock();
            }
        }
    }

    public static void main(String[] args) throws Exception {
        boolean sink = args[0].equals("sink");
        URI upstream = URI.create(args[1]);
        Map<String, String> settings = new HashMap<>(Map.of("server.host", "127.0.0.1", "server.port", "0"));
        for (int i = 2; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            settings.put("server." + kv[0], kv[1]);
        }
        WebServer server = WebServer.builder()
                .config(Config.just(ConfigSources.create(settings)).get("server"))
                .routing(r -> r.get("/events", (req, res) -> stream(req, res, sink))
                        .get("/stats", (req, res) -> res.send("{\"subscribers\":" + WAITERS.size() + "}"))
                        .get("/api/sources/{id}", BareStream::json))
                .build()
                .start();
        Thread.ofVirtual().start(() -> poll(upstream));
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "shutdown"));
        System.out.println("port " + server.port());
        System.out.flush();
    }

    private static void poll(URI upstream) {
        HttpClient http = HttpClient.newHttpClient();
        while (true) {
            try {
                String text = http.send(HttpRequest.newBuilder(upstream).build(), HttpResponse.BodyHandlers.ofString())
                        .body();
                if (!text.equals(body)) {
                    body = text;
                    frame = ("id: " + (version + 1) + "\ndata: " + text + "\n\n").getBytes(StandardCharsets.UTF_8);
                    version++;
                    WAITERS.forEach(Waiter::signal);
                }
                Thread.sleep(200);
            } catch (Exception e) {
                // try again on the next tick
            }
        }
    }

    private static void stream(ServerRequest req, ServerResponse res, boolean sink) throws Exception {
        Waiter w = new Waiter();
        WAITERS.add(w);
        try {
            long seen = version;
            if (sink) {
                try (SseSink events = res.sink(SseSink.TYPE)) {
                    events.emit(event(seen));
                    while (true) {
                        seen = w.await(seen);
                        events.emit(event(seen));
                    }
                }
            }
            res.headers().contentType(HttpMediaType.create("text/event-stream"));
            res.header(HeaderNames.CACHE_CONTROL, "no-cache");
            try (OutputStream out = res.outputStream()) {
                out.write(frame);
                out.flush();
                while (true) {
                    seen = w.await(seen);
                    out.write(frame);
                    out.flush();
                }
            }
        } catch (Exception e) {
            // the client left
        } finally {
            WAITERS.remove(w);
        }
    }

    private static final Map<String, byte[]> FILES = new ConcurrentHashMap<>();
    private static final Header ETAG = HeaderValues.createCached(HeaderNames.ETAG, "\"bare-1\"");
    private static final Header GZIP = HeaderValues.createCached(HeaderNames.CONTENT_ENCODING, "gzip");

    private static void json(ServerRequest req, ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        res.header(ETAG);
        if (req.headers().first(HeaderNames.IF_NONE_MATCH).map(ETAG.get()::equals).orElse(false)) {
            res.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        boolean gzip = req.headers().first(HeaderNames.ACCEPT_ENCODING).orElse("").contains("gzip");
        byte[] gz = gzip ? file(id + ".json.gz") : null;
        res.headers().set(HeaderValues.CONTENT_TYPE_JSON);
        if (gz != null) {
            res.header(GZIP);
            res.send(gz);
        } else {
            byte[] body = file(id + ".json");
            if (body == null) {
                res.status(Status.NOT_FOUND_404).send();
            } else {
                res.send(body);
            }
        }
    }

    private static byte[] file(String name) {
        return FILES.computeIfAbsent(name, n -> {
            try {
                Path p = Path.of(System.getProperty("bench.static", "."), n);
                return Files.exists(p) ? Files.readAllBytes(p) : null;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    private static SseEvent event(long v) {
        return SseEvent.builder().id(Long.toString(v)).data(body).build();
    }
}
