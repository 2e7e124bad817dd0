package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.NetworkLog;
import io.github.aggregator.testing.NetworkLog.Exchange;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Site;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code /widget.js} with twelve sources (more than the six HTTP/1.1 connections a browser opens per origin) on a
 * page of another origin, in a real headless Chromium: one multiplexed stream for all public entries and one for a
 * token, fields followed on their own, elements added later, a resume after a restart, a refused stream falling back
 * to polling, and stop().
 */
@ExtendWith(BrowserExtension.class)
class WidgetManySourcesBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final int SOURCES = 12;
    private static final String KEY = "widget-key-0123456789";
    private final Browser browser;
    private final Map<String, String> values = new ConcurrentHashMap<>();
    private Upstream upstream;
    private Site site;
    private volatile Service svc;
    private NetworkLog network;

    WidgetManySourcesBrowserTest(Browser browser) {
        this.browser = browser;
    }

    @BeforeEach
    void start() {
        for (int i = 1; i <= SOURCES + 2; i++) {
            set(id(i), i * 10, "a");
        }
        set("secret", 7, "a");
        upstream = new Upstream().reply(Upstream.Reply.custom(this::answer));
        site = new Site(() -> svc.uri("/widget.js")).title("Many sources");
        network = new NetworkLog(browser);
    }

    @AfterEach
    void stop() {
        browser.driver().get("about:blank");
        if (svc != null) {
            svc.close();
        }
        site.close();
        upstream.close();
    }

    private static String id(int i) {
        return "s%02d".formatted(i);
    }

    private void set(String id, int value, String other) {
        values.put(id, "{\"v\":" + value + ",\"other\":\"" + other + "\"}");
    }

    private void answer(HttpExchange exchange) throws IOException {
        String id = exchange.getRequestURI().getPath().substring(1);
        byte[] bytes = values.getOrDefault(id, "{}").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private Service service(int port) {
        StringBuilder sources = new StringBuilder();
        for (int i = 1; i <= SOURCES + 2; i++) {
            sources.append(source(id(i), ""));
        }
        sources.append(source("secret", "      access: token\n"));
        return Service.start("""
                server:
                  port: %d
                  host: 127.0.0.1
                aggregator:
                  retry: 300ms
                  retrySpread: 0s
                  heartbeat: 200ms
                  sources:
                %s
                access:
                  keys:
                    - key: %s
                      sources: [secret]
                cors:
                  allowedOrigins: ["%s"]
                """.formatted(port, sources.toString().stripTrailing(), KEY, site.url()));
    }

    private String source(String id, String extra) {
        return "    - id: " + id + "\n      url: " + upstream.url() + "/" + id
                + "\n      interval: 200ms\n      maxBackoff: 400ms\n" + extra;
    }

    private static String spans(int from, int to) {
        return IntStream.rangeClosed(from, to)
                .mapToObj(i -> "<span id=\"%1$s\" data-source=\"%1$s\" data-field=\"/v\"></span>".formatted(id(i)))
                .collect(Collectors.joining("\n"));
    }

    private void load(String html) {
        site.body(html).load(browser, network);
    }

    private void awaitText(String css, String text) throws Exception {
        Site.awaitText(browser, css, text, WAIT);
    }

    private List<Exchange> streams(List<Exchange> all) {
        return all.stream().filter(e -> e.type().equals("EventSource")).toList();
    }

    @Test
    void twelveSourcesFieldsATokenAndLaterElementsShareOneStreamPerTokenAndResume() throws Exception {
        int port = Ports.free();
        svc = service(port);
        load(spans(1, SOURCES)
                + "\n<span id=\"other\" data-source=\"s01\" data-field=\"other\"></span>"
                + "\n<span id=\"whole\" data-source=\"s02\"></span>"
                + "\n<span id=\"secret\" data-source=\"secret\" data-field=\"/v\" data-token=\"" + KEY + "\"></span>");

        for (int i = 1; i <= SOURCES; i++) {
            awaitText("#" + id(i), Integer.toString(i * 10));
        }
        awaitText("#other", "a");
        awaitText("#secret", "7");
        Await.isTrue(() -> browser.text("#whole").contains("\"other\": \"a\""), WAIT, "the whole value as JSON");
        List<Exchange> first = network.exchanges();
        List<Exchange> opened = streams(first);
        assertEquals(2, opened.size(), "one stream for the public entries, one for the token: " + opened);
        assertTrue(
                first.stream().noneMatch(e -> e.url().contains("/api/sources/")),
                "no polls, no per-source streams: " + first);
        for (Exchange e : opened) {
            assertTrue(e.is("/api/events"), e.url());
            assertEquals(200, e.status(), e.toString());
            assertEquals("http/1.1", e.protocol(), "over HTTP/1.1: " + e);
            assertNull(e.corsError());
        }
        Exchange secret = opened.stream()
                .filter(e -> e.url().contains("access_token="))
                .findFirst()
                .orElseThrow();
        assertTrue(secret.url().contains("sources=secret/v&"), secret.url());
        assertEquals("sse", browser.attribute("#s12", "data-mode"));

        // a change of one field wakes the element showing it, not the one showing another field
        String before = browser.attribute("#s01", "data-version");
        set("s01", 10, "b");
        awaitText("#other", "b");
        set("s12", 121, "a");
        awaitText("#s12", "121");
        assertEquals(before, browser.attribute("#s01", "data-version"), "/v of s01 did not change");
        assertEquals("10", browser.text("#s01"));

        // elements added later join the stream, which reopens with its cursor
        network.clear();
        browser.js("""
                for (const id of ['s13', 's14']) {
                  const el = document.createElement('span');
                  el.id = id; el.setAttribute('data-source', id); el.setAttribute('data-field', '/v');
                  document.body.appendChild(el);
                }
                window.aggregatorWidget.scan();
                """);
        awaitText("#s13", "130");
        awaitText("#s14", "140");
        List<Exchange> reopened = streams(network.exchanges());
        assertEquals(1, reopened.size(), "the public stream, reopened once: " + reopened);
        assertTrue(
                reopened.getFirst().url().contains("s14/v")
                        && reopened.getFirst().url().contains("lastEventId="),
                reopened.getFirst().url());

        // a restart drops the streams; the browser reconnects and resumes every entry with the cursor. Versions count
        // per process here, so s05 is moved to version 2 first: the new process's version 1 is then other content,
        // and the cursor's 2 is unknown to it (a fresh snapshot)
        set("s05", 51, "a");
        awaitText("#s05", "51");
        network.clear();
        svc.close();
        set("s05", 55, "a");
        svc = service(port);
        awaitText("#s05", "55");
        awaitText("#secret", "7");
        List<Exchange> resumed = streams(network.exchanges());
        assertTrue(
                resumed.stream()
                        .anyMatch(e -> e.status() == 200
                                && e.sent().getOrDefault("Last-Event-ID", "").contains("s05/v:")),
                "resumed with the cursor: " + resumed);
        assertTrue(network.exchanges().stream().noneMatch(e -> e.url().contains("/api/sources/")), "still no polls");

        // stop one element: the stream narrows; stop all: nothing is followed any more
        browser.js("window.aggregatorWidget.stop(document.getElementById('s12'))");
        Await.isTrue(() -> svc.subscribers("s12") == 0 && svc.subscribers("s11") == 1, WAIT, "s12 left the stream");
        browser.js("window.aggregatorWidget.stop()");
        Await.isTrue(() -> svc.subscribers("s11") == 0 && svc.subscribers("s01") == 0, WAIT, "every stream closed");
        set("s11", 111, "a");
        Await.isTrue(() -> svc.get("/api/sources/s11?select=/v").body().contains("\"data\":111"), WAIT, "s11 changed");
        assertEquals("110", browser.text("#s11"), "a stopped element is not updated");
        browser.screenshot("widget-many-sources");
    }

    @Test
    void aRefusedStreamFallsBackToPollingThenStreamsTheRestWithoutTheBadEntry() throws Exception {
        svc = service(0);
        load(spans(1, 8) + "\n<span id=\"nope\" data-source=\"nope\" data-poll-seconds=\"1\"></span>");

        // the stream names an unknown source, so it is refused (400); the polls say which, and the stream is
        // opened again without it
        Await.isTrue(() -> "no source \"nope\"".equals(browser.attribute("#nope", "data-error")), WAIT, "nope: 404");
        for (int i = 1; i <= 8; i++) {
            awaitText("#" + id(i), Integer.toString(i * 10));
        }
        Await.isTrue(() -> "sse".equals(browser.attribute("#s08", "data-mode")), WAIT, "back to streaming");
        set("s08", 88, "a");
        awaitText("#s08", "88");
        assertNull(browser.attribute("#s08", "data-error"));
        List<Exchange> all = network.exchanges();
        List<Exchange> opened = streams(all);
        assertEquals(400, opened.getFirst().status(), opened.toString());
        assertFalse(opened.getLast().url().contains("nope"), opened.toString());
        assertEquals(200, opened.getLast().status(), opened.toString());
        assertTrue(
                all.stream().anyMatch(e -> e.is("/api/sources/s01") && e.url().contains("select=%2Fv")),
                all.toString());
    }
}
