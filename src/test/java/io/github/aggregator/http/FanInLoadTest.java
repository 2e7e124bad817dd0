package io.github.aggregator.http;

import static io.github.aggregator.http.TransformTest.awaitTrue;
import static io.github.aggregator.http.TransformTest.json;
import static io.github.aggregator.http.TransformTest.source;
import static io.github.aggregator.http.TransformTest.yaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.TestClock;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fan-in: a thousand JSON pollers and a thousand SSE subscribers on one source still cost its upstream one request per
 * interval, and every client is served. Pollers use several JDK HttpClients (so connections spread); subscribers are
 * raw sockets, each read by its own virtual thread.
 *
 * <p>Polling runs on a {@link TestClock}: while the pollers hammer the service the clock is moved by whole intervals,
 * and the upstream must have received exactly one request per interval, no more (the clients cause none) and no
 * fewer (the load does not stall the schedule). The count does not depend on how fast the machine is: on a starved
 * machine each step only takes longer to settle.
 */
class FanInLoadTest {
    private static final int POLLERS = 1_000;
    private static final int SUBSCRIBERS = 1_000;
    private static final int CLIENTS = 10;
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final int STEPS = 5;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aThousandPollersAndAThousandSubscribersCostOneUpstreamRequestPerInterval() throws Exception {
        List<RawSubscriber> subscribers = new ArrayList<>();
        ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
        List<HttpClient> clients = new ArrayList<>();
        TestClock clock = new TestClock();
        try (PreciseUpstream up = new PreciseUpstream();
                Service svc = Service.start(
                        yaml(source("hot", up.url() + "/hot", "1s"))
                                .replace("aggregator:\n", "aggregator:\n  maxSubscribersPerClient: 2000\n"),
                        Map.of(),
                        clock)) {
            svc.step(clock, INTERVAL.dividedBy(10)); // the first fetch, after the start jitter
            json(svc.get("/api/sources/hot"));
            assertEquals(1, up.times().size());

            // subscribers connect a hundred at a time, so the listen backlog never overflows
            Semaphore connecting = new Semaphore(100);
            for (int i = 0; i < SUBSCRIBERS; i++) {
                RawSubscriber s = new RawSubscriber(svc.port());
                subscribers.add(s);
                readers.submit(() -> s.run(connecting));
            }
            awaitTrue(
                    () -> subscribers.stream().allMatch(s -> s.maxVersion > 0 || s.problem != null),
                    "every subscriber got its first event");
            for (RawSubscriber s : subscribers) {
                assertEquals(null, s.problem, "a subscriber failed");
                assertEquals("snapshot", s.firstEvent, "the first event is the snapshot");
            }
            assertEquals(
                    SUBSCRIBERS,
                    OnDemandTest.listed(svc, "hot").get("subscribers").asInt());

            // the pollers hammer the JSON endpoint until the clock has moved STEPS intervals; half of them
            // conditionally
            for (int i = 0; i < CLIENTS; i++) {
                clients.add(HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(20))
                        .build());
            }
            URI uri = svc.uri("/api/sources/hot");
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger polls = new AtomicInteger();
            AtomicBoolean done = new AtomicBoolean();
            int stepped = 0;
            try (ExecutorService pollers = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < POLLERS; i++) {
                    HttpClient client = clients.get(i % CLIENTS);
                    boolean conditional = i % 2 == 0;
                    pollers.submit(() -> poll(client, uri, conditional, done, statuses, polls, failure));
                }
                try {
                    awaitTrue(() -> polls.get() >= POLLERS || failure.get() != null, "the pollers were answered");
                    for (; stepped < STEPS && failure.get() == null; stepped++) {
                        svc.step(clock, INTERVAL); // one scheduled fetch, handled while the pollers go on
                    }
                } finally {
                    done.set(true);
                }
            }
            if (failure.get() != null) {
                fail("a poll failed after " + polls.get() + " polls", failure.get());
            }
            assertTrue(polls.get() >= POLLERS, "every poller was answered at least once: " + polls.get());
            assertTrue(statuses.keySet().stream().allMatch(s -> s == 200 || s == 304), "statuses " + statuses);
            assertTrue(statuses.containsKey(304), "conditional polls got 304s: " + statuses);
            System.out.printf(
                    Locale.ROOT,
                    "fan-in: %d polls %s over %d intervals of the clock; %d upstream requests%n",
                    polls.get(),
                    statuses,
                    stepped,
                    up.times().size());
            assertEquals(1 + STEPS, up.times().size(), "upstream requests: the first and one per interval");

            // every subscriber gets the latest version
            long latest = json(svc.get("/api/sources/hot")).get("version").asLong();
            assertEquals(1 + STEPS, latest, "every fetch was a new version");
            awaitTrue(
                    () -> subscribers.stream().allMatch(s -> s.maxVersion >= latest || s.problem != null),
                    "every subscriber saw version " + latest);
            for (RawSubscriber s : subscribers) {
                assertEquals(null, s.problem, "a subscriber failed");
            }
        } finally {
            subscribers.forEach(RawSubscriber::close);
            clients.forEach(HttpClient::close);
            readers.shutdownNow();
            assertTrue(readers.awaitTermination(10, TimeUnit.SECONDS), "subscriber threads ended");
        }
    }

    private static void poll(
            HttpClient client,
            URI uri,
            boolean conditional,
            AtomicBoolean done,
            Map<Integer, AtomicInteger> statuses,
            AtomicInteger polls,
            AtomicReference<Throwable> failure) {
        String etag = null;
        while (!done.get() && failure.get() == null) {
            HttpRequest.Builder b =
                    HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET();
            if (conditional && etag != null) {
                b.header("If-None-Match", etag);
            }
            try {
                HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger())
                        .incrementAndGet();
                polls.incrementAndGet();
                etag = r.headers().firstValue("ETag").orElse(etag);
            } catch (IOException | RuntimeException e) {
                failure.compareAndSet(null, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One SSE subscriber on a raw socket: HTTP/1.1 by hand, chunked decoding, the event names and ids it saw. */
    private static final class RawSubscriber implements AutoCloseable {
        private final int port;
        private final Socket socket = new Socket();
        volatile String firstEvent;
        volatile long maxVersion;
        volatile String problem;

        RawSubscriber(int port) {
            this.port = port;
        }

        void run(Semaphore connecting) {
            try {
                InputStream body;
                connecting.acquire();
                try {
                    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 20_000);
                    socket.setSoTimeout(30_000);
                    OutputStream out = socket.getOutputStream();
                    out.write(("GET /api/sources/hot/events HTTP/1.1\r\nHost: 127.0.0.1:" + port
                                    + "\r\nAccept: text/event-stream\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    InputStream in = new BufferedInputStream(socket.getInputStream());
                    String status = line(in);
                    if (status == null || !status.startsWith("HTTP/1.1 200")) {
                        problem = "status line " + status;
                        return;
                    }
                    boolean chunked = false;
                    for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
                        String lower = h.toLowerCase(Locale.ROOT);
                        chunked |= lower.startsWith("transfer-encoding:") && lower.contains("chunked");
                    }
                    body = chunked ? new Chunked(in) : in;
                } finally {
                    connecting.release();
                }
                String event = null;
                String id = null;
                for (String l = line(body); l != null; l = line(body)) {
                    if (l.isEmpty()) {
                        if (event != null) {
                            onEvent(event, id);
                        }
                        event = null;
                        id = null;
                    } else if (l.startsWith("event:")) {
                        event = l.substring(6).trim();
                    } else if (l.startsWith("id:")) {
                        id = l.substring(3).trim();
                    }
                }
            } catch (IOException e) {
                // closed by close(), or by the server at shutdown
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                problem = e.toString();
            }
        }

        private void onEvent(String event, String id) {
            if (firstEvent == null) {
                firstEvent = event;
            }
            if (id == null || event.equals("status")) {
                return;
            }
            long v = Long.parseLong(id.split("-", 2)[0]); // an event id is version-hash
            if (v <= maxVersion) {
                problem = "version " + v + " after " + maxVersion;
            }
            maxVersion = v;
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    /**
     * An upstream on loopback that notes the arrival time of each request as soon as its request line is read, on a
     * platform thread per connection, and answers {@code {"n": <request number>}}: new content every time, so every
     * fetch is a new version the subscribers must see.
     */
    private static final class PreciseUpstream implements AutoCloseable {
        private final ServerSocket server;
        private final List<Long> times = new CopyOnWriteArrayList<>();
        private final Thread acceptor;

        PreciseUpstream() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofPlatform().daemon().start(this::accept);
        }

        private void accept() {
            try {
                while (true) {
                    Socket s = server.accept();
                    Thread.ofPlatform().daemon().start(() -> serve(s));
                }
            } catch (IOException e) {
                // closed
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = new BufferedInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                for (String request = line(in); request != null; request = line(in)) {
                    times.add(System.nanoTime());
                    for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
                        // headers: no body on a GET
                    }
                    byte[] body = ("{\"n\":" + times.size() + "}").getBytes(StandardCharsets.UTF_8);
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                                    + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    out.write(body);
                    out.flush();
                }
            } catch (IOException e) {
                // connection closed
            }
        }

        String url() {
            return "http://127.0.0.1:" + server.getLocalPort();
        }

        List<Long> times() {
            return List.copyOf(times);
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** One line without its CR LF; null at the end of the stream. */
    static String line(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(64);
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            buf.write(b);
        }
        if (b < 0 && buf.size() == 0) {
            return null;
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** The body of a {@code Transfer-Encoding: chunked} response. */
    private static final class Chunked extends InputStream {
        private final InputStream in;
        private int left;
        private boolean done;

        Chunked(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            if (done) {
                return -1;
            }
            if (left == 0) {
                String size = line(in);
                if (size == null) {
                    done = true;
                    return -1;
                }
                int semi = size.indexOf(';');
                left = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (left == 0) {
                    done = true;
                    return -1;
                }
            }
            int b = in.read();
            if (b < 0) {
                done = true;
                return -1;
            }
            if (--left == 0) {
                line(in); // the CR LF that ends the chunk
            }
            return b;
        }
    }
}
