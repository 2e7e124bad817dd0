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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.logging.LogEntry;

/**
 * {@code /widget.js} in a real headless Chromium: an element with {@code data-source} shows the source's value and
 * follows its changes, over Server-Sent Events, or by polling with conditional requests when the page has no
 * {@code EventSource}.
 *
 * <p>The host page is the service's own {@code /} with the element and the script added to it, i.e. the same origin;
 * {@link WidgetCrossOriginBrowserTest} embeds it in a page of another origin. The script is included by its absolute
 * URL, as a site would.
 */
@ExtendWith(BrowserExtension.class)
class WidgetBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final Browser browser;
    private Upstream upstream;
    private Service svc;

    WidgetBrowserTest(Browser browser) {
        this.browser = browser;
    }

    @BeforeEach
    void start() {
        upstream = new Upstream().json(quote(10.5));
        svc = Service.start("""
                aggregator:
                  sources:
                    - id: ticker
                      url: %s/quote
                      interval: 200ms
                      maxBackoff: 400ms
                """.formatted(upstream.url()));
    }

    @AfterEach
    void stop() {
        svc.close();
        upstream.close();
    }

    private static String quote(double price) {
        return "{\"quote\":{\"symbol\":\"ACME\",\"price\":" + price + "}}";
    }

    @Test
    void showsTheValueAndFollowsItOverServerSentEvents() throws Exception {
        browser.driver().get(svc.uri("/").toString());
        include(Map.of("id", "price", "data-source", "ticker", "data-field", "/quote/price"));
        include(Map.of("id", "whole", "data-source", "ticker"));

        Await.isTrue(() -> "10.5".equals(browser.text("#price")), WAIT, "the field's value in the element");
        assertEquals("sse", attribute("#price", "data-mode"));
        assertEquals("false", attribute("#price", "data-stale"));
        // two elements, one stream: the whole source and its field are two entries of it
        Await.isTrue(() -> !browser.text("#whole").isEmpty(), WAIT, "the whole value in the second element");
        JsonNode whole = Json.MAPPER.readTree(browser.text("#whole"));
        assertEquals("ACME", whole.at("/quote/symbol").asText(), "without data-field, the whole value as JSON");

        upstream.json(quote(11.5));
        Await.isTrue(() -> "11.5".equals(browser.text("#price")), WAIT, "the new value, pushed");
        Await.isTrue(() -> browser.text("#whole").contains("11.5"), WAIT, "every element of the source follows");

        upstream.reply(Upstream.Reply.status(500, "text/plain", "boom"));
        Await.isTrue(() -> "true".equals(attribute("#price", "data-stale")), WAIT, "marked stale");
        assertTrue(attribute("#price", "title").startsWith("stale: HTTP 500"), attribute("#price", "title"));
        assertEquals("11.5", browser.text("#price"), "the last good value stays");
        upstream.json(quote(12.75));
        Await.isTrue(() -> "false".equals(attribute("#price", "data-stale")), WAIT, "not stale after recovery");
        Await.isTrue(() -> "12.75".equals(browser.text("#price")), WAIT, "the value after recovery");
        assertEquals(null, attribute("#price", "title"));
    }

    @Test
    void pollsWithConditionalRequestsWithoutEventSource() throws Exception {
        browser.driver().get(svc.uri("/").toString());
        browser.driver().manage().logs().get("performance"); // drop what the page load logged
        browser.js("delete window.EventSource");
        assertEquals("undefined", browser.js("return typeof EventSource"));
        include(Map.of("id", "price", "data-source", "ticker", "data-field", "quote.price", "data-poll-seconds", "1"));

        Await.isTrue(() -> "10.5".equals(browser.text("#price")), WAIT, "the value, by polling");
        assertEquals("poll", attribute("#price", "data-mode"));
        upstream.json(quote(13.25));
        Await.isTrue(() -> "13.25".equals(browser.text("#price")), WAIT, "the new value at the next poll");

        // the value stays put now: once the response's max-age (1 s) is over, the browser revalidates it
        List<Exchange> seen = new ArrayList<>();
        Await.until(
                () -> {
                    seen.addAll(exchanges("/api/sources/ticker"));
                    return List.copyOf(seen);
                },
                all -> all.stream().anyMatch(e -> e.status() == 304),
                WAIT);
        Exchange notModified =
                seen.stream().filter(e -> e.status() == 304).findFirst().orElseThrow();
        assertTrue(
                notModified.ifNoneMatch() != null && notModified.ifNoneMatch().startsWith("\""),
                "the poll sent If-None-Match: " + notModified);
        assertFalse(seen.stream().anyMatch(e -> e.url().contains("/events")), "no stream was opened: " + seen);
        assertEquals("13.25", browser.text("#price"), "a 304 keeps the value");
    }

    /** Adds an element with {@code attributes} and then the widget script, by its absolute URL, to the page. */
    private void include(Map<String, String> attributes) {
        browser.includeWidget(svc.uri("/widget.js").toString(), attributes);
    }

    private String attribute(String css, String name) {
        return browser.attribute(css, name);
    }

    /** One request/response pair from Chromium's network log: what went over the wire, cache revalidations included. */
    record Exchange(String url, int status, String ifNoneMatch) {}

    /** The network exchanges logged since the last call whose URL ends with {@code path}. */
    private List<Exchange> exchanges(String path) {
        Map<String, String> urls = new HashMap<>();
        Map<String, String> conditions = new HashMap<>();
        Map<String, Integer> statuses = new HashMap<>();
        for (LogEntry entry : browser.driver().manage().logs().get("performance")) {
            JsonNode message;
            try {
                message = Json.MAPPER.readTree(entry.getMessage()).path("message");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            JsonNode params = message.path("params");
            String id = params.path("requestId").asText();
            switch (message.path("method").asText()) {
                case "Network.requestWillBeSent" ->
                    urls.put(id, params.path("request").path("url").asText());
                case "Network.requestWillBeSentExtraInfo" -> {
                    JsonNode inm = params.path("headers").path("If-None-Match");
                    if (!inm.isMissingNode()) {
                        conditions.put(id, inm.asText());
                    }
                }
                case "Network.responseReceivedExtraInfo" ->
                    statuses.put(id, params.path("statusCode").asInt());
                default -> {}
            }
        }
        List<Exchange> out = new ArrayList<>();
        urls.forEach((id, url) -> {
            String u = url.replaceFirst("[?#].*$", "");
            if ((u.endsWith(path) || u.contains(path + "/")) && statuses.containsKey(id)) {
                out.add(new Exchange(url, statuses.get(id), conditions.get(id)));
            }
        });
        return out;
    }
}
