package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code /observe/metrics} on a real service: the Prometheus text names every family with its type, labels each
 * series by source, and the values follow what happens (fetches by outcome and their latency, changes, subscribers,
 * events handed to them, queue overflows).
 */
class MetricsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Pattern SAMPLE = Pattern.compile("([a-z_]+(?:\\{[^}]*})?) (\\S+)");

    @Test
    void scrapeFollowsFetchesChangesAndSubscribers() throws Exception {
        AtomicReference<String> body = new AtomicReference<>("{\"n\":1}");
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(exchange -> {
                    // answers a conditional request for the current body with 304
                    String current = body.get();
                    String etag = "\"" + Integer.toHexString(current.hashCode()) + "\"";
                    exchange.getResponseHeaders().set("ETag", etag);
                    if (etag.equals(exchange.getRequestHeaders().getFirst("If-None-Match"))) {
                        exchange.sendResponseHeaders(304, -1);
                        return;
                    }
                    byte[] bytes = current.getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "application/json");
                    exchange.sendResponseHeaders(200, bytes.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(bytes);
                    }
                }));
                Upstream down = new Upstream().reply(Upstream.Reply.status(500, "text/plain", "no"));
                Service svc = Service.start("""
                        aggregator:
                          sources:
                            - id: good
                              url: %s/good
                              interval: 200ms
                            - id: bad
                              url: %s/bad
                              interval: 200ms
                            - id: both
                              combine: [good, bad]
                        """.formatted(up.url(), down.url()))) {
            HttpResponse<String> first = svc.get("/observe/metrics");
            assertEquals(200, first.statusCode());
            assertEquals(
                    "text/plain; version=0.0.4; charset=utf-8",
                    first.headers().firstValue("Content-Type").orElse(""));
            Map<String, String> types = types(first.body());
            types.keySet().removeIf(k -> !k.startsWith("aggregator_") || k.equals("aggregator_build_info"));
            assertEquals(
                    Map.ofEntries(
                            Map.entry("aggregator_fetches_total", "counter"),
                            Map.entry("aggregator_fetch_duration_seconds", "histogram"),
                            Map.entry("aggregator_changes_total", "counter"),
                            Map.entry("aggregator_stale", "gauge"),
                            Map.entry("aggregator_subscribers", "gauge"),
                            Map.entry("aggregator_instances", "gauge"),
                            Map.entry("aggregator_events_delivered_total", "counter"),
                            Map.entry("aggregator_queue_overflows_total", "counter"),
                            Map.entry("aggregator_streams", "gauge"),
                            Map.entry("aggregator_store_up", "gauge"),
                            Map.entry("aggregator_store_commits_total", "counter"),
                            Map.entry("aggregator_store_failures_total", "counter"),
                            Map.entry("aggregator_store_pending", "gauge"),
                            Map.entry("aggregator_store_bytes", "gauge"),
                            Map.entry("aggregator_store_ceiling_waits_total", "counter")),
                    types);

            // successes, 304s and failures are counted per source and outcome
            Map<String, Double> m = awaitScrape(
                    svc,
                    s -> s.get(key("aggregator_fetches_total", "good", "outcome", "not_modified")) >= 2
                            && s.get(key("aggregator_fetches_total", "bad", "outcome", "failure")) >= 2);
            assertTrue(m.get(key("aggregator_fetches_total", "good", "outcome", "success")) >= 1);
            assertEquals(0, m.get(key("aggregator_fetches_total", "good", "outcome", "failure")));
            assertEquals(0, m.get(key("aggregator_fetches_total", "bad", "outcome", "success")));
            assertTrue(
                    m.keySet().stream().noneMatch(k -> k.contains("source=\"both\"") && k.contains("fetch")),
                    "a combined source is never fetched");
            assertEquals(1, m.get(key("aggregator_changes_total", "good")));
            assertEquals(0, m.get(key("aggregator_changes_total", "bad")));
            assertEquals(0, m.get(key("aggregator_stale", "good")));
            assertEquals(1, m.get(key("aggregator_stale", "bad")));
            assertEquals(1, m.get(key("aggregator_stale", "both")), "a combination with a failing part is stale");
            histogramIsConsistent(m, "good");
            histogramIsConsistent(m, "bad");
            assertEquals(1, m.get("aggregator_store_up"), "the durable store writes");
            assertEquals(0, m.get("aggregator_store_failures_total"));

            // a subscriber shows in the gauges; a change bumps the changes and is handed to it
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/good/events"))) {
                assertNotNull(sse.next(WAIT).retry());
                assertEquals("snapshot", sse.nextEvent(WAIT).event());
                m = awaitScrape(svc, s -> s.get(key("aggregator_subscribers", "good")) == 1);
                assertEquals(1, m.get("aggregator_streams"));
                assertEquals(0, m.get(key("aggregator_subscribers", "bad")));
                double delivered = m.get(key("aggregator_events_delivered_total", "good"));

                body.set("{\"n\":2}");
                SseClient.Frame update = sse.nextEvent(WAIT);
                assertNotNull(update, "update");
                assertEquals("update", update.event());
                // the delivery is counted once the frame is written, which may be just after the client read it
                m = awaitScrape(
                        svc,
                        s -> s.get(key("aggregator_changes_total", "good")) == 2
                                && s.get(key("aggregator_events_delivered_total", "good")) >= delivered + 1
                                && s.get(key("aggregator_changes_total", "both")) >= 2);
                assertTrue(m.get(key("aggregator_events_delivered_total", "good")) >= delivered + 1, m.toString());
                // the combination is rebuilt after the part's change is counted: waited for above, checked here
                assertTrue(m.get(key("aggregator_changes_total", "both")) >= 2, "the combination changed too: " + m);
            }
            // the subscriber's departure is noticed at a later write: keep the source changing until it is
            AtomicInteger next = new AtomicInteger(3);
            Map<String, Double> after = Await.until(
                    () -> {
                        body.set("{\"n\":" + next.getAndIncrement() + "}");
                        return scrape(svc);
                    },
                    s -> s.get("aggregator_streams") == 0,
                    WAIT);
            assertEquals(0, after.get(key("aggregator_subscribers", "good")));
            assertEquals(0, after.get(key("aggregator_queue_overflows_total", "good")));
        }
    }

    @Test
    void stalledSubscriberOverflowIsCounted() throws Exception {
        String pad = "x".repeat(512 * 1024);
        AtomicInteger n = new AtomicInteger();
        try (Upstream up = new Upstream().reply(Upstream.Reply.custom(exchange -> {
                    byte[] bytes = ("{\"n\":" + n.incrementAndGet() + ",\"pad\":\"" + pad + "\"}")
                            .getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().set("Content-Type", "application/json");
                    exchange.sendResponseHeaders(200, bytes.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(bytes);
                    }
                }));
                Service svc = Service.start("""
                        aggregator:
                          subscriberQueue: 2
                          sources:
                            - id: big
                              url: %s/data
                              interval: 200ms
                        """.formatted(up.url()));
                SlowSubscriberTest.RawStream stalled =
                        SlowSubscriberTest.RawStream.open(svc.port(), "/api/sources/big/events", 4 * 1024)) {
            Map<String, Double> m = awaitScrape(svc, s -> s.get(key("aggregator_subscribers", "big")) == 1);
            assertEquals(0, m.get(key("aggregator_queue_overflows_total", "big")), "nothing overflowed yet");
            // the client reads nothing: its socket buffers fill, its handler blocks, its queue of 2 overflows
            m = Await.until(
                    () -> scrape(svc),
                    s -> s.get(key("aggregator_queue_overflows_total", "big")) >= 1,
                    Duration.ofSeconds(20));
            assertTrue(m.get(key("aggregator_changes_total", "big")) > 2, m.toString());
            assertEquals(200, stalled.status());
        }
    }

    @Test
    void processJvmAndBuildMetricsFollowTheProcessAndPassPromtool() throws Exception {
        try (Service svc = Service.start("""
                aggregator:
                  sources:
                    - id: clock
                      url: /demo/clock
                      interval: 1s
                """)) {
            HttpResponse<String> r = svc.get("/observe/metrics");
            assertEquals(200, r.statusCode());
            Map<String, String> types = types(r.body());
            Map<String, String> expected = new LinkedHashMap<>();
            for (String counter : List.of("process_cpu_seconds_total", "jvm_threads_started_total")) {
                expected.put(counter, "counter");
            }
            for (String gauge : List.of(
                    "process_start_time_seconds",
                    "process_uptime_seconds",
                    "process_open_fds",
                    "process_max_fds",
                    "process_resident_memory_bytes",
                    "process_virtual_memory_bytes",
                    "jvm_memory_used_bytes",
                    "jvm_memory_committed_bytes",
                    "jvm_memory_max_bytes",
                    "jvm_memory_pool_used_bytes",
                    "jvm_memory_pool_max_bytes",
                    "jvm_threads_current",
                    "jvm_threads_daemon",
                    "jvm_threads_peak",
                    "jvm_info",
                    "aggregator_build_info")) {
                expected.put(gauge, "gauge");
            }
            expected.put("jvm_gc_collection_seconds", "summary");
            expected.forEach((name, type) -> assertEquals(type, types.get(name), name + " in " + types));
            promtoolAccepts(r.body());

            Map<String, Double> m = scrape(svc);
            long startedAt = ManagementFactory.getRuntimeMXBean().getStartTime(); // the service runs in this JVM
            assertEquals(startedAt / 1e3, m.get("process_start_time_seconds"), 0.01);
            assertTrue(m.get("process_uptime_seconds") > 0, m.toString());
            assertTrue(m.get("process_cpu_seconds_total") > 0, m.toString());
            assertTrue(m.get("process_resident_memory_bytes") > 1 << 20, m.toString());
            assertTrue(m.get("jvm_memory_used_bytes{area=\"heap\"}") > 0, m.toString());
            assertTrue(m.get("jvm_memory_committed_bytes{area=\"heap\"}")
                    >= m.get("jvm_memory_used_bytes{area=\"heap\"}"));
            assertTrue(m.get("jvm_threads_current") >= 1, m.toString());
            assertEquals(1, m.get("aggregator_build_info{version=\"" + pomVersion() + "\"}"));

            // the values are read at each scrape: open sockets and a collection show at once
            double fds = m.get("process_open_fds");
            double collections = gcCount(m);
            List<java.net.http.HttpClient> clients = new java.util.ArrayList<>();
            List<SseClient> streams = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    // a client (so a connection) each: both ends of every connection are in this process
                    clients.add(java.net.http.HttpClient.newHttpClient());
                    streams.add(SseClient.open(clients.get(i), svc.uri("/api/sources/clock/events")));
                }
                System.gc();
                Map<String, Double> later = scrape(svc);
                assertTrue(later.get("process_open_fds") >= fds + 10, fds + " then " + later.get("process_open_fds"));
                assertTrue(later.get("process_open_fds") <= later.get("process_max_fds"));
                assertTrue(gcCount(later) > collections, "System.gc() is counted: " + later);
            } finally {
                for (SseClient sse : streams) {
                    sse.close();
                }
                clients.forEach(java.net.http.HttpClient::shutdownNow);
            }
        }
    }

    @Test
    void labelValuesAreEscaped() {
        String text = new io.github.aggregator.observe.PrometheusText()
                .family("x_total", "counter", "help")
                .sample("x_total", 1, "source", "a\"b\\c\nd")
                .text();
        assertEquals("# HELP x_total help\n# TYPE x_total counter\nx_total{source=\"a\\\"b\\\\c\\nd\"} 1\n", text);
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /** Runs {@code promtool check metrics} on {@code text}: it must exit 0 and report nothing (no lint problem). */
    static void promtoolAccepts(String text) throws Exception {
        Process p = new ProcessBuilder(promtool(), "check", "metrics")
                .redirectErrorStream(true)
                .start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(text.getBytes(StandardCharsets.UTF_8));
        }
        String report = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "promtool did not finish");
        assertEquals(0, p.exitValue(), "promtool check metrics: " + report);
        assertEquals("", report.strip(), "promtool check metrics");
    }

    /** {@code PROMTOOL}, else promtool on the PATH; fails saying how to install it. */
    private static String promtool() {
        String configured = System.getenv("PROMTOOL");
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            java.nio.file.Path p = java.nio.file.Path.of(dir, "promtool");
            if (java.nio.file.Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new AssertionError(
                "promtool not found: install it (Debian: apt-get install prometheus; bin/test does) or set PROMTOOL");
    }

    /** The project's version as the pom declares it. */
    private static String pomVersion() throws java.io.IOException {
        Matcher m = Pattern.compile("<artifactId>aggregator</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(java.nio.file.Files.readString(java.nio.file.Path.of("pom.xml")));
        assertTrue(m.find(), "the project's version in pom.xml");
        return m.group(1);
    }

    private static double gcCount(Map<String, Double> m) {
        return m.entrySet().stream()
                .filter(e -> e.getKey().startsWith("jvm_gc_collection_seconds_count{"))
                .mapToDouble(Map.Entry::getValue)
                .sum();
    }

    private static void histogramIsConsistent(Map<String, Double> m, String source) {
        double previous = 0;
        for (String le :
                List.of("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")) {
            Double v = m.get("aggregator_fetch_duration_seconds_bucket{source=\"" + source + "\",le=\"" + le + "\"}");
            assertNotNull(v, "bucket le=" + le + " of " + source);
            assertTrue(v >= previous, "buckets are cumulative");
            previous = v;
        }
        double count = m.get(key("aggregator_fetch_duration_seconds_count", source));
        assertEquals(previous, count, "+Inf bucket = count");
        assertTrue(count >= 2, "fetches of " + source + " were timed: " + count);
        double sum = m.get(key("aggregator_fetch_duration_seconds_sum", source));
        assertTrue(sum > 0 && sum < count * 10, "sum in seconds: " + sum);
    }

    private static String key(String name, String source, String... more) {
        StringBuilder sb =
                new StringBuilder(name).append("{source=\"").append(source).append('"');
        for (int i = 0; i + 1 < more.length; i += 2) {
            sb.append(',').append(more[i]).append("=\"").append(more[i + 1]).append('"');
        }
        return sb.append('}').toString();
    }

    private static Map<String, Double> awaitScrape(Service svc, java.util.function.Predicate<Map<String, Double>> done)
            throws InterruptedException {
        return Await.until(() -> scrape(svc), done, WAIT);
    }

    /** Every sample as {@code name{labels}} → value; fails on a line that is neither a comment nor a sample. */
    private static Map<String, Double> scrape(Service svc) {
        HttpResponse<String> r = svc.get("/observe/metrics");
        assertEquals(200, r.statusCode());
        Map<String, Double> samples = new LinkedHashMap<>() {
            @Override
            public Double get(Object key) {
                Double v = super.get(key);
                if (v == null) {
                    throw new AssertionError("no sample " + key + " in the scrape");
                }
                return v;
            }
        };
        for (String line : r.body().split("\n")) {
            if (line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a sample line: " + line);
            samples.put(m.group(1), Double.parseDouble(m.group(2)));
        }
        return samples;
    }

    /** Family name → type, from the {@code # TYPE} lines; each family has a HELP line before it. */
    private static Map<String, String> types(String text) {
        Map<String, String> types = new LinkedHashMap<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].startsWith("# TYPE ")) {
                String[] parts = lines[i].split(" ");
                assertTrue(lines[i - 1].startsWith("# HELP " + parts[2] + " "), "HELP before " + lines[i]);
                types.put(parts[2], parts[3]);
            }
        }
        return types;
    }
}
