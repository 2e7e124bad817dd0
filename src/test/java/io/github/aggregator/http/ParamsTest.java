package io.github.aggregator.http;

import static io.github.aggregator.http.TransformTest.awaitTrue;
import static io.github.aggregator.http.TransformTest.json;
import static io.github.aggregator.http.TransformTest.nextData;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Parametrised sources against a real service and a real upstream on loopback that answers with the raw path and
 * query it received, so each assertion is about what reached the upstream.
 */
class ParamsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** An upstream whose answer is the raw path and query it was asked for. */
    static Upstream echo() {
        Upstream up = new Upstream();
        up.reply(Upstream.Reply.custom(exchange -> {
            String body = MAPPER.createObjectNode()
                    .put("path", exchange.getRequestURI().getRawPath())
                    .put("query", exchange.getRequestURI().getRawQuery())
                    .toString();
            TransformTest.send(exchange, "application/json", body);
        }));
        return up;
    }

    static String weather(Upstream up, String interval, String... extra) {
        StringBuilder sb = new StringBuilder();
        sb.append("aggregator:\n  sources:\n");
        sb.append("    - id: weather\n");
        sb.append("      url: ").append(up.url()).append("/v1/forecast?city={city}&units={units}\n");
        sb.append("      interval: ").append(interval).append('\n');
        sb.append("      params:\n");
        sb.append("        city:\n          values: [NYC, London, Tokyo]\n");
        sb.append("        units:\n          values: [metric, imperial]\n          default: metric\n");
        for (String e : extra) {
            sb.append("      ").append(e).append('\n');
        }
        return sb.toString();
    }

    static long hits(Upstream up, String rawQuery) {
        return hits(up.requests(), rawQuery);
    }

    /** The calls with {@code rawQuery} among {@code seen}: counts compared with each other come from one snapshot. */
    static long hits(List<Upstream.Request> seen, String rawQuery) {
        return seen.stream().filter(r -> rawQuery.equals(r.uri().getRawQuery())).count();
    }

    @Test
    void concurrentFirstReadersOfEachInstanceShareOneUpstreamCall() throws Exception {
        try (Upstream up = echo();
                Service svc = Service.start(weather(up, "1h"))) {
            assertEquals(0, up.hits(), "no instance exists before a read");
            List<Future<HttpResponse<String>>> futures = new ArrayList<>();
            CountDownLatch go = new CountDownLatch(1);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 60; i++) {
                    String path = switch (i % 3) {
                        case 0 -> "/api/sources/weather?city=NYC";
                        case 1 -> "/api/sources/weather?city=London&units=metric";
                        default -> "/api/sources/weather(city=London;units=imperial)";
                    };
                    futures.add(pool.submit(() -> {
                        go.await();
                        return svc.get(path);
                    }));
                }
                go.countDown();
                for (Future<HttpResponse<String>> f : futures) {
                    JsonNode env = json(f.get());
                    assertEquals("weather", env.get("id").asText(), env.toString());
                    assertEquals(1, env.get("version").asLong(), env.toString());
                    String city = env.get("params").get("city").asText();
                    String units = env.get("params").get("units").asText();
                    assertEquals(
                            "city=" + city + "&units=" + units,
                            env.get("data").get("query").asText());
                    assertEquals(
                            "weather(city=" + city + ";units=" + units + ")",
                            env.get("instance").asText());
                }
            }
            assertEquals(1, hits(up, "city=NYC&units=metric"), "one call for NYC");
            assertEquals(1, hits(up, "city=London&units=metric"), "one call for London");
            assertEquals(1, hits(up, "city=London&units=imperial"), "one call for London imperial");
            assertEquals(3, up.hits());

            // the query form and the canonical form are one instance: same ETag, 304 on either
            HttpResponse<String> q = svc.get("/api/sources/weather?city=NYC");
            String etag = q.headers().firstValue("ETag").orElseThrow();
            assertTrue(q.headers().firstValue("Cache-Control").orElseThrow().startsWith("max-age="));
            assertEquals(
                    304,
                    svc.get("/api/sources/weather(city=NYC;units=metric)", "If-None-Match", etag)
                            .statusCode());
            assertEquals(
                    304,
                    svc.get("/api/sources/weather?units=metric&city=NYC", "If-None-Match", etag)
                            .statusCode());
            assertEquals(3, up.hits(), "reads of live instances are served from the store");

            // the status list shows the template once, with its rules and its three instances
            JsonNode list = json(svc.get("/api/sources"));
            JsonNode t = list.get("sources").get(0);
            assertEquals("weather", t.get("id").asText(), list.toString());
            assertEquals(1, list.get("sources").size(), list.toString());
            assertEquals("NYC", t.get("params").get("city").get("values").get(0).asText(), t.toString());
            assertEquals("metric", t.get("params").get("units").get("default").asText(), t.toString());
            assertEquals(100, t.get("maxKeys").asInt(), t.toString());
            assertEquals(3, t.get("live").size(), t.toString());
            for (JsonNode i : t.get("live")) {
                assertEquals("active", i.get("state").asText(), i.toString());
                assertEquals(1, i.get("version").asLong(), i.toString());
                assertTrue(i.get("nextFetchAt").isTextual(), i.toString());
                assertTrue(i.get("params").has("city"), i.toString());
            }
        }
    }

    @Test
    void eachLiveInstanceIsPolledOncePerIntervalWhateverTheNumberOfClients() throws Exception {
        try (Upstream up = echo();
                Service svc = Service.start(weather(up, "300ms"))) {
            List<SseClient> streams = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    String q = i % 2 == 0 ? "city=NYC" : "city=Tokyo";
                    SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/weather/events?" + q));
                    assertEquals(200, sse.status());
                    streams.add(sse);
                }
                for (SseClient sse : streams) {
                    Frame f = nextData(sse);
                    assertNotNull(f);
                    assertEquals("snapshot", f.event(), f.toString());
                    JsonNode env = MAPPER.readTree(f.data());
                    assertEquals("weather", env.get("id").asText());
                    assertTrue(env.get("params").has("city"), f.data());
                }
                // several intervals pass: each instance is called about once per interval, never once per client
                awaitTrue(() -> hits(up, "city=NYC&units=metric") >= 6, "NYC polled six times");
                // one snapshot of the calls: the instances go on polling while their counts are compared
                List<Upstream.Request> seen = up.requests();
                long nyc = hits(seen, "city=NYC&units=metric");
                long tokyo = hits(seen, "city=Tokyo&units=metric");
                assertTrue(Math.abs(nyc - tokyo) <= 2, "NYC " + nyc + ", Tokyo " + tokyo);
                assertEquals(nyc + tokyo, seen.size(), "no other upstream calls");
                // a fetch every 300 ms over the time NYC took to get six: far fewer than one per client per interval
                assertTrue(tokyo < 5 * 6, "Tokyo " + tokyo);
            } finally {
                streams.forEach(SseClient::close);
            }
        }
    }

    /**
     * Real load (100 pollers, 40 streams) on four instances while the test clock passes six intervals: each instance is
     * called exactly once per interval.
     */
    @Test
    void underLoadEachInstanceIsCalledOncePerIntervalWhateverItsPollersAndSubscribers() throws Exception {
        TestClock clock = new TestClock();
        try (Upstream up = echo();
                Service svc = Service.start(weather(up, "500ms"), Map.of(), clock)) {
            List<String> keys = List.of("city=NYC", "city=London", "city=Tokyo", "city=NYC&units=imperial");
            List<SseClient> streams = new ArrayList<>();
            java.util.concurrent.atomic.AtomicBoolean polling = new java.util.concurrent.atomic.AtomicBoolean(true);
            java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger bad = new java.util.concurrent.atomic.AtomicInteger();
            // the pollers stop before the pool is closed, which waits for them, whether the test passes or fails
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
                    AutoCloseable stop = () -> polling.set(false)) {
                for (int i = 0; i < 40; i++) {
                    SseClient sse = SseClient.open(
                            svc.client(), svc.uri("/api/sources/weather/events?" + keys.get(i % keys.size())));
                    assertEquals(200, sse.status());
                    streams.add(sse);
                }
                for (SseClient sse : streams) {
                    assertNotNull(nextData(sse));
                }
                // 100 pollers, 25 on each key, each reading as fast as the answers come
                java.util.Set<Integer> underWay = java.util.concurrent.ConcurrentHashMap.newKeySet();
                for (int i = 0; i < 100; i++) {
                    String key = keys.get(i % keys.size());
                    int poller = i;
                    pool.submit(() -> {
                        while (polling.get()) {
                            HttpResponse<String> r = svc.get("/api/sources/weather?" + key);
                            reads.incrementAndGet();
                            underWay.add(poller);
                            if (r.statusCode() != 200) {
                                bad.incrementAndGet();
                            }
                        }
                        return null;
                    });
                }
                Await.isTrue(
                        () -> underWay.size() == 100,
                        java.time.Duration.ofSeconds(20),
                        "every poller under way (answered once)");
                Map<String, Long> before = new java.util.TreeMap<>();
                keys.forEach(k -> before.put(k, hits(up, upstreamQuery(k))));
                // the window the upstream calls are counted in: six intervals of the clock, each with reads in it
                for (int i = 1; i <= 6; i++) {
                    int atLeast = reads.get() + 100;
                    Await.isTrue(() -> reads.get() >= atLeast, java.time.Duration.ofSeconds(60), "100 more reads");
                    svc.step(clock, java.time.Duration.ofMillis(500));
                }
                polling.set(false);
                Map<String, Long> during = new java.util.TreeMap<>();
                keys.forEach(k -> during.put(k, hits(up, upstreamQuery(k)) - before.get(k)));
                System.out.println("upstream calls per instance in 6 intervals under " + reads.get()
                        + " reads and 40 streams: " + during);
                assertEquals(0, bad.get(), "every read answered 200");
                assertTrue(reads.get() > 200, "the pollers really polled: " + reads.get());
                for (Map.Entry<String, Long> e : during.entrySet()) {
                    assertEquals(6, e.getValue(), "calls for " + e.getKey() + " in six intervals");
                }
                List<Upstream.Request> seen = up.requests(); // one snapshot, as above
                assertEquals(
                        keys.stream()
                                .mapToLong(k -> hits(seen, upstreamQuery(k)))
                                .sum(),
                        seen.size(),
                        "no upstream call for anything else");
            } finally {
                polling.set(false);
                streams.forEach(SseClient::close);
            }
        }
    }

    /** The query the upstream receives for a request's {@code key} (units defaults to metric). */
    private static String upstreamQuery(String key) {
        return key.contains("units") ? key : key + "&units=metric";
    }

    @Test
    void refusedParametersAnswer400NamingTheParameterAndReachNoUpstream() throws Exception {
        try (Upstream up = echo();
                Service svc = Service.start(weather(up, "1h"))) {
            assertRefused(svc, "/api/sources/weather?city=Paris", "city", "must be one of NYC, London, Tokyo");
            assertRefused(svc, "/api/sources/weather", "city", "is required");
            assertRefused(svc, "/api/sources/weather?city=NYC&country=US", "country", "unknown parameter");
            assertRefused(svc, "/api/sources/weather?city=NYC&units=kelvin", "units", "must be one of");
            assertRefused(svc, "/api/sources/weather(city=Paris)", "city", "must be one of");
            assertRefused(svc, "/api/sources/weather/events?city=Rome", "city", "must be one of");
            assertRefused(svc, "/api/sources/weather(city=NYC)?city=NYC", "city", "given twice");
            assertRefused(svc, "/api/events?sources=weather(city=Oslo)", "city", "must be one of");
            assertEquals(404, svc.get("/api/sources/nothing(city=NYC)").statusCode());
            assertEquals(0, up.hits(), "no refused request reaches the upstream");
            JsonNode t = json(svc.get("/api/sources")).get("sources").get(0);
            assertEquals(0, t.get("live").size(), "no instance made by a refused request: " + t);
        }
    }

    static void assertRefused(Service svc, String path, String param, String reason) throws Exception {
        HttpResponse<String> r = svc.get(path);
        assertEquals(400, r.statusCode(), path + ": " + r.body());
        assertEquals(
                "application/problem+json",
                r.headers().firstValue("Content-Type").orElse(""));
        JsonNode body = MAPPER.readTree(r.body());
        assertEquals(param, body.get("parameter").asText(), r.body());
        assertTrue(body.get("detail").asText().contains(reason), r.body());
        assertTrue(body.get("detail").asText().contains(param), r.body());
    }

    @Test
    void injectionAttemptsReachTheUpstreamOnlyAsEncodedValues() throws Exception {
        String yaml = "aggregator:\n  sources:\n    - id: any\n      url: " + "UP/files/{name}/data?q={q}&fixed=1\n"
                + "      interval: 1h\n      params:\n        name:\n          pattern: \"(?s).{1,300}\"\n"
                + "        q:\n          pattern: \"(?s).{1,300}\"\n";
        try (Upstream up = echo();
                Service svc = Service.start(yaml.replace("UP", up.url()))) {
            // a value with & and =: one query parameter, never two
            JsonNode a = json(svc.get("/api/sources/any?name=x&q=NYC%26admin%3D1"));
            assertEquals("q=NYC%26admin%3D1&fixed=1", a.get("data").get("query").asText());
            // a path traversal: one segment, the slash encoded
            JsonNode b = json(svc.get("/api/sources/any?name=..%2Fadmin&q=x"));
            assertEquals("/files/..%2Fadmin/data", b.get("data").get("path").asText());
            // CR LF (decoded from the request) and a literal "%0d%0a": both encoded
            JsonNode c = json(svc.get("/api/sources/any?name=x&q=%0d%0a"));
            assertEquals("q=%0D%0A&fixed=1", c.get("data").get("query").asText());
            JsonNode d = json(svc.get("/api/sources/any?name=x&q=%250d%250a"));
            assertEquals("q=%250d%250a&fixed=1", d.get("data").get("query").asText());
            // a host-changing attempt stays a value
            JsonNode e = json(svc.get("/api/sources/any?name=%40evil.example%3A80&q=%23frag"));
            assertEquals(
                    "/files/%40evil.example%3A80/data",
                    e.get("data").get("path").asText());
            assertEquals("q=%23frag&fixed=1", e.get("data").get("query").asText());
            int before = up.hits();
            assertEquals(5, before);
            // refused outright: a dot segment in the path, and a 10 KB value
            assertRefused(svc, "/api/sources/any?name=..&q=x", "name", "must not be");
            assertRefused(svc, "/api/sources/any?name=x&q=" + "a".repeat(10_000), "q", "longer than 256");
            assertEquals(before, up.hits(), "refused values reach no upstream");
            for (var r : up.requests()) {
                assertTrue(r.uri().getRawPath().startsWith("/files/"), r.uri().toString());
                assertTrue(r.uri().getRawQuery().endsWith("&fixed=1"), r.uri().toString());
            }
        }
    }

    /**
     * Sends {@code HEAD path} and then {@code GET /api/sources} on one connection, and returns everything read until
     * the second answer's head is complete: a HEAD answer with a body would put that body before the second status
     * line.
     */
    static String headThenGet(Service svc, String path) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), svc.port())) {
            socket.setSoTimeout(5000);
            String requests = "HEAD " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    + "GET /api/sources HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            socket.getOutputStream().write(requests.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            StringBuilder got = new StringBuilder();
            int heads = 0;
            int c;
            while (heads < 2 && (c = in.read()) >= 0) {
                got.append((char) c);
                if (got.length() >= 4 && got.substring(got.length() - 4).equals("\r\n\r\n")) {
                    heads++;
                }
            }
            return got.toString();
        }
    }

    @Test
    void beyondMaxKeysLiveInstancesTheNextGets503AndTheLiveOnesStay() throws Exception {
        try (Upstream up = echo();
                Service svc = Service.start(weather(up, "1h", "maxKeys: 2"))) {
            SseClient nyc = SseClient.open(svc.client(), svc.uri("/api/sources/weather/events?city=NYC"));
            SseClient london = SseClient.open(svc.client(), svc.uri("/api/sources/weather/events?city=London"));
            try {
                assertNotNull(nextData(nyc));
                assertNotNull(nextData(london));
                HttpResponse<String> full = svc.get("/api/sources/weather?city=Tokyo");
                assertEquals(503, full.statusCode(), full.body());
                assertTrue(full.headers().firstValue("Retry-After").isPresent());
                assertEquals(
                        "application/problem+json",
                        full.headers().firstValue("Content-Type").orElse(""));
                assertTrue(full.body().contains("2 live instances"), full.body());
                assertEquals(0, hits(up, "city=Tokyo&units=metric"));
                // HEAD: the same status and headers, and no body (the next answer on the connection follows at once)
                String full503 = headThenGet(svc, "/api/sources/weather?city=Tokyo");
                assertTrue(full503.startsWith("HTTP/1.1 503 "), full503);
                assertTrue(full503.toLowerCase(java.util.Locale.ROOT).contains("\r\nretry-after: "), full503);
                assertTrue(full503.contains("\r\n\r\nHTTP/1.1 200 "), "a body after the HEAD answer: " + full503);
                for (String bad : List.of(
                        "/api/sources/weather?city=Paris",
                        "/api/sources/weather",
                        "/api/sources/weather(city=NYC)?city=NYC",
                        "/api/sources/weather?city=NYC&city=London",
                        "/api/sources/weather?city=NYC&zone=1")) {
                    String head = headThenGet(svc, bad);
                    assertTrue(head.startsWith("HTTP/1.1 400 "), bad + ": " + head);
                    assertTrue(head.contains("application/problem+json"), head);
                    assertTrue(head.contains("\r\n\r\nHTTP/1.1 200 "), "a body after the HEAD answer: " + head);
                }
                assertEquals(200, svc.get("/api/sources/weather?city=NYC").statusCode());
                assertEquals(200, svc.get("/api/sources/weather?city=London").statusCode());
            } finally {
                nyc.close();
                london.close();
            }
        }
    }
}
