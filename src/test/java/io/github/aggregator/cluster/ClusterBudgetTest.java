package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.RedisServer;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One budget spent by three clustered instances on a test-owned redis-server, in real time with a short window: the
 * upstream notes when each request arrives and from which instance (each sends its own User-Agent). Sources want a
 * request every 100 ms; the budget allows 5 per 2 s across the cluster. Instances are closed one after the other so
 * that the others take the sources over, and the count holds across all of them.
 */
class ClusterBudgetTest {
    private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(2);

    @Test
    void threeInstancesTogetherNeverSendMoreThanTheBudgetInAnyWindow() throws Exception {
        String prefix = "t" + UUID.randomUUID().toString().substring(0, 8) + ":";
        Map<String, Service> services = new LinkedHashMap<>();
        try (RedisServer redis = RedisServer.start();
                Upstream upstream = new Upstream().json("{\"v\":1}")) {
            try {
                for (String name : List.of("inst-a", "inst-b", "inst-c")) {
                    services.put(
                            name, Service.start(yaml(prefix, name, upstream.url()), Map.of("REDIS_URL", redis.url())));
                }
                Await.isTrue(() -> upstream.hits() >= 8, java.time.Duration.ofSeconds(30), "requests with all three");
                // hand the sources over: the instance that fetched last goes, then the next
                for (int round = 0; round < 2; round++) {
                    String last = upstream.requests()
                            .get(upstream.hits() - 1)
                            .headers()
                            .getFirst("User-Agent");
                    services.remove(last).close();
                    int before = upstream.hits();
                    Await.isTrue(
                            () -> upstream.hits() >= before + 6,
                            java.time.Duration.ofSeconds(30),
                            "requests after " + last + " left");
                }
                // the budget's log lives in Redis, under the budget's hash tag
                String counted = redis.command("ZCARD", prefix + "budget:{plan}:2000ms");
                assertTrue(counted.matches(":[1-5]"), "requests in the log now: " + counted);
                JsonNode status = Json.MAPPER.readTree(
                        services.values().iterator().next().get("/api/sources").body());
                JsonNode limit = status.get("budgets").get(0).get("limits").get(0);
                assertEquals("5/2s", limit.get("limit").asText());
                assertTrue(limit.get("used").asInt() <= 5, limit.toString());
            } finally {
                for (Service s : services.values()) {
                    s.close();
                }
            }
            List<Upstream.Request> requests = new ArrayList<>(upstream.requests());
            requests.sort(java.util.Comparator.comparingLong(Upstream.Request::nanoTime));
            Set<String> senders = new HashSet<>();
            requests.forEach(r -> senders.add(r.headers().getFirst("User-Agent")));
            assertTrue(senders.size() >= 2, "requests came from " + senders);
            // every window of 2 s of arrival times holds at most 5 requests, whichever instance sent them
            for (int i = 0, j = 0; i < requests.size(); i++) {
                long end = requests.get(i).nanoTime() + WINDOW_NANOS;
                while (j < requests.size() && requests.get(j).nanoTime() < end) {
                    j++;
                }
                assertTrue(j - i <= 5, (j - i) + " requests within 2s from request " + i + " of " + requests.size());
            }
            assertTrue(requests.size() >= 20, "requests: " + requests.size());
        }
    }

    /**
     * Redis stopped mid-run: the instance counts the budget itself at once, fetches go on within the budget (every
     * window of the requests sent while Redis is away holds at most the limit), and when Redis is back the budget is
     * counted in Redis again.
     */
    @Test
    void redisStoppedMidRunCountsLocallyThenInRedisAgain() throws Exception {
        String prefix = "t" + UUID.randomUUID().toString().substring(0, 8) + ":";
        String key = prefix + "budget:{plan}:2000ms";
        try (RedisServer redis = RedisServer.start();
                Upstream upstream = new Upstream().json("{\"v\":1}");
                Service service =
                        Service.start(yaml(prefix, "inst-a", upstream.url()), Map.of("REDIS_URL", redis.url()))) {
            Await.isTrue(() -> upstream.hits() >= 3, java.time.Duration.ofSeconds(30), "requests counted in Redis");
            assertTrue(redis.command("ZCARD", key).matches(":[1-5]"), "the log in Redis");

            redis.stop();
            Await.isTrue(
                    () -> "degraded".equals(status(service).get("cluster").asText()),
                    java.time.Duration.ofSeconds(30),
                    "degraded");
            int from = upstream.hits();
            Await.isTrue(
                    () -> upstream.hits() >= from + 8,
                    java.time.Duration.ofSeconds(30),
                    "fetches go on while Redis is away");
            List<Upstream.Request> alone = new ArrayList<>(upstream.requests().subList(from, upstream.hits()));
            assertWithinBudget(alone);

            redis.restart(); // empty: nothing was persisted
            Await.isTrue(
                    () -> "ok".equals(status(service).get("cluster").asText()),
                    java.time.Duration.ofSeconds(30),
                    "rejoined");
            Await.isTrue(
                    () -> redis.command("ZCARD", key).matches(":[1-5]"),
                    java.time.Duration.ofSeconds(30),
                    "requests counted in Redis again");
            JsonNode limit = status(service).get("budgets").get(0).get("limits").get(0);
            assertTrue(limit.get("used").asInt() <= 5, limit.toString());
        }
    }

    private static JsonNode status(Service s) throws java.io.IOException {
        return Json.MAPPER.readTree(s.get("/api/sources").body());
    }

    /** Every window of 2 s of arrival times among {@code requests} holds at most 5 of them. */
    private static void assertWithinBudget(List<Upstream.Request> requests) {
        List<Upstream.Request> sorted = new ArrayList<>(requests);
        sorted.sort(java.util.Comparator.comparingLong(Upstream.Request::nanoTime));
        for (int i = 0, j = 0; i < sorted.size(); i++) {
            long end = sorted.get(i).nanoTime() + WINDOW_NANOS;
            while (j < sorted.size() && sorted.get(j).nanoTime() < end) {
                j++;
            }
            assertTrue(j - i <= 5, (j - i) + " requests within 2s from request " + i + " of " + sorted.size());
        }
    }

    private static String yaml(String prefix, String name, String upstream) {
        StringBuilder sources = new StringBuilder();
        for (String id : List.of("a", "b", "c")) {
            sources.append("    - id: ")
                    .append(id)
                    .append("\n      url: ")
                    .append(upstream)
                    .append('/')
                    .append(id)
                    .append("\n      interval: 100ms\n      timeout: 1s\n      budget: plan\n");
        }
        return """
                cluster:
                  redis:
                    url: ${REDIS_URL}
                    keyPrefix: "%s"
                aggregator:
                  userAgent: %s
                  budgets:
                    - id: plan
                      limits: [5/2s]
                  sources:
                %s""".formatted(prefix, name, sources);
    }
}
