package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dashboard at {@code /} in a real headless Chromium, against the real service and real upstreams: what a person
 * looking at the page sees when values change, when an upstream fails and heals, and when the server goes away.
 */
@ExtendWith(BrowserExtension.class)
class DashboardBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Fast polling, fast backoff and a short, fixed SSE reconnect delay, so the test is quick. */
    private static final String SOURCES = """
              retry: 300ms
              retrySpread: 0s
              sources:
                - id: prices
                  url: %s/prices
                  interval: 200ms
                  maxBackoff: 400ms
                - id: weather
                  url: %s/weather
                  interval: 200ms
                - id: board
                  combine: [prices, weather]
            """;

    private final Browser browser;

    DashboardBrowserTest(Browser browser) {
        this.browser = browser;
    }

    @Test
    void showsEverySourceLiveWithStaleBadgeAndConnection() throws Exception {
        try (Upstream prices = new Upstream().json("{\"price\":1.5,\"currency\":\"EUR\"}");
                Upstream weather = new Upstream().json("{\"temp\":21,\"sky\":\"clear\"}");
                Service svc = Service.start("aggregator:\n" + SOURCES.formatted(prices.url(), weather.url()))) {
            browser.driver().get(svc.uri("/").toString());

            Await.isTrue(() -> "connected".equals(browser.text("#connection")), WAIT, "the indicator says connected");
            assertEquals("connected", browser.find("#connection").getDomAttribute("data-state"));
            assertEquals(
                    List.of("prices", "weather", "board"), cardIds(browser), "one card per source, in config order");
            assertEquals("combines prices, weather", browser.text("[data-id=board] .origin"));

            Await.isTrue(
                    () -> value(browser, "prices").contains("\"price\": 1.5"), WAIT, "the first value, pretty-printed");
            Await.isTrue(
                    () -> value(browser, "weather").contains("\"sky\": \"clear\""), WAIT, "the other source's value");
            Await.isTrue(() -> value(browser, "board").contains("\"temp\": 21"), WAIT, "the combined value");
            String before = browser.text("[data-id=prices] .version");
            assertTrue(before.matches("v\\d+"), before);

            prices.json("{\"price\":2.25,\"currency\":\"EUR\"}");
            Await.isTrue(() -> value(browser, "prices").contains("\"price\": 2.25"), WAIT, "the new value on the page");
            Await.isTrue(() -> value(browser, "board").contains("\"price\": 2.25"), WAIT, "the combined value follows");
            assertFalse(before.equals(browser.text("[data-id=prices] .version")), "the version moved on");
            assertFalse(browser.find("[data-id=prices] .stale").isDisplayed(), "no stale badge while healthy");

            prices.reply(Upstream.Reply.status(500, "text/plain", "java.lang.IllegalStateException: boom"));
            Await.isTrue(() -> browser.find("[data-id=prices] .stale").isDisplayed(), WAIT, "the stale badge appears");
            String badge = browser.find("[data-id=prices] .stale").getText();
            assertTrue(badge.startsWith("stale: HTTP 500"), badge);
            assertFalse(badge.contains("IllegalStateException"), "the reason, not the upstream's body: " + badge);
            assertTrue(
                    value(browser, "prices").contains("\"price\": 2.25"),
                    "the last good value stays: " + value(browser, "prices"));
            assertFalse(browser.find("[data-id=weather] .stale").isDisplayed(), "only the failing source is stale");
            Path desktop = browser.screenshot("dashboard");

            prices.json("{\"price\":3.75,\"currency\":\"EUR\"}");
            Await.isTrue(
                    () -> !browser.find("[data-id=prices] .stale").isDisplayed(),
                    WAIT,
                    "the badge goes away on recovery");
            Await.isTrue(() -> value(browser, "prices").contains("\"price\": 3.75"), WAIT, "the value after recovery");
            assertEquals("connected", browser.text("#connection"));

            String changed = browser.text("[data-id=weather] .changed");
            assertTrue(changed.matches("changed \\d+ s ago"), changed);
            Await.isTrue(
                    () -> !changed.equals(browser.text("[data-id=weather] .changed")),
                    Duration.ofSeconds(3),
                    "the time since the last change ticks");

            browser.find("[data-id=weather] summary").click();
            assertEquals(false, browser.js("return document.querySelector('[data-id=weather] details').open"));
            assertFalse(browser.find("[data-id=weather] .value").isDisplayed(), "the value collapses");

            browser.viewport(390, 844);
            try {
                Await.isTrue(() -> (Long) browser.js("return window.innerWidth") == 390, WAIT, "phone viewport");
                assertEquals(
                        true,
                        browser.js("return document.documentElement.scrollWidth <= window.innerWidth"),
                        "nothing sticks out sideways at phone width");
                assertEquals(
                        true,
                        browser.js("const [a, b] = document.querySelectorAll('.card');"
                                + " return b.getBoundingClientRect().top >= a.getBoundingClientRect().bottom"
                                + " && a.getBoundingClientRect().right <= window.innerWidth;"),
                        "cards stack in one column");
                Path phone = browser.screenshot("dashboard-phone");
                assertTrue(Files.size(desktop) > 10_000 && Files.size(phone) > 5_000, "screenshots were written");
            } finally {
                browser.viewport(0, 0);
            }
        }
    }

    @Test
    void saysReconnectingWhileTheServerIsGoneAndResumesWhenItIsBack() throws Exception {
        int port = Ports.free();
        String yaml = "server:\n  port: " + port + "\n  host: 127.0.0.1\naggregator:\n" + SOURCES;
        try (Upstream prices = new Upstream().json("{\"price\":1}");
                Upstream weather = new Upstream().json("{\"temp\":1}")) {
            String config = yaml.formatted(prices.url(), weather.url());
            try (Service first = Service.start(config)) {
                browser.driver().get(first.uri("/").toString());
                Await.isTrue(() -> value(browser, "prices").contains("\"price\": 1"), WAIT, "the first value");
                prices.json("{\"price\":2}");
                Await.isTrue(() -> value(browser, "prices").contains("\"price\": 2"), WAIT, "the second value");
                prices.json("{\"price\":3}");
                Await.isTrue(() -> value(browser, "prices").contains("\"price\": 3"), WAIT, "the third value");
                assertEquals("connected", browser.text("#connection"));
            }
            Await.isTrue(
                    () -> "reconnecting".equals(browser.find("#connection").getDomAttribute("data-state")),
                    WAIT,
                    "the indicator says reconnecting once the server is gone");
            prices.json("{\"price\":4}");
            try (Service second = Service.start(config)) {
                Await.isTrue(
                        () -> "connected".equals(browser.text("#connection")),
                        WAIT,
                        "the browser reconnects by itself");
                Await.isTrue(
                        () -> value(browser, "prices").contains("\"price\": 4"),
                        WAIT,
                        "the restarted server's value (the stream resumed with Last-Event-ID)");
                assertEquals(List.of("prices", "weather", "board"), cardIds(browser));
            }
        }
    }

    /** The source ids of the plain sources' cards on the page (not templates' or instances'), in page order. */
    @SuppressWarnings("unchecked")
    static List<String> cardIds(Browser browser) {
        return (List<String>) browser.js(
                "return [...document.querySelectorAll('.card[data-id]:not([data-of])')].map(c => c.dataset.id)");
    }

    /** The value shown on source {@code id}'s card; empty before it has one. */
    static String value(Browser browser, String id) {
        String v = browser.text("[data-id=" + id + "] .value");
        return v == null ? "" : v;
    }
}
