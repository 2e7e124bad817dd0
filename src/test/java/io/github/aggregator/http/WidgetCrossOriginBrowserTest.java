package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.NetworkLog;
import io.github.aggregator.testing.NetworkLog.Exchange;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Site;
import io.github.aggregator.testing.Upstream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code /widget.js} embedded in a page of ANOTHER origin, in a real headless Chromium: the page is a plain HTML file
 * served by its own HTTP server on another loopback port, and includes the widget by the service's absolute URL, as a
 * partner site would. The widget's requests are then cross-origin, and only {@code cors.allowedOrigins} lets the page
 * read them.
 *
 * <p>The browser sends the page's origin exactly as the page was loaded: {@code http://127.0.0.1:PORT} for a page
 * opened by that address, {@code http://localhost:PORT} for the same page opened by name. The two are different origins
 * to CORS.
 */
@ExtendWith(BrowserExtension.class)
class WidgetCrossOriginBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final Browser browser;
    private Upstream ticker;
    private Site site;
    private volatile Service svc; // read by the site's server threads
    private NetworkLog network;

    WidgetCrossOriginBrowserTest(Browser browser) {
        this.browser = browser;
    }

    @BeforeEach
    void start() {
        ticker = new Upstream().json(quote(10.5));
        site = new Site(() -> svc.uri("/widget.js")).body("""
                        <h1>ACME on a partner site</h1>
                        <p>Price: <span id="price" data-source="ticker" data-field="/quote/price" data-poll-seconds="1"></span></p>
                        """);
        network = new NetworkLog(browser);
    }

    @AfterEach
    void stop() {
        // leave the other origin's page first, so its widget does not keep reconnecting to the next test's service
        browser.driver().get("about:blank");
        if (svc != null) {
            svc.close();
        }
        site.close();
        ticker.close();
    }

    private static String quote(double price) {
        return "{\"quote\":{\"symbol\":\"ACME\",\"price\":" + price + "}}";
    }

    /** Starts the service on {@code port} (0: any) with {@code allowedOrigins} as {@code cors.allowedOrigins}. */
    private Service service(int port, String allowedOrigin) {
        return Service.start("""
                server:
                  port: %d
                  host: 127.0.0.1
                aggregator:
                  retry: 300ms
                  retrySpread: 0s
                  sources:
                    - id: ticker
                      url: %s/quote
                      interval: 200ms
                      maxBackoff: 400ms
                cors:
                  allowedOrigins: ["%s"]
                """.formatted(port, ticker.url(), allowedOrigin));
    }

    /** {@code http://127.0.0.1:PORT}: the origin the browser sends for a page opened by that address. */
    private String siteOrigin() {
        return site.url();
    }

    private String serviceOrigin() {
        return "http://127.0.0.1:" + svc.port();
    }

    /** Opens {@code url}, a page of the site by {@code 127.0.0.1} or by {@code localhost}. */
    private void load(String url) {
        String host = url.contains("//localhost:") ? "localhost" : "127.0.0.1";
        site.load(browser, network, host, url.replaceFirst("^https?://[^/]+", ""));
        assertNotEquals(serviceOrigin(), browser.js("return location.origin"), "the page is on another origin");
    }

    @Test
    void showsTheValueAndFollowsItOverServerSentEventsFromAnAllowedOrigin() throws Exception {
        int port = Ports.free();
        svc = service(port, siteOrigin());
        load(siteOrigin() + "/");

        Await.isTrue(() -> "10.5".equals(browser.text("#price")), WAIT, "the value on the other origin's page");
        assertEquals("sse", attribute("data-mode"));
        assertEquals("false", attribute("data-stale"));
        Exchange stream = only(network.exchanges(), "/api/events");
        assertEquals("EventSource", stream.type());
        assertEquals(siteOrigin(), stream.sent().get("Origin"), "the browser sent the page's origin");
        assertEquals(siteOrigin(), stream.received().get("Access-Control-Allow-Origin"), "and the service allowed it");
        assertNull(stream.corsError());

        ticker.json(quote(11.5));
        Await.isTrue(() -> "11.5".equals(browser.text("#price")), WAIT, "the new value, pushed");
        assertEquals("sse", attribute("data-mode"), "still streaming");
        List<Exchange> all = network.exchanges();
        assertFalse(all.stream().anyMatch(e -> e.is("/api/sources/ticker")), "no polling: " + all);
        assertFalse(all.stream().anyMatch(Exchange::preflight), "a first stream needs no preflight: " + all);

        // a restart drops the stream; the browser reconnects by itself and resumes with Last-Event-ID. Chromium's
        // EventSource sends that header (and Cache-Control, Pragma) without a preflight: they are the browser's own
        svc.close();
        ticker.json(quote(12.25));
        svc = service(port, siteOrigin());
        Await.isTrue(() -> "12.25".equals(browser.text("#price")), WAIT, "the value after the reconnect");
        assertEquals("sse", attribute("data-mode"), "the stream came back, no fallback to polling");
        List<Exchange> after = network.exchanges();
        assertTrue(
                after.stream()
                        .anyMatch(e -> e.is("/api/events")
                                && e.type().equals("EventSource")
                                && e.sent().containsKey("Last-Event-ID")
                                && siteOrigin().equals(e.received().get("Access-Control-Allow-Origin"))
                                && e.status() == 200),
                "the stream resumed with Last-Event-ID: " + after);
        assertFalse(after.stream().anyMatch(Exchange::preflight), "no preflight: " + after);

        // the same header set by a script (a fetch-based SSE client) is preflighted, and the preflight is allowed;
        // this also shows that the log above would have listed a preflight
        network.clear();
        Object answer = browser.driver()
                .executeAsyncScript("""
                        const [url, done] = arguments;
                        fetch(url, {headers: {'Last-Event-ID': '1'}}).then(r => done(r.status), e => done(String(e)));
                        """, svc.uri("/api/sources/ticker").toString());
        assertEquals(200L, answer);
        List<Exchange> scripted = network.exchanges();
        assertTrue(
                scripted.stream().anyMatch(e -> e.preflight() && e.is("/api/sources/ticker") && e.status() == 204),
                "a preflight, allowed: " + scripted);
        browser.screenshot("widget-cross-origin");
    }

    @Test
    void aPageFromAnOriginNotAllowedCannotReadTheData() throws Exception {
        // the same page by its other name: the browser will send http://127.0.0.1:PORT, which is not listed
        String other = "http://localhost:" + site.url().replaceFirst(".*:", "");
        svc = service(0, other);
        load(siteOrigin() + "/");

        // the stream is refused by the browser (no Access-Control-Allow-Origin), so the widget falls back to polling,
        // which the browser refuses as well
        List<Exchange> seen = new ArrayList<>();
        Await.isTrue(
                () -> {
                    seen.clear();
                    seen.addAll(network.exchanges());
                    return "poll".equals(attribute("data-mode"))
                            && seen.stream().anyMatch(e -> e.is("/api/sources/ticker") && e.corsError() != null);
                },
                WAIT,
                "the stream, then the poll, blocked by the browser");
        Exchange stream = only(seen, "/api/events");
        assertEquals("MissingAllowOriginHeader", stream.corsError(), "the stream was blocked by CORS: " + stream);
        assertEquals(siteOrigin(), stream.sent().get("Origin"));
        Exchange poll = seen.stream()
                .filter(e -> e.is("/api/sources/ticker"))
                .findFirst()
                .orElseThrow();
        assertEquals("MissingAllowOriginHeader", poll.corsError(), "the poll was blocked by CORS: " + poll);
        assertEquals(200, poll.status(), "the service answered, the browser withheld the answer from the page");
        assertEquals("", browser.text("#price"), "nothing shown");
        assertNull(attribute("data-version"));
        assertNull(attribute("data-stale"));
        // instead of sleeping: the widget's next poll, refused by the browser as well, proves time passed in the
        // page's own terms; still nothing shown after it
        long refused = seen.stream()
                .filter(e -> e.is("/api/sources/ticker") && e.corsError() != null)
                .count();
        Await.isTrue(
                () -> network.exchanges().stream()
                                .filter(e -> e.is("/api/sources/ticker") && e.corsError() != null)
                                .count()
                        > refused,
                WAIT,
                "the widget polled again, and the browser refused that poll too");
        assertEquals("", browser.text("#price"), "still nothing shown");

        // the very same page opened by the allowed name works
        load(other + "/");
        Await.isTrue(() -> "10.5".equals(browser.text("#price")), WAIT, "the value for the allowed origin");
        assertEquals("sse", attribute("data-mode"));
    }

    @Test
    void pollsFromAnAllowedOriginWithoutPreflights() throws Exception {
        svc = service(0, siteOrigin());
        load(siteOrigin() + "/poll");
        assertEquals("undefined", browser.js("return typeof EventSource"));

        Await.isTrue(() -> "10.5".equals(browser.text("#price")), WAIT, "the value, by polling");
        assertEquals("poll", attribute("data-mode"));
        ticker.json(quote(13.25));
        Await.isTrue(() -> "13.25".equals(browser.text("#price")), WAIT, "the new value at the next poll");

        // unchanged now: once max-age is over the browser's cache revalidates with If-None-Match, which the page did
        // not set, so the request stays simple and is not preflighted
        List<Exchange> seen = Await.until(
                network::exchanges,
                all -> all.stream().anyMatch(e -> e.is("/api/sources/ticker") && e.status() == 304),
                WAIT);
        Exchange revalidation = seen.stream()
                .filter(e -> e.is("/api/sources/ticker") && e.status() == 304)
                .findFirst()
                .orElseThrow();
        assertTrue(
                revalidation.sent().getOrDefault("If-None-Match", "").startsWith("\""),
                "the revalidation sent If-None-Match: " + revalidation);
        assertEquals(siteOrigin(), revalidation.received().get("Access-Control-Allow-Origin"));
        assertNull(revalidation.corsError());
        List<Exchange> polls =
                seen.stream().filter(e -> e.is("/api/sources/ticker")).toList();
        assertTrue(polls.stream().allMatch(e -> e.corsError() == null), "no poll was blocked: " + polls);
        assertFalse(seen.stream().anyMatch(Exchange::preflight), "no preflight: " + seen);
        assertFalse(seen.stream().anyMatch(e -> e.url().contains("/events")), "no stream: " + seen);
        assertEquals("13.25", browser.text("#price"), "a 304 keeps the value");
    }

    /** The one exchange for {@code path} that is not a preflight; fails when there is none or more. */
    private static Exchange only(List<Exchange> all, String path) {
        List<Exchange> found =
                all.stream().filter(e -> e.is(path) && !e.preflight()).toList();
        assertEquals(1, found.size(), "one request for " + path + ": " + all);
        return found.getFirst();
    }

    private String attribute(String name) {
        return browser.attribute("#price", name);
    }
}
