package io.github.aggregator.http;

import static io.github.aggregator.http.DashboardBrowserTest.cardIds;
import static io.github.aggregator.http.DashboardBrowserTest.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.app.Aggregator;
import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.ConfigSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dashboard in a real headless Chromium against the config the repository ships ({@code config/application.yaml})
 * as it is, with only {@code PORT=0} in the environment: what someone sees on a fresh checkout, offline and without
 * an API key. Every enabled source gets a card and a value, and the demo ticker visibly moves.
 */
@ExtendWith(BrowserExtension.class)
class DashboardShippedConfigBrowserTest {
    private static final Path SHIPPED = Path.of("config", "application.yaml");
    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void showsEveryShippedSourceLive(Browser browser) throws Exception {
        Map<String, String> env = Map.of("PORT", "0"); // nothing else: no APIVERVE_API_KEY, so weather is off
        ConfigFile config = ConfigSchema.load(SHIPPED, env);
        List<String> enabled = config.aggregator().sources().stream()
                .filter(SourceConfig::enabled)
                .map(SourceConfig::id)
                .toList();
        assertEquals(List.of("demo-ticker", "demo-clock", "demo-board"), enabled, "the shipped demo sources");
        assertTrue(
                config.aggregator().sources().stream().anyMatch(s -> !s.enabled()),
                "the shipped config also has a source that is off without its API key");

        try (Aggregator app = Aggregator.start(config, Clock.systemUTC(), env)) {
            browser.driver().get("http://127.0.0.1:" + app.port() + "/");

            Await.isTrue(() -> "connected".equals(browser.text("#connection")), WAIT, "the indicator says connected");
            assertEquals(enabled, cardIds(browser), "one card per enabled source, in config order");
            assertEquals("combines demo-ticker, demo-clock", browser.text("[data-id=demo-board] .origin"));
            for (String id : enabled) {
                Await.isTrue(() -> !value(browser, id).isEmpty(), WAIT, "a value for " + id);
                assertFalse(browser.find("[data-id=" + id + "] .stale").isDisplayed(), id + " is not stale");
            }
            assertTrue(value(browser, "demo-ticker").contains("\"price\": "), value(browser, "demo-ticker"));
            assertTrue(
                    value(browser, "demo-clock").matches("\\d\\d:\\d\\d:\\d\\d"),
                    "the clock's selected /utc: " + value(browser, "demo-clock"));
            // the combined source's first version may come a moment after its parts' (the card says "waiting" till
            // then)
            Await.isTrue(
                    () -> value(browser, "demo-board").contains("\"price\": "),
                    WAIT,
                    "the combined value with a price");

            // the ticker moves every ~2 s
            long before = version(browser, "demo-ticker");
            String price = value(browser, "demo-ticker");
            Await.isTrue(() -> version(browser, "demo-ticker") > before, Duration.ofSeconds(6), "the version moves on");
            Await.isTrue(
                    () -> !price.equals(value(browser, "demo-ticker")),
                    Duration.ofSeconds(6),
                    "the value on the page changes");
            assertEquals("connected", browser.text("#connection"));

            Path shot = browser.screenshot("dashboard-shipped");
            assertTrue(Files.size(shot) > 10_000, "the screenshot was written");
        }
    }

    /** The version shown on the card, e.g. 12 for {@code v12}; 0 before the first. */
    private static long version(Browser browser, String id) {
        String v = browser.text("[data-id=" + id + "] .version");
        return v == null || !v.matches("v\\d+") ? 0 : Long.parseLong(v.substring(1));
    }
}
