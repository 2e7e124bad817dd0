package io.github.aggregator.http;

import static io.github.aggregator.http.ParamsTest.echo;
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
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A combined source built from instances of a parametrised source ({@code combine: [weather(city=NYC), ...]}): real
 * service, real upstream on loopback that echoes what it was asked, so each count is of what reached it. Intervals pass
 * only on the test clock, so a count is exactly what each read or interval caused.
 */
class ParamsCombineTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static String config(Upstream up) {
        return "aggregator:\n  heartbeat: 200ms\n  sources:\n"
                + "    - id: weather\n      url: " + up.url() + "/forecast?city={city}\n"
                + "      interval: 300ms\n      idleAfter: 600ms\n      maxKeys: 3\n"
                + "      params:\n        city:\n          values: [NYC, London, Tokyo, Paris]\n"
                + "    - id: cities\n      combine: [\"weather(city=NYC)\", \"weather(city=London)\"]\n";
    }

    private static long calls(Upstream up, String city) {
        return up.requests().stream()
                .filter(r -> ("city=" + city).equals(r.uri().getRawQuery()))
                .count();
    }

    /** Instance name to state, from {@code GET /api/sources}. */
    private static Map<String, String> states(Service svc) {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode s : json(svc.get("/api/sources")).get("sources")) {
            if (s.has("live")) {
                s.get("live")
                        .forEach(i -> out.put(
                                i.get("instance").asText(), i.get("state").asText()));
            }
        }
        return out;
    }

    /** Steps the clock an interval at a time until {@code done} holds; fails after 50 intervals. */
    private static void stepUntil(Service svc, TestClock clock, Await.Check done, String what) throws Exception {
        for (int i = 0; !done.holds(); i++) {
            assertTrue(i < 50, what + ": not after 50 intervals of the clock");
            svc.step(clock, Duration.ofMillis(300));
        }
    }

    @Test
    void aCombinationOfInstancesPollsThemWhileItIsReadAndKeepsThemFromEviction() throws Exception {
        TestClock clock = new TestClock();
        try (Upstream up = echo();
                Service svc = Service.start(config(up), java.util.Map.of(), clock)) {
            // the named instances exist from the start, idle: nobody has read the combination yet
            assertEquals(Map.of("weather(city=London)", "idle", "weather(city=NYC)", "idle"), states(svc));
            assertEquals(0, up.hits(), "nothing is fetched before the combination is read");

            JsonNode env = json(svc.get("/api/sources/cities"));
            assertEquals("cities", env.get("id").asText(), env.toString());
            assertEquals(
                    "city=NYC",
                    env.get("data").get("weather(city=NYC)").get("query").asText(),
                    env.toString());
            assertEquals(
                    "city=London",
                    env.get("data").get("weather(city=London)").get("query").asText(),
                    env.toString());
            assertEquals(1, calls(up, "NYC"), "one call for NYC");
            assertEquals(1, calls(up, "London"), "one call for London");

            // a reader of the instance itself shares it with the combination: no call of its own
            JsonNode nyc = json(svc.get("/api/sources/weather?city=NYC"));
            assertEquals("weather(city=NYC)", nyc.get("instance").asText(), nyc.toString());

            // subscribed, the combination keeps both instances polled every interval, and follows them
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/cities/events"))) {
                assertEquals(200, sse.status());
                Frame first = nextData(sse);
                assertNotNull(first);
                assertEquals("snapshot", first.event(), first.toString());
                long mark = calls(up, "NYC");
                stepUntil(
                        svc,
                        clock,
                        () -> calls(up, "NYC") >= mark + 3 && calls(up, "London") >= mark + 2,
                        "NYC and London polled while the combination streams");
                assertEquals(0, calls(up, "Tokyo") + calls(up, "Paris"));
            }

            // without readers both go idle, and the upstream is left alone
            stepUntil(
                    svc, clock, () -> states(svc).values().stream().allMatch("idle"::equals), "idle once nobody reads");
            long nycQuiet = calls(up, "NYC");
            long londonQuiet = calls(up, "London");
            // a third instance fills maxKeys (3); once it is idle, a fourth evicts it, never a combination's part
            assertEquals(200, svc.get("/api/sources/weather?city=Tokyo").statusCode());
            stepUntil(svc, clock, () -> "idle".equals(states(svc).get("weather(city=Tokyo)")), "Tokyo idle");
            assertEquals(200, svc.get("/api/sources/weather?city=Paris").statusCode());
            assertEquals(
                    java.util.Set.of("weather(city=NYC)", "weather(city=London)", "weather(city=Paris)"),
                    states(svc).keySet());
            assertEquals(nycQuiet, calls(up, "NYC"), "an idle combination's parts are not fetched");
            assertEquals(londonQuiet, calls(up, "London"), "an idle combination's parts are not fetched");
            assertEquals(1, calls(up, "Paris"));

            // and the combination still serves both parts
            JsonNode again = json(svc.get("/api/sources/cities"));
            assertTrue(again.get("data").has("weather(city=NYC)"), again.toString());
            assertTrue(again.get("data").has("weather(city=London)"), again.toString());
            assertEquals(
                    "cities",
                    MAPPER.readTree(svc.get("/api/sources/cities").body())
                            .get("id")
                            .asText());
        }
    }
}
