package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.NetworkLog;
import io.github.aggregator.testing.NetworkLog.Exchange;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code /widget.js} with {@code data-token} in a real headless Chromium, on sources marked {@code access: token}: the
 * right key shows the value over Server-Sent Events and by polling, the token travelling as the {@code access_token}
 * query parameter; a wrong key, or one that does not cover the source, shows nothing and sets {@code data-error}, and
 * the widget stops asking. The token never appears in what the widget writes into the page.
 */
@ExtendWith(BrowserExtension.class)
class WidgetTokenBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Characters that must be encoded in a query, to check that the widget encodes it. */
    private static final String KEY = "w1dget+key/with=odd&chars-0123456789";

    private static final String WRONG = "not-the-widget-key-0123456789";
    private final Browser browser;
    private Upstream upstream;
    private Service svc;
    private NetworkLog network;

    WidgetTokenBrowserTest(Browser browser) {
        this.browser = browser;
    }

    @BeforeEach
    void start() {
        upstream = new Upstream().json(quote(10.5));
        svc = Service.start("""
                aggregator:
                  sources:
                    - id: secret
                      url: %1$s/quote
                      interval: 200ms
                      maxBackoff: 400ms
                      access: token
                    - id: other
                      url: %1$s/quote
                      interval: 200ms
                      maxBackoff: 400ms
                      access: token
                access:
                  keys:
                    - key: ${WIDGET_KEY}
                      sources: [secret]
                """.formatted(upstream.url()), Map.of("WIDGET_KEY", KEY));
        network = new NetworkLog(browser);
    }

    @AfterEach
    void stop() {
        browser.driver().get("about:blank"); // no widget left reconnecting to the next test's service
        svc.close();
        upstream.close();
    }

    private static String quote(double price) {
        return "{\"quote\":{\"symbol\":\"ACME\",\"price\":" + price + "}}";
    }

    @Test
    void theRightTokenShowsTheValueOverServerSentEvents() throws Exception {
        load();
        include(Map.of("id", "price", "data-source", "secret", "data-field", "/quote/price", "data-token", KEY));

        Await.isTrue(() -> "10.5".equals(browser.text("#price")), WAIT, "the token source's value in the element");
        assertEquals("sse", attribute("#price", "data-mode"));
        assertNull(attribute("#price", "data-error"));
        upstream.json(quote(11.5));
        Await.isTrue(() -> "11.5".equals(browser.text("#price")), WAIT, "the new value, pushed");

        List<Exchange> all = network.exchanges();
        Exchange stream = all.stream()
                .filter(e -> e.is("/api/events"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no stream: " + all));
        assertEquals("EventSource", stream.type());
        assertEquals(200, stream.status());
        assertTrue(
                stream.url().endsWith("/api/events?sources=secret/quote/price&access_token=" + encoded(KEY)),
                "the token, encoded: " + stream.url());
        assertFalse(all.stream().anyMatch(e -> e.is("/api/sources/secret")), "no polling: " + all);
        assertNoTokenShown("#price");
    }

    @Test
    void aWrongTokenOrOneThatDoesNotCoverTheSourceShowsNothingAndSaysWhy() throws Exception {
        load();
        include(Map.of("id", "wrong", "data-source", "secret", "data-poll-seconds", "1", "data-token", WRONG));
        include(Map.of("id", "uncovered", "data-source", "other", "data-poll-seconds", "1", "data-token", KEY));

        // the stream is refused (401 / 403), so the widget polls once, which tells it why, and stops
        Await.isTrue(
                () -> "access token missing or not valid".equals(attribute("#wrong", "data-error")),
                WAIT,
                "the 401 reason on the element with the wrong token");
        Await.isTrue(
                () -> "access token does not cover \"other\"".equals(attribute("#uncovered", "data-error")),
                WAIT,
                "the 403 reason on the element whose token does not cover its source");
        for (String el : List.of("#wrong", "#uncovered")) {
            assertEquals("", browser.text(el), "nothing shown in " + el);
            assertNull(attribute(el, "data-version"), el);
            assertEquals("poll", attribute(el, "data-mode"), el);
        }
        // no further request within two poll periods and a half, counted in the page's own time rather than by a
        // sleep here: a page timer that long, then a marker request. The page runs its timers in order, so every
        // poll the widgets scheduled before it had its turn, and its request was logged before the marker's.
        String marker = svc.uri("/api/sources").toString() + "?after=2500ms";
        browser.driver().executeAsyncScript("""
                        const [url, done] = arguments;
                        setTimeout(() => fetch(url).then(r => done(r.status), e => done(String(e))), 2500);
                        """, marker);
        Await.isTrue(
                () -> network.exchanges().stream().anyMatch(e -> e.url().equals(marker) && e.status() != 0),
                WAIT,
                "the page's marker request after two poll periods and a half");
        List<Exchange> all = network.exchanges();
        assertEquals(List.of(401, 401), statuses(all, "secret"), "one refused stream and one refused poll: " + all);
        assertEquals(List.of(403, 403), statuses(all, "other"), "one refused stream and one refused poll: " + all);
        assertTrue(
                all.stream()
                        .filter(e -> e.is("/api/sources/secret"))
                        .allMatch(e -> e.url().endsWith("?access_token=" + WRONG)),
                "the polls carried the token too: " + all);
        assertEquals("access token missing or not valid", attribute("#wrong", "data-error"));
        assertNoTokenShown("#wrong");
        assertNoTokenShown("#uncovered");
    }

    @Test
    void pollsATokenSourceWithTheTokenWithoutEventSource() throws Exception {
        load();
        browser.js("delete window.EventSource");
        include(Map.of(
                "id", "price",
                "data-source", "secret",
                "data-field", "quote.price",
                "data-poll-seconds", "1",
                "data-token", KEY));

        Await.isTrue(() -> "10.5".equals(browser.text("#price")), WAIT, "the value, by polling");
        assertEquals("poll", attribute("#price", "data-mode"));
        upstream.json(quote(13.25));
        Await.isTrue(() -> "13.25".equals(browser.text("#price")), WAIT, "the new value at the next poll");
        assertNull(attribute("#price", "data-error"));
        List<Exchange> polls = network.exchanges().stream()
                .filter(e -> e.is("/api/sources/secret"))
                .toList();
        assertFalse(polls.isEmpty());
        assertTrue(
                polls.stream()
                        .allMatch(e -> e.url()
                                .endsWith("/api/sources/secret?select=%2Fquote%2Fprice&access_token=" + encoded(KEY))),
                "every poll carried the token: " + polls);
        assertNoTokenShown("#price");
    }

    private void load() {
        browser.driver().get(svc.uri("/").toString());
        network.clear();
    }

    /** Adds an element with {@code attributes} and then the widget script, by its absolute URL, to the page. */
    private void include(Map<String, String> attributes) {
        browser.includeWidget(svc.uri("/widget.js").toString(), attributes);
    }

    /**
     * The statuses of the requests (not preflights) for source {@code id}, its stream and its polls, in the order they
     * were sent.
     */
    private static List<Integer> statuses(List<Exchange> all, String id) {
        return all.stream()
                .filter(e -> !e.preflight()
                        && (e.is("/api/sources/" + id)
                                || e.is("/api/events") && e.url().contains("sources=" + id)))
                .map(Exchange::status)
                .toList();
    }

    /** Nothing the widget wrote into the element (text, attributes other than data-token) holds a token. */
    private void assertNoTokenShown(String css) {
        String shown = (String) browser.js("""
                const el = document.querySelector(arguments[0]).cloneNode(true);
                el.removeAttribute('data-token');
                return el.outerHTML;
                """, css);
        for (String token : List.of(KEY, WRONG, encoded(KEY))) {
            assertFalse(shown.contains(token), css + " shows a token: " + shown);
        }
    }

    private String attribute(String css, String name) {
        return browser.attribute(css, name);
    }

    private static String encoded(String token) {
        return URLEncoder.encode(token, StandardCharsets.UTF_8);
    }
}
