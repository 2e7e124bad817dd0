package io.github.aggregator.http;

import static io.github.aggregator.http.DashboardBrowserTest.cardIds;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dashboard with a parametrised source, in a real headless Chromium against a real service and upstream: the
 * template's card with its rules and live instances (params, version, state, subscribers, next fetch), a card per
 * instance with its value and sparklines, instances that appear later, an instance going idle although the dashboard
 * is open (it does not subscribe to instances), and the page at phone width.
 */
@ExtendWith(BrowserExtension.class)
class DashboardInstancesBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private final Map<String, String> prices = new ConcurrentHashMap<>();

    private String quote(String symbol) {
        return "{\"symbol\":\"" + symbol + "\",\"price\":" + prices.getOrDefault(symbol, "1") + "}";
    }

    private static String row(Browser browser, String instance) {
        return (String) browser.js(
                "const r = document.querySelector('[data-template=quote] tr[data-instance=\"' + arguments[0] + '\"]');"
                        + " return r ? [...r.cells].map(c => c.textContent).join(' | ') : null;",
                instance);
    }

    private static int points(Browser browser, String instance) {
        Object n = browser.js(
                "const f = document.querySelector('.card[data-id=\"' + arguments[0] + '\"] .spark[data-path=\"/price\"]');"
                        + " return f ? Number(f.dataset.points) : 0;",
                instance);
        return ((Number) n).intValue();
    }

    private static String value(Browser browser, String instance) {
        return (String) browser.js(
                "const v = document.querySelector('.card[data-id=\"' + arguments[0] + '\"] .value');"
                        + " return v ? v.textContent : '';",
                instance);
    }

    @Test
    void showsTheTemplateItsLiveInstancesAndTheirValues(Browser browser) throws Exception {
        try (Upstream up = new Upstream()) {
            up.reply(Upstream.Reply.custom(exchange -> {
                String path = exchange.getRequestURI().getPath();
                TransformTest.send(
                        exchange,
                        "application/json",
                        path.startsWith("/quote/") ? quote(path.substring(7)) : "{\"t\":1}");
            }));
            try (Service svc = Service.start("""
                    aggregator:
                      sources:
                        - id: clock
                          url: %1$s/clock
                          interval: 1h
                        - id: quote
                          url: %1$s/quote/{symbol}
                          interval: 300ms
                          idleAfter: 1s
                          params:
                            symbol:
                              values: [ACME, INIT, BQ]
                              default: ACME
                    """.formatted(up.url()))) {
                browser.driver().get(svc.uri("/").toString());
                Await.isTrue(() -> "connected".equals(browser.text("#connection")), WAIT, "connected");
                assertEquals(List.of("clock"), cardIds(browser), "the plain source's card");
                assertEquals("quote", browser.text("[data-template=quote] .name"));
                assertEquals(
                        "symbol: one of ACME, INIT, BQ (default ACME) · at most 100 instances",
                        browser.text("[data-template=quote] .rules"));
                assertTrue(
                        browser.text("[data-template=quote] .count").startsWith("no live instance"),
                        browser.text("[data-template=quote] .count"));

                // a subscriber of ACME and one read of INIT: both appear, with their own cards and values
                prices.put("ACME", "10.5");
                prices.put("INIT", "3");
                try (SseClient acme =
                        SseClient.open(svc.client(), svc.uri("/api/events?sources=quote(symbol%3DACME)"))) {
                    assertEquals(200, acme.status());
                    assertEquals(200, svc.get("/api/sources/quote?symbol=INIT").statusCode());
                    Await.isTrue(
                            () -> row(browser, "quote(symbol=ACME)") != null
                                    && row(browser, "quote(symbol=INIT)") != null,
                            WAIT,
                            "both instances listed");
                    Await.isTrue(
                            () -> row(browser, "quote(symbol=ACME)")
                                    .matches("symbol=ACME \\| v\\d+ \\| active \\| 1 \\| in .+"),
                            WAIT,
                            "ACME: params, version, state, its one subscriber, next fetch: "
                                    + row(browser, "quote(symbol=ACME)"));
                    Await.isTrue(
                            () -> value(browser, "quote(symbol=ACME)").contains("\"price\": 10.5"),
                            WAIT,
                            "ACME's value on its card");
                    Await.isTrue(
                            () -> value(browser, "quote(symbol=INIT)").contains("\"price\": 3"),
                            WAIT,
                            "INIT's value on its card");
                    assertEquals("quote · symbol=ACME", browser.text(".card[data-id=\"quote(symbol=ACME)\"] .name"));

                    // ACME's price moves: its card and sparkline follow
                    int before = points(browser, "quote(symbol=ACME)");
                    prices.put("ACME", "11.25");
                    Await.isTrue(
                            () -> value(browser, "quote(symbol=ACME)").contains("\"price\": 11.25"),
                            WAIT,
                            "ACME's new value");
                    prices.put("ACME", "12");
                    Await.isTrue(
                            () -> points(browser, "quote(symbol=ACME)") >= before + 2,
                            WAIT,
                            "ACME's sparkline grows: " + points(browser, "quote(symbol=ACME)"));

                    // nobody reads INIT any more: it goes idle, the open dashboard does not keep it polled
                    Await.isTrue(
                            () -> row(browser, "quote(symbol=INIT)").contains("| idle |"),
                            WAIT,
                            "INIT idle: " + row(browser, "quote(symbol=INIT)"));
                    assertTrue(row(browser, "quote(symbol=INIT)").endsWith("idle until read"));

                    // an instance that appears later shows up
                    prices.put("BQ", "7.5");
                    assertEquals(200, svc.get("/api/sources/quote?symbol=BQ").statusCode());
                    Await.isTrue(
                            () -> value(browser, "quote(symbol=BQ)").contains("\"price\": 7.5"),
                            WAIT,
                            "BQ's card with its value");
                    assertTrue(
                            browser.text("[data-template=quote] .count").startsWith("3 live instances"),
                            browser.text("[data-template=quote] .count"));
                    // the template's counters: every instance's reads and upstream calls, and the stream of ACME
                    Await.isTrue(
                            () -> Integer.parseInt(browser.attribute("[data-template=quote] .served", "data-reads"))
                                            >= 2
                                    && Integer.parseInt(
                                                    browser.attribute("[data-template=quote] .served", "data-calls"))
                                            >= 3
                                    && browser.text("[data-template=quote] .streams")
                                            .equals("1 streams"),
                            WAIT,
                            "the template's counters: " + browser.text("[data-template=quote] .served"));
                    browser.screenshot("dashboard-instances");

                    browser.viewport(390, 844);
                    try {
                        Await.isTrue(
                                () -> (Long) browser.js("return window.innerWidth") == 390, WAIT, "phone viewport");
                        assertEquals(
                                true,
                                browser.js("return document.documentElement.scrollWidth <= window.innerWidth"),
                                "nothing sticks out sideways at phone width");
                        assertEquals(
                                true,
                                browser.js("const w = document.querySelector('[data-template=quote] .instances-wrap');"
                                        + " return w.scrollWidth <= w.clientWidth"
                                        + " && w.getBoundingClientRect().right <= window.innerWidth;"),
                                "the instances' table fits without scrolling sideways");
                        browser.screenshot("dashboard-instances-phone");
                    } finally {
                        browser.viewport(0, 0);
                    }
                }
            }
        }
    }
}
