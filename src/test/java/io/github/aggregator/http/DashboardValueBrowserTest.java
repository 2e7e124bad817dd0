package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the dashboard shows beyond the values, in a real headless Chromium: a sparkline per numeric field that grows as
 * values change (from the retained history, then the stream), the upstream's health, and the client reads and events
 * served against the upstream calls made, per source and in total.
 */
@ExtendWith(BrowserExtension.class)
class DashboardValueBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private final Browser browser;

    DashboardValueBrowserTest(Browser browser) {
        this.browser = browser;
    }

    private static String quote(double price, int volume) {
        return "{\"symbol\":\"ACME\",\"price\":" + price + ",\"volume\":" + volume + "}";
    }

    private static long version(Service svc) throws Exception {
        return Json.MAPPER
                .readTree(svc.get("/api/sources/prices").body())
                .get("version")
                .asLong();
    }

    private int points(String path) {
        Object n = browser.js(
                "const f = document.querySelector('[data-id=prices] .spark[data-path=\"' + arguments[0] + '\"]');"
                        + " return f ? Number(f.dataset.points) : 0;",
                path);
        return ((Number) n).intValue();
    }

    private long data(String css, String name) {
        String v = browser.attribute(css, name);
        return v == null ? -1 : Long.parseLong(v);
    }

    @Test
    void chartsGrowWithTheValuesAndTheCountersShowWhatWasServedAgainstUpstreamCalls() throws Exception {
        try (Upstream up = new Upstream().json(quote(10.0, 100));
                Service svc = Service.start("""
                        aggregator:
                          sources:
                            - id: prices
                              url: %s/prices
                              interval: 200ms
                              maxBackoff: 400ms
                        """.formatted(up.url()))) {
            // three versions before the page opens: the chart starts from the retained history
            for (int i = 1; i <= 2; i++) {
                long before = version(svc);
                up.json(quote(10.0 + i, 100 + i));
                Await.isTrue(() -> version(svc) > before, WAIT, "version " + (before + 1));
            }
            HttpResponse<String> history = svc.get("/api/sources/prices/history");
            assertEquals(200, history.statusCode(), history.body());
            JsonNode versions = Json.MAPPER.readTree(history.body()).get("versions");
            assertEquals(3, versions.size(), history.body());
            assertEquals(10.0, versions.get(0).at("/data/price").asDouble(), "oldest first: " + history.body());
            assertEquals(12.0, versions.get(2).at("/data/price").asDouble(), history.body());
            assertEquals(404, svc.get("/api/sources/nope/history").statusCode());

            browser.driver().get(svc.uri("/").toString());
            Await.isTrue(() -> points("/price") == 3, WAIT, "the price chart from the history");
            assertEquals(3, points("/volume"), "every numeric field gets a chart");
            assertEquals(0, points("/symbol"), "text gets none");

            // then each change the stream brings adds a point
            List<Integer> seen = new ArrayList<>();
            for (int i = 3; i <= 6; i++) {
                up.json(quote(10.0 + i * (i % 2 == 0 ? 1 : -1), 100 + i));
                int expected = i + 1;
                Await.isTrue(() -> points("/price") == expected, WAIT, "point " + expected + " of the price chart");
                seen.add(points("/price"));
            }
            assertEquals(List.of(4, 5, 6, 7), seen);
            String line = (String)
                    browser.js("return document.querySelector('[data-id=prices] .spark[data-path=\"/price\"] polyline')"
                            + ".getAttribute('points')");
            assertEquals(7, line.trim().split(" ").length, line);
            assertEquals("16", browser.text("[data-id=prices] .spark[data-path=\"/price\"] .now"));

            // the counters: 300 client reads against the upstream calls the service made meanwhile
            long readsBefore = data("[data-id=prices] .served", "data-reads");
            for (int i = 0; i < 300; i++) {
                assertEquals(200, svc.get("/api/sources/prices").statusCode());
            }
            Await.isTrue(
                    () -> data("[data-id=prices] .served", "data-reads") >= readsBefore + 300,
                    WAIT,
                    "the client reads counted on the card");
            JsonNode list = Json.MAPPER.readTree(svc.get("/api/sources").body());
            JsonNode entry = list.get("sources").get(0);
            assertTrue(entry.get("clientReads").asLong() >= 300, entry.toString());
            assertTrue(entry.get("upstreamCalls").asLong() > 0, entry.toString());
            assertTrue(entry.get("eventsServed").asLong() >= 4, "the page received the updates: " + entry);
            assertTrue(entry.get("streamsOpened").asLong() >= 1, entry.toString());
            assertTrue(entry.get("lastFetchSeconds").asDouble() >= 0, entry.toString());
            assertEquals(entry.get("clientReads"), list.at("/totals/clientReads"), list.toString());
            String served = browser.text("[data-id=prices] .served");
            assertTrue(served.matches(".*\\d[\\d,]* client reads.*\\d[\\d,]* upstream calls.*"), served);
            Await.isTrue(
                    () -> data("#totals", "data-reads") >= readsBefore + 300,
                    WAIT,
                    "the totals in the header move too");
            String totals = browser.text("#totals");
            assertTrue(totals.contains("client reads") && totals.contains("upstream calls"), totals);

            browser.screenshot("dashboard-value"); // the README's picture

            // the upstream's health: the last fetch and the next, then failures and backoff
            String health = browser.text("[data-id=prices] .health");
            assertTrue(health.contains("last fetch") && health.contains("next in"), health);
            up.reply(Upstream.Reply.status(500, "text/plain", "down"));
            Await.isTrue(
                    () -> browser.text("[data-id=prices] .health").contains("backing off"),
                    WAIT,
                    "the failures and the backoff show");
            up.json(quote(20.0, 200));
            Await.isTrue(() -> !browser.text("[data-id=prices] .health").contains("backing off"), WAIT, "recovered");

            browser.viewport(390, 844);
            try {
                Await.isTrue(() -> (Long) browser.js("return window.innerWidth") == 390, WAIT, "phone viewport");
                assertEquals(
                        true,
                        browser.js("return document.documentElement.scrollWidth <= window.innerWidth"),
                        "nothing sticks out sideways at phone width");
                assertEquals(
                        true,
                        browser.js("const s = document.querySelector('.spark svg').getBoundingClientRect();"
                                + " return s.width > 50 && s.right <= window.innerWidth;"),
                        "the charts fit");
                browser.screenshot("dashboard-value-phone");
            } finally {
                browser.viewport(0, 0);
            }
            assertFalse(browser.text("#totals").isEmpty());
        }
    }
}
