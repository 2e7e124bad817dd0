package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ProcessConfig;
import io.github.aggregator.testing.ServiceProcess;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real restarts of the service in a JVM of its own, on the same data directory: what survives SIGTERM and {@code kill
 * -9}, what a resuming client gets, and what the first request after a restart gets (ten restarts during a burst:
 * {@link TenRestartsTest}).
 */
class RestartTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static Path config(Upstream up, String interval) throws Exception {
        return ProcessConfig.write("aggregator-restart", """
                aggregator:
                  historySize: 500
                  heartbeat: 1s
                  sources:
                    - id: s
                      url: %s/s
                      interval: %s
                """.formatted(up.url(), interval));
    }

    private static String content(int n) {
        return "{\"n\":" + n + "}";
    }

    /** The store's {@code aggregator_store_pending} gauge. */
    static int pending(ServiceProcess svc) throws Exception {
        for (String line : svc.get("/observe/metrics").body().split("\n")) {
            if (line.startsWith("aggregator_store_pending ")) {
                return (int) Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            }
        }
        throw new AssertionError("no aggregator_store_pending in the metrics");
    }

    private static int n(Frame f) throws Exception {
        return Json.MAPPER.readTree(f.data()).get("data").get("n").asInt();
    }

    /**
     * An instance of a parametrised source keeps its snapshot, history and version counter across a restart, under its
     * canonical name; the upstream is down after the restart, so everything served comes from the store.
     */
    @ParameterizedTest
    @ValueSource(strings = {"SIGTERM", "kill -9"})
    void anInstanceKeepsItsSnapshotAndHistoryAcrossARestart(String how) throws Exception {
        try (Upstream up = new Upstream().json(content(0))) {
            Path file = ProcessConfig.write("aggregator-restart", """
                    aggregator:
                      heartbeat: 1s
                      sources:
                        - id: t
                          url: %s/t?city={city}
                          interval: 100ms
                          params:
                            city:
                              values: [NYC, "New York", London]
                    """.formatted(up.url()));
            Path data = file.resolveSibling("data");
            String oldId;
            long version;
            try (ServiceProcess svc = new ServiceProcess(file, data)) {
                svc.start();
                svc.awaitData("t?city=London");
                try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/t/events?city=New%20York"))) {
                    assertNotNull(sse.next(WAIT).retry());
                    Frame f = sse.nextEvent(WAIT);
                    oldId = f.id();
                    for (int n = 1; n <= 3; n++) {
                        up.json(content(n));
                        f = sse.nextEvent(WAIT);
                        assertNotNull(f, "update " + n);
                        assertEquals(n, n(f), f.data());
                    }
                    version = f.version();
                }
                Await.isTrue(() -> pending(svc) == 0, WAIT, "the store has written every change");
                if (how.equals("SIGTERM")) {
                    assertEquals(0, svc.stop(), svc.output());
                } else {
                    svc.kill();
                }
            }
            up.reply(Upstream.Reply.status(503, "text/plain", "down"));
            int before = up.hits();
            try (ServiceProcess svc = new ServiceProcess(file, data)) {
                svc.start().awaitListening();
                // both instances exist again, idle, with their versions
                JsonNode t = Json.MAPPER
                        .readTree(svc.get("/api/sources").body())
                        .get("sources")
                        .get(0);
                List<String> names = new ArrayList<>();
                t.get("live").forEach(i -> names.add(i.get("instance").asText()));
                assertEquals(
                        List.of("t(city=London)", "t(city=New%20York)"),
                        names.stream().sorted().toList());
                JsonNode env = svc.awaitData("t(city=New%20York)");
                assertEquals(3, env.get("data").get("n").asInt(), env.toString());
                assertEquals("New York", env.get("params").get("city").asText(), env.toString());
                if (how.equals("SIGTERM")) {
                    assertEquals(version, env.get("version").asLong(), env.toString());
                    // the history too: a client resuming from before the restart gets exactly the versions it missed
                    try (SseClient sse = SseClient.open(
                            svc.client(), svc.uri("/api/sources/t/events?city=New%20York"), "Last-Event-ID", oldId)) {
                        assertNotNull(sse.next(WAIT).retry());
                        for (int n = 1; n <= 3; n++) {
                            Frame f = sse.nextEvent(WAIT);
                            assertNotNull(f, "replayed update " + n);
                            assertEquals("update", f.event(), f.toString());
                            assertEquals(n, n(f), f.data());
                        }
                    }
                } else {
                    // after a crash the latest content takes a number above any the lost run may have handed out
                    assertTrue(env.get("version").asLong() > version, env.toString());
                }
                // the 100 ms instance's restored data is older than its interval: the read fetched it (without waiting)
                Await.isTrue(() -> up.hits() > before, WAIT, "the restored instance was polled again once read");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SIGTERM", "kill -9"})
    void aResumeAfterARestartDuringABurstGetsExactlyTheMissedVersions(String how) throws Exception {
        try (Upstream up = new Upstream().json(content(0))) {
            Path file = config(up, "100ms");
            Path data = file.resolveSibling("data");
            try (ServiceProcess svc = new ServiceProcess(file, data)) {
                svc.start().awaitData("s");
                // a client follows a few versions, then goes away
                String lastId;
                int lastN;
                try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/s/events"))) {
                    assertNotNull(sse.next(WAIT).retry());
                    Frame f = sse.nextEvent(WAIT);
                    for (int n = 1; n <= 5; n++) {
                        up.json(content(n));
                        f = sse.nextEvent(WAIT);
                        assertNotNull(f, "update " + n);
                    }
                    lastId = f.id();
                    lastN = n(f);
                }
                // a burst of changes, and the process stops in the middle of it
                AtomicBoolean bursting = new AtomicBoolean(true);
                AtomicInteger upstreamN = new AtomicInteger(lastN);
                Thread burst = Thread.ofVirtual().start(() -> {
                    while (bursting.get()) {
                        up.json(content(upstreamN.incrementAndGet()));
                        try {
                            Thread.sleep(40);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                long before = svc.awaitData("s").get("version").asLong();
                Await.isTrue(
                        () -> svc.awaitData("s").get("version").asLong() >= before + 8,
                        WAIT,
                        "eight more versions during the burst");
                if (how.equals("SIGTERM")) {
                    assertEquals(0, svc.stop(), svc.output());
                } else {
                    svc.kill();
                }
                bursting.set(false);
                burst.join();
                int finalN = upstreamN.get();

                svc.start().awaitListening();
                try (SseClient sse =
                        SseClient.open(svc.client(), svc.uri("/api/sources/s/events"), "Last-Event-ID", lastId)) {
                    assertEquals(200, sse.status());
                    assertNotNull(sse.next(WAIT).retry());
                    long expected = Long.parseLong(lastId.split("-")[0]) + 1;
                    int previousN = lastN;
                    List<String> seen = new ArrayList<>();
                    while (true) {
                        Frame f = sse.nextEvent(WAIT);
                        assertNotNull(f, "the stream stopped after " + seen + "; output:\n" + svc.output());
                        seen.add(f.event() + " " + f.id());
                        if (f.event().equals("status")) {
                            continue;
                        }
                        assertEquals("update", f.event(), "missed versions are replayed, never a snapshot: " + seen);
                        if (how.equals("SIGTERM")) {
                            assertEquals(expected, f.version(), "every missed version once, in order: " + seen);
                        } else {
                            // after kill -9 the numbers a crash may have handed out unwritten are skipped, once
                            assertTrue(f.version() >= expected, "versions only go up: " + seen);
                        }
                        assertTrue(n(f) > previousN, "each version is newer data: " + seen);
                        expected = f.version() + 1;
                        previousN = n(f);
                        if (previousN == finalN) {
                            break; // the upstream's last content, fetched by one process or the other
                        }
                    }
                    JsonNode now = svc.awaitData("s");
                    assertEquals(expected - 1, now.get("version").asLong());
                    assertFalse(svc.output().contains("\tat "), svc.output());
                    System.out.println("resume after " + how + ": " + seen.size() + " events " + seen);
                }
            }
        }
    }

    @Test
    void theFirstRequestAfterARestartIsAnsweredFromTheRestoredSnapshotWithoutWaitingForASlowUpstream()
            throws Exception {
        try (Upstream up = new Upstream().json(content(1))) {
            Path file = config(up, "1h");
            try (ServiceProcess svc = new ServiceProcess(file, file.resolveSibling("data"))) {
                JsonNode first = svc.start().awaitData("s");
                assertEquals(0, svc.stop());
                // the upstream now takes 20 s to answer: the restored snapshot is served meanwhile
                AtomicBoolean answered = new AtomicBoolean();
                up.reply(Upstream.Reply.custom(exchange -> {
                    Thread.sleep(20_000);
                    byte[] body = content(2).getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().add("Content-Type", "application/json");
                    exchange.sendResponseHeaders(200, body.length);
                    exchange.getResponseBody().write(body);
                    exchange.close();
                    answered.set(true);
                }));
                svc.start().awaitListening();
                var r = svc.get("/api/sources/s");
                assertEquals(200, r.statusCode(), r.body());
                assertFalse(answered.get(), "the upstream had not answered yet");
                JsonNode env = Json.MAPPER.readTree(r.body());
                assertTrue(env.get("restored").asBoolean(), env.toString());
                assertEquals(first.get("version"), env.get("version"));
                assertEquals(first.get("fetchedAt"), env.get("fetchedAt"), "fetchedAt stays the old time");
                assertEquals(first.get("data"), env.get("data"));
                // a poller with the ETag it had before the restart keeps getting 304
                String etag = r.headers().firstValue("ETag").orElseThrow();
                assertEquals(
                        304, svc.get("/api/sources/s", "If-None-Match", etag).statusCode());
                JsonNode listed = Json.MAPPER
                        .readTree(svc.get("/api/sources").body())
                        .get("sources")
                        .get(0);
                assertTrue(listed.get("restored").asBoolean(), listed.toString());
                assertFalse(Instant.parse(listed.get("fetchedAt").asText())
                        .isAfter(Instant.parse(first.get("fetchedAt").asText())));
            }
        }
    }

    /** Requests the upstream got for {@code path} from the {@code from}-th on. */
    private static long requests(Upstream up, int from, String path) {
        List<Upstream.Request> all = up.requests();
        return all.subList(Math.min(from, all.size()), all.size()).stream()
                .filter(r -> r.uri().getPath().equals(path))
                .count();
    }

    /**
     * A restored hourly source keeps its schedule across the restart: the first 200 is the restored snapshot, served
     * at once, and the upstream is not asked while the hour is not over; an on-demand one read after the restart is
     * served from the store too, without a request. A 1 s source on the same upstream is the clock: while it is fetched
     * three times after the restart, the hourly ones get no request.
     */
    @Test
    void aRestoredHourlySourceIsNotFetchedAgainRightAfterARestart() throws Exception {
        try (Upstream up = new Upstream().json(content(1))) {
            Path file = ProcessConfig.write("aggregator-restart", """
                    aggregator:
                      sources:
                        - id: s
                          url: %1$s/s
                          interval: 1h
                        - id: lazy
                          url: %1$s/lazy
                          interval: 1h
                          poll: on-demand
                        - id: tick
                          url: %1$s/tick
                          interval: 1s
                    """.formatted(up.url()));
            try (ServiceProcess svc = new ServiceProcess(file, file.resolveSibling("data"))) {
                JsonNode first = svc.start().awaitData("s");
                JsonNode lazy = svc.awaitData("lazy");
                Await.isTrue(() -> pending(svc) == 0, WAIT, "the store has written every change");
                assertEquals(0, svc.stop(), svc.output());
                int from = up.requests().size();
                svc.start();
                JsonNode env = svc.awaitData("s"); // the first 200 after the restart
                assertTrue(env.path("restored").asBoolean(), env.toString());
                assertEquals(first.get("version"), env.get("version"));
                assertEquals(first.get("fetchedAt"), env.get("fetchedAt"));
                JsonNode lazyEnv = svc.awaitData("lazy");
                assertTrue(lazyEnv.path("restored").asBoolean(), lazyEnv.toString());
                assertEquals(lazy.get("data"), lazyEnv.get("data"));
                Await.isTrue(
                        () -> requests(up, from, "/tick") >= 3,
                        WAIT,
                        "three fetches of the 1 s source after the restart");
                assertEquals(0, requests(up, from, "/s"), "the restored hourly source was fetched again at start");
                assertEquals(0, requests(up, from, "/lazy"), "the restored on-demand source was fetched when read");
                JsonNode listed = null;
                for (JsonNode n :
                        Json.MAPPER.readTree(svc.get("/api/sources").body()).get("sources")) {
                    if (n.get("id").asText().equals("s")) {
                        listed = n;
                    }
                }
                assertNotNull(listed);
                assertTrue(listed.get("restored").asBoolean(), listed.toString());
                Duration off = Duration.between(
                        Instant.parse(first.get("fetchedAt").asText()).plus(Duration.ofHours(1)),
                        Instant.parse(listed.get("nextFetchAt").asText()));
                assertTrue(
                        off.abs().toMillis() < 1000,
                        "the next fetch is an hour after the restored fetchedAt: " + listed);
                assertTrue(svc.get("/api/sources/s").body().contains("\"restored\":true"), "still the restored one");
            }
        }
    }

    /**
     * The case from the issue: a browser-grade client (the WHATWG EventSource of npm's {@code eventsource} 5.x) holds
     * version 1; the service restarts while the upstream changed; the client reconnects with its last id and must
     * get the new data, never be told it is current with data the service does not hold. Without the store the new
     * process has no data: it fetches at once, and the client gets the new data at once. With the store the restored
     * content is the client's, so its id is truly current, and the new data comes at the source's normal time (one
     * interval after the restored fetchedAt, here 5 s), as an update.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void anEventSourceClientGetsTheNewDataAtOnceAfterARestartWithAChangedUpstream(boolean durable) throws Exception {
        Path client = EventSourceClient.install();
        try (Upstream up = new Upstream().json(content(1))) {
            Path file = config(up, durable ? "5s" : "1h");
            try (ServiceProcess svc = new ServiceProcess(file, durable ? file.resolveSibling("data") : null)) {
                svc.start().awaitData("s");
                Process node = new ProcessBuilder(
                                "node",
                                client.toString(),
                                svc.uri("/api/sources/s/events").toString())
                        .redirectErrorStream(true)
                        .start();
                BlockingQueue<String> lines = new LinkedBlockingQueue<>();
                Thread.ofVirtual().start(() -> {
                    try (BufferedReader r =
                            new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line; (line = r.readLine()) != null; ) {
                            lines.add(line);
                        }
                    } catch (Exception e) {
                        lines.add("reader: " + e);
                    }
                });
                try {
                    JsonNode first = EventSourceClient.nextMessage(lines, WAIT);
                    assertEquals("snapshot", first.get("type").asText(), first.toString());
                    assertEquals(1, first.get("data").get("data").get("n").asInt());
                    assertEquals(0, svc.stop());
                    up.json(content(2)); // without a truthful id the client would wait for the change after this one
                    svc.start();
                    JsonNode next = EventSourceClient.nextMessage(lines, WAIT);
                    assertEquals(2, next.get("data").get("data").get("n").asInt(), next.toString());
                    assertTrue(
                            (durable ? List.of("update") : List.of("snapshot", "update"))
                                    .contains(next.get("type").asText()),
                            next.toString());
                    assertEquals(
                            next.get("data").get("version").asLong()
                                    + "-"
                                    + Json.hash(Json.MAPPER.readTree(content(2)))
                                            .substring(0, 12),
                            next.get("lastEventId").asText());
                    System.out.println("EventSource after the restart (durable " + durable + "): " + next);
                } finally {
                    node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }
}
