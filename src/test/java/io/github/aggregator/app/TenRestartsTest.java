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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Ten real restarts of the service in a JVM of its own, alternating SIGTERM and {@code kill -9}, while the upstream
 * changes all the time (before, during and after each stop). Two clients follow it:
 *
 * <ul>
 *   <li>a browser-grade one, the WHATWG EventSource of npm's {@code eventsource} 5.x, connected throughout and
 *       reconnecting by itself with its {@code Last-Event-ID} after each restart;
 *   <li>one that leaves before each stop and resumes with its last id after the restart: it must get exactly the
 *       versions it missed that were on disk, in order, as updates, before anything newer.
 * </ul>
 *
 * <p>Every event id any client saw (and every ETag) is collected: a version number never names two contents, and
 * neither client ever sees a version that is not above the one it saw before.
 */
class TenRestartsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** An event: its id, version and the upstream counter it carries. */
    private record Seen(String id, long version, int n, String type) {}

    private final Map<Long, String> contentOfVersion = new HashMap<>();
    private final List<String> conflicts = new ArrayList<>();

    private synchronized void saw(String id, String where) {
        long version = Long.parseLong(id.substring(0, id.indexOf('-')));
        String hash = id.substring(id.indexOf('-') + 1);
        String before = contentOfVersion.putIfAbsent(version, hash);
        if (before != null && !before.equals(hash)) {
            conflicts.add("version " + version + " named " + before + " and then " + hash + " (" + where + ")");
        }
    }

    private static Path config(Upstream up) throws Exception {
        return ProcessConfig.write("aggregator-ten-restarts", """
                aggregator:
                  historySize: 500
                  heartbeat: 1s
                  retry: 200ms
                  retrySpread: 0s
                  sources:
                    - id: s
                      url: %s/s
                      interval: 100ms
                """.formatted(up.url()));
    }

    private static Seen seen(Frame f) throws Exception {
        JsonNode env = Json.MAPPER.readTree(f.data());
        return new Seen(f.id(), f.version(), env.get("data").get("n").asInt(), f.event());
    }

    @Test
    void versionsNeverRepeatOrGoBackAndResumesGetExactlyTheMissedVersionsOverTenRestarts() throws Exception {
        Path script = EventSourceClient.install();
        AtomicInteger upstreamN = new AtomicInteger();
        try (Upstream up = new Upstream().json("{\"n\":0}")) {
            AtomicBoolean bursting = new AtomicBoolean(true);
            Thread burst = Thread.ofVirtual().start(() -> {
                while (bursting.get()) {
                    up.json("{\"n\":" + upstreamN.incrementAndGet() + "}");
                    try {
                        Thread.sleep(30);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            Path file = config(up);
            List<Seen> browser = new CopyOnWriteArrayList<>();
            List<String> browserErrors = new CopyOnWriteArrayList<>();
            Process node = null;
            try (ServiceProcess svc = new ServiceProcess(file, file.resolveSibling("data"))) {
                String resumerLast = null;
                List<Seen> expected = List.of(); // what the resuming client missed that is on disk
                long maxBefore = 0; // the highest version any client saw before this start
                for (int restart = 0; restart <= 10; restart++) {
                    boolean killed = restart % 2 == 0 && restart > 0; // stops 1, 3, 5, 7, 9: SIGTERM; 2, 4, ..: -9
                    JsonNode env = svc.start().awaitData("s");
                    long version = env.get("version").asLong();
                    assertTrue(
                            killed ? version > maxBefore : version >= maxBefore,
                            "start " + restart + ": version " + version + " after " + maxBefore + " was seen");
                    saw(
                            svc.get("/api/sources/s")
                                    .headers()
                                    .firstValue("ETag")
                                    .orElseThrow()
                                    .replace("\"", ""),
                            "ETag");
                    if (node == null) {
                        node = startBrowser(script, svc, browser, browserErrors);
                    }
                    List<Seen> replay = new ArrayList<>();
                    try (SseClient sse = resumerLast == null
                            ? SseClient.open(svc.client(), svc.uri("/api/sources/s/events"))
                            : SseClient.open(
                                    svc.client(), svc.uri("/api/sources/s/events"), "Last-Event-ID", resumerLast)) {
                        assertEquals(200, sse.status());
                        assertNotNull(sse.next(WAIT).retry());
                        // it follows the source for a few versions, then leaves
                        while (replay.size() < Math.max(6, expected.size() + 2)) {
                            Frame f = sse.nextEvent(WAIT);
                            assertNotNull(f, "start " + restart + ": the stream stopped after " + replay);
                            if (f.event().equals("status")) {
                                continue;
                            }
                            saw(f.id(), "resume after start " + restart);
                            replay.add(seen(f));
                        }
                    }
                    if (resumerLast != null) {
                        checkResume(restart, killed, resumerLast, expected, maxBefore, replay);
                    }
                    resumerLast = replay.getLast().id();
                    long left = replay.getLast().version();
                    // the versions after the one it left at, once on disk, are what it must get back
                    svc.awaitVersion("s", left + 2);
                    List<Seen> history = history(svc, left);
                    Await.isTrue(() -> RestartTest.pending(svc) == 0, WAIT, "the store caught up");
                    expected = history;
                    // more changes while it is away, then the stop in the middle of the burst
                    long now = svc.awaitData("s").get("version").asLong();
                    svc.awaitVersion("s", now + 5);
                    if (restart == 10) {
                        break;
                    }
                    boolean kill = (restart + 1) % 2 == 0;
                    if (kill) {
                        svc.kill();
                    } else {
                        assertEquals(0, svc.stop(), svc.output());
                    }
                    for (Seen s : browser) {
                        maxBefore = Math.max(maxBefore, s.version());
                    }
                    maxBefore = Math.max(maxBefore, replay.getLast().version());
                    for (Seen s : history) {
                        maxBefore = Math.max(maxBefore, s.version());
                    }
                    assertFalse(svc.output().contains("\tat "), svc.output());
                }
                // the browser-grade client saw every restart and never went back
                Await.isTrue(() -> !browser.isEmpty(), WAIT, "the browser client saw events");
                long previous = 0;
                for (Seen s : browser) {
                    saw(s.id(), "EventSource");
                    assertTrue(s.version() > previous, "the EventSource client went from " + previous + " to " + s);
                    previous = s.version();
                }
                assertTrue(
                        browserErrors.stream().filter("reconnect"::equals).count() >= 10,
                        "it reconnected after each stop: " + browserErrors);
            } finally {
                bursting.set(false);
                burst.join();
                if (node != null) {
                    node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            synchronized (this) {
                assertEquals(List.of(), conflicts, "a version number names one content only");
            }
            System.out.println("ten restarts: " + contentOfVersion.size() + " versions seen, the EventSource client "
                    + browser.size() + " events, highest version "
                    + browser.getLast().version());
        }
    }

    /**
     * The resuming client's first events after a restart: first exactly the versions after the one it held that were
     * on disk (same ids; after {@code kill -9} the last of them may come under a new, higher number, with the same
     * content), then only newer ones; never a snapshot, never a version it saw before, never older data.
     */
    private static void checkResume(
            int restart, boolean killed, String held, List<Seen> onDisk, long maxBefore, List<Seen> replay) {
        String what = "start " + restart + (killed ? " after kill -9" : " after SIGTERM") + ", resuming from " + held
                + ": on disk " + onDisk + ", got " + replay;
        long heldVersion = Long.parseLong(held.substring(0, held.indexOf('-')));
        int check = Math.min(onDisk.size(), replay.size());
        for (int i = 0; i < check; i++) {
            Seen want = onDisk.get(i);
            Seen got = replay.get(i);
            assertEquals("update", got.type(), what);
            assertEquals(want.n(), got.n(), "the missed contents in order: " + what);
            boolean renumbered = killed && i == onDisk.size() - 1 && got.version() > maxBefore;
            assertTrue(got.id().equals(want.id()) || renumbered, "the missed versions themselves: " + what);
        }
        long previousVersion = heldVersion;
        int previousN = -1;
        for (Seen s : replay) {
            assertTrue(s.version() > previousVersion, "versions only go up: " + what);
            assertTrue(s.n() > previousN, "data only gets newer: " + what);
            previousVersion = s.version();
            previousN = s.n();
        }
    }

    /** The versions in the service's history after {@code after}, oldest first. */
    private static List<Seen> history(ServiceProcess svc, long after) throws Exception {
        List<Seen> out = new ArrayList<>();
        JsonNode body = Json.MAPPER.readTree(svc.get("/api/sources/s/history").body());
        for (JsonNode v : body.get("versions")) {
            long version = v.get("version").asLong();
            if (version > after) {
                String hash = Json.hash(v.get("data")).substring(0, 12);
                out.add(new Seen(
                        version + "-" + hash, version, v.get("data").get("n").asInt(), "update"));
            }
        }
        return out;
    }

    private static Process startBrowser(Path script, ServiceProcess svc, List<Seen> seen, List<String> errors)
            throws Exception {
        Process node = new ProcessBuilder(
                        "node",
                        script.toString(),
                        svc.uri("/api/sources/s/events").toString())
                .redirectErrorStream(true)
                .start();
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (!line.startsWith("{")) {
                        errors.add(line);
                        continue;
                    }
                    JsonNode n = Json.MAPPER.readTree(line);
                    String type = n.get("type").asText();
                    if (type.equals("snapshot") || type.equals("update")) {
                        String id = n.get("lastEventId").asText();
                        seen.add(new Seen(
                                id,
                                Long.parseLong(id.substring(0, id.indexOf('-'))),
                                n.get("data").get("data").get("n").asInt(),
                                type));
                    } else if (type.equals("error")) {
                        errors.add("reconnect");
                    }
                }
            } catch (Exception e) {
                errors.add("reader: " + e);
            }
        });
        return node;
    }
}
