package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Shared request budgets against a real service and a real local upstream that notes the (test clock's) time of every
 * request it receives. Sources want far more than their budget allows; every sliding window of the received times is
 * measured against each limit. Time moves only when the test advances the clock: after each step the test waits until
 * no fetch is in flight (every source's {@code nextFetchAt} is ahead of the clock), so what the upstream notes is what
 * the service decided at that time.
 */
class BudgetTest {
    private static final String ADMIN = "admin-token-0123456789";
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration STEP = Duration.ofMillis(250);

    /** An upstream that notes the test clock's time of each request, by path. */
    record Received(String path, Instant at) {}

    static Upstream.Handler noting(TestClock clock, List<Received> received, Upstream.Handler then) {
        return exchange -> {
            received.add(new Received(exchange.getRequestURI().getPath(), clock.instant()));
            then.handle(exchange);
        };
    }

    static void json(com.sun.net.httpserver.HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Test
    void sourcesThatWantFarMoreNeverExceedAnyWindowAndAreSpreadEvenly() throws Exception {
        TestClock clock = new TestClock();
        List<Received> received = new CopyOnWriteArrayList<>();
        AtomicInteger n = new AtomicInteger();
        String yaml = """
                admin:
                  token: %s
                aggregator:
                  budgets:
                    - id: plan
                      limits: [5/10s, 12/1m]
                  sources:
                %s
                """.formatted(ADMIN, sources("a,b,c", "%s", "1s", "plan"));
        try (Upstream up = new Upstream()) {
            up.reply(Upstream.Reply.custom(
                    noting(clock, received, ex -> json(ex, 200, "{\"n\":" + n.incrementAndGet() + "}"))));
            try (Service svc = Service.start(yaml.replace("%s", up.url()), Map.of(), clock)) {
                // three sources at 1s would send 180 requests a minute; the plan allows 12
                run(svc, clock, Duration.ofMinutes(4));
                List<Instant> times = received.stream().map(Received::at).toList();
                assertAtMost(times, 5, Duration.ofSeconds(10));
                assertAtMost(times, 12, Duration.ofMinutes(1));
                // the plan is spent, not wasted: about 12 a minute (counted over 61s: a margin for time on the wire)
                assertTrue(times.size() >= 40, "requests in 4 minutes: " + times.size());
                // evenly: one start per 61s/12 = 5.083s, never a burst
                for (int i = 1; i < times.size(); i++) {
                    Duration gap = Duration.between(times.get(i - 1), times.get(i));
                    assertTrue(
                            gap.compareTo(Duration.ofMillis(5083).minus(STEP)) >= 0,
                            "gap " + gap + " between requests " + (i - 1) + " and " + i + ": " + times);
                }
                // every source gets its turn
                for (String id : List.of("a", "b", "c")) {
                    long count = received.stream()
                            .filter(r -> r.path().equals("/" + id))
                            .count();
                    assertTrue(count >= 10, id + " fetched " + count + " times");
                }
                JsonNode status = status(svc);
                for (JsonNode s : status.get("sources")) {
                    assertEquals(1.0, s.get("interval").asDouble());
                    assertEquals("plan", s.get("budget").asText());
                    // stretched evenly: three sources share one start per 5.083s
                    assertEquals(15.25, s.get("effectiveInterval").asDouble(), 0.01, s.toString());
                    assertFalse(s.get("stale").asBoolean(), "a stretched source is not stale");
                }
                JsonNode limits = status.get("budgets").get(0).get("limits");
                assertEquals("plan", status.get("budgets").get(0).get("id").asText());
                assertEquals("5/10s", limits.get(0).get("limit").asText());
                assertEquals("12/1m", limits.get(1).get("limit").asText());
                long inLastMinute = times.stream()
                        .filter(t -> t.isAfter(clock.instant().minus(Duration.ofSeconds(61))))
                        .count();
                assertEquals(inLastMinute, limits.get(1).get("used").asLong(), limits.toString());
                assertEquals(12 - inLastMinute, limits.get(1).get("remaining").asLong());
                Instant resets = Instant.parse(limits.get(1).get("resetsAt").asText());
                assertTrue(resets.isAfter(clock.instant())
                        && !resets.isAfter(clock.instant().plusSeconds(61)));
                // the metric says the same, with bounded labels: the budget and the limit as configured
                String metrics = svc.get("/observe/metrics").body();
                assertTrue(
                        metrics.contains(
                                "aggregator_budget_remaining{budget=\"plan\",limit=\"12/1m\"} " + (12 - inLastMinute)),
                        metrics);
                assertTrue(metrics.contains("aggregator_budget_remaining{budget=\"plan\",limit=\"5/10s\"} "));
            }
        }
    }

    @Test
    void aSubscribedSourceGetsPrecedenceAndTheOtherIsNotStarved() throws Exception {
        TestClock clock = new TestClock();
        List<Received> received = new CopyOnWriteArrayList<>();
        AtomicInteger n = new AtomicInteger();
        String yaml = """
                admin:
                  token: %s
                aggregator:
                  budgets:
                    - id: plan
                      limits: [6/1m]
                  sources:
                %s
                """.formatted(ADMIN, sources("watched,plain", "%s", "1s", "plan"));
        try (Upstream up = new Upstream()) {
            up.reply(Upstream.Reply.custom(
                    noting(clock, received, ex -> json(ex, 200, "{\"n\":" + n.incrementAndGet() + "}"))));
            try (Service svc = Service.start(yaml.replace("%s", up.url()), Map.of(), clock);
                    SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/watched/events"))) {
                Await.isTrue(() -> svc.subscribers("watched") == 1, WAIT, "subscribed");
                int before = received.size();
                run(svc, clock, Duration.ofMinutes(10));
                List<Received> during = received.subList(before, received.size());
                long watched =
                        during.stream().filter(r -> r.path().equals("/watched")).count();
                long plain =
                        during.stream().filter(r -> r.path().equals("/plain")).count();
                assertTrue(watched >= 2 * plain, "watched " + watched + ", plain " + plain);
                assertTrue(plain >= 5, "the other source still gets its floor: " + plain);
                assertAtMost(received.stream().map(Received::at).toList(), 6, Duration.ofMinutes(1));
                JsonNode sources = status(svc).get("sources");
                double w = find(sources, "watched").get("effectiveInterval").asDouble();
                double p = find(sources, "plain").get("effectiveInterval").asDouble();
                assertTrue(w < p, "watched every " + w + "s, plain every " + p + "s");
            }
        }
    }

    @Test
    void everyInstanceOfAParametrisedSourceSpendsTheSameBudget() throws Exception {
        TestClock clock = new TestClock();
        List<Received> received = new CopyOnWriteArrayList<>();
        String yaml = """
                admin:
                  token: %s
                aggregator:
                  budgets:
                    - id: plan
                      limits: [4/1m]
                  sources:
                    - id: weather
                      url: %s/w/{city}
                      interval: 1s
                      timeout: 2s
                      budget: plan
                      params:
                        city:
                          values: [nyc, la, sf]
                """;
        try (Upstream up = new Upstream()) {
            up.reply(Upstream.Reply.custom(noting(clock, received, ex -> json(ex, 200, "{\"t\":20}"))));
            List<SseClient> streams = new ArrayList<>();
            try (Service svc = Service.start(yaml.formatted(ADMIN, up.url()), Map.of(), clock)) {
                for (String city : List.of("nyc", "la", "sf")) {
                    streams.add(SseClient.open(svc.client(), svc.uri("/api/sources/weather/events?city=" + city)));
                }
                run(svc, clock, Duration.ofMinutes(3));
                assertAtMost(received.stream().map(Received::at).toList(), 4, Duration.ofMinutes(1));
                for (String city : List.of("nyc", "la", "sf")) {
                    long count = received.stream()
                            .filter(r -> r.path().equals("/w/" + city))
                            .count();
                    assertTrue(count >= 2, city + " fetched " + count + " times: " + received);
                }
                JsonNode live = find(status(svc).get("sources"), "weather").get("live");
                assertEquals(3, live.size(), live.toString());
                for (JsonNode i : live) {
                    assertEquals("plan", i.get("budget").asText(), i.toString());
                    // three instances share one start per 61s/4
                    assertEquals(45.75, i.get("effectiveInterval").asDouble(), 0.01, i.toString());
                }
            } finally {
                for (SseClient c : streams) {
                    c.close();
                }
            }
        }
    }

    /**
     * Redirects, conditional GETs and the OAuth2 token requests to the API's own host all count: the upstream plays
     * the token endpoint (tokens live 20s, so they are renewed often), a redirect and a validator-checking API.
     */
    @Test
    void everyRequestCountsAndASpentBudgetKeepsTheDataFresh() throws Exception {
        TestClock clock = new TestClock();
        List<Received> received = new CopyOnWriteArrayList<>();
        AtomicInteger tokens = new AtomicInteger();
        AtomicInteger notModified = new AtomicInteger();
        Upstream.Handler api = ex -> {
            String path = ex.getRequestURI().getPath();
            if (path.equals("/token")) {
                json(
                        ex,
                        200,
                        "{\"access_token\":\"t" + tokens.incrementAndGet()
                                + "\",\"token_type\":\"bearer\",\"expires_in\":20}");
            } else if (path.equals("/orders")) {
                ex.getResponseHeaders().set("Location", "/orders/v2");
                ex.sendResponseHeaders(302, -1);
                ex.close();
            } else if ("\"v1\"".equals(ex.getRequestHeaders().getFirst("If-None-Match"))) {
                notModified.incrementAndGet();
                ex.getResponseHeaders().set("ETag", "\"v1\"");
                ex.sendResponseHeaders(304, -1);
                ex.close();
            } else {
                ex.getResponseHeaders().set("ETag", "\"v1\"");
                json(ex, 200, "{\"orders\":3}");
            }
        };
        try (Upstream up = new Upstream()) {
            up.reply(Upstream.Reply.custom(noting(clock, received, api)));
            String yaml = """
                    admin:
                      token: %s
                    aggregator:
                      budgets:
                        - id: plan
                          limits: [5/1m]
                      sources:
                        - id: orders
                          url: %s/orders
                          interval: 1s
                          timeout: 2s
                          budget: plan
                          auth:
                            oauth2:
                              tokenUrl: %s/token
                              clientId: c
                              clientSecret: s
                    """.formatted(ADMIN, up.url(), up.url());
            try (Service svc = Service.start(yaml, Map.of(), clock)) {
                run(svc, clock, Duration.ofSeconds(2));
                JsonNode first = find(status(svc).get("sources"), "orders");
                assertEquals(1, first.get("version").asLong(), first.toString());
                run(svc, clock, Duration.ofMinutes(5));
                List<Instant> times = received.stream().map(Received::at).toList();
                assertAtMost(times, 5, Duration.ofMinutes(1));
                assertTrue(tokens.get() >= 2, "token requests: " + tokens.get());
                assertTrue(notModified.get() >= 1, "conditional GETs answered 304: " + notModified.get());
                long redirects = received.stream()
                        .filter(r -> r.path().equals("/orders"))
                        .count();
                assertTrue(redirects >= 2, "redirected requests: " + redirects);
                assertTrue(times.size() >= 20, "requests in 5 minutes: " + times.size());

                // spent: a refresh (the first may take the start the budget has free now) sends nothing, and the data
                // stays served as it was, not stale
                refresh(svc);
                JsonNode before = find(status(svc).get("sources"), "orders");
                int sent = received.size();
                HttpResponse<String> refresh = refresh(svc);
                assertEquals(
                        "deferred",
                        Json.MAPPER
                                .readTree(refresh.body())
                                .get("results")
                                .get(0)
                                .get("result")
                                .asText(),
                        refresh.body());
                JsonNode after = find(status(svc).get("sources"), "orders");
                assertEquals(sent, received.size(), "a request beyond the budget: " + refresh.body());
                assertFalse(after.get("stale").asBoolean(), after.toString());
                assertTrue(after.get("lastError").isNull(), after.toString());
                assertEquals(before.get("fetchedAt"), after.get("fetchedAt"));
                Instant next = Instant.parse(after.get("nextFetchAt").asText());
                assertTrue(next.isAfter(clock.instant()), "nextFetchAt includes the budget's wait: " + after);
                HttpResponse<String> data = svc.get("/api/sources/orders");
                assertEquals(200, data.statusCode());
                JsonNode envelope = Json.MAPPER.readTree(data.body());
                assertFalse(envelope.get("stale").asBoolean());
                assertEquals(3, envelope.get("data").get("orders").asInt());
            }
        }
    }

    private static HttpResponse<String> refresh(Service svc) throws Exception {
        HttpResponse<String> r = svc.client()
                .send(
                        java.net.http.HttpRequest.newBuilder(svc.uri("/api/refresh/orders"))
                                .header("Authorization", "Bearer " + ADMIN)
                                .POST(java.net.http.HttpRequest.BodyPublishers.noBody())
                                .timeout(Duration.ofSeconds(15))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r;
    }

    /** Sources {@code ids} (comma-separated) at {@code base/ID}, each with {@code interval} and {@code budget}. */
    static String sources(String ids, String base, String interval, String budget) {
        StringBuilder sb = new StringBuilder();
        for (String id : ids.split(",")) {
            sb.append("    - id: ")
                    .append(id)
                    .append("\n      url: ")
                    .append(base)
                    .append('/')
                    .append(id)
                    .append("\n      interval: ")
                    .append(interval)
                    .append("\n      timeout: 2s\n      budget: ")
                    .append(budget)
                    .append('\n');
        }
        return sb.toString();
    }

    /**
     * Advances {@code clock} by {@code total} in steps, waiting after each until no fetch is in flight (each source's
     * next fetch is ahead of the clock).
     */
    static void run(Service svc, TestClock clock, Duration total) throws Exception {
        for (Duration done = Duration.ZERO; done.compareTo(total) < 0; done = done.plus(STEP)) {
            clock.advance(STEP);
            Await.isTrue(
                    () -> {
                        Instant now = clock.instant();
                        for (JsonNode s : status(svc).get("sources")) {
                            JsonNode next = s.get("nextFetchAt");
                            if (next != null
                                    && !next.isNull()
                                    && !Instant.parse(next.asText()).isAfter(now)) {
                                return false;
                            }
                        }
                        return true;
                    },
                    WAIT,
                    "no fetch in flight at " + clock.instant());
        }
    }

    /** In no window [t, t + window) of the received times are there more than {@code limit}. */
    static void assertAtMost(List<Instant> times, int limit, Duration window) {
        List<Instant> sorted = new ArrayList<>(times);
        Collections.sort(sorted);
        for (int i = 0, j = 0; i < sorted.size(); i++) {
            Instant end = sorted.get(i).plus(window);
            while (j < sorted.size() && sorted.get(j).isBefore(end)) {
                j++;
            }
            assertTrue(
                    j - i <= limit,
                    (j - i) + " requests within " + window + " from " + sorted.get(i) + " (limit " + limit + "): "
                            + sorted);
        }
    }

    static JsonNode status(Service svc) throws IOException {
        HttpResponse<String> r = svc.get("/api/sources", "Authorization", "Bearer " + ADMIN);
        assertEquals(200, r.statusCode(), r.body());
        return Json.MAPPER.readTree(r.body());
    }

    static JsonNode find(JsonNode sources, String id) {
        for (JsonNode s : sources) {
            if (s.get("id").asText().equals(id)) {
                return s;
            }
        }
        throw new AssertionError("no source " + id + " in " + sources);
    }
}
