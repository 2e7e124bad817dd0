package io.github.aggregator.http;

import static io.github.aggregator.testing.Site.awaitAttribute;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Browser;
import io.github.aggregator.testing.BrowserExtension;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.NetworkLog;
import io.github.aggregator.testing.NetworkLog.Exchange;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Site;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code /widget.js} showing instances of a parametrised source ({@code data-params} and the {@code quote(symbol=X)}
 * form, whole values and single fields, one left to its default) beside plain sources, on a page of another origin in
 * a real headless Chromium: all on one multiplexed stream, each following its own instance's changes, resuming after
 * a restart; refused and malformed parameters show why instead of waiting; without EventSource the polls address each
 * instance.
 */
@ExtendWith(BrowserExtension.class)
class WidgetInstancesBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private final Browser browser;
    private final Map<String, String> values = new ConcurrentHashMap<>();
    private Upstream upstream;
    private Site site;
    private volatile Service svc;
    private NetworkLog network;

    WidgetInstancesBrowserTest(Browser browser) {
        this.browser = browser;
    }

    @BeforeEach
    void start() {
        for (String symbol : List.of("ACME", "INIT", "BQ", "DEMO")) {
            quote(symbol, 10);
        }
        values.put("/clock", "{\"t\":\"09:00\"}");
        upstream = new Upstream().reply(Upstream.Reply.custom(this::answer));
        site = new Site(() -> svc.uri("/widget.js")).title("Quotes");
        network = new NetworkLog(browser);
    }

    @AfterEach
    void stop() {
        browser.driver().get("about:blank"); // no widget left reconnecting to the next test's service
        if (svc != null) {
            svc.close();
        }
        site.close();
        upstream.close();
    }

    /** The upstream's quote of {@code symbol}: its price, and a name that never changes. */
    private void quote(String symbol, double price) {
        values.put(
                "/quote/" + symbol,
                "{\"symbol\":\"" + symbol + "\",\"name\":\"" + symbol.toLowerCase() + " inc\",\"price\":" + price
                        + "}");
    }

    private void answer(HttpExchange exchange) throws IOException {
        String body = values.get(exchange.getRequestURI().getRawPath());
        byte[] bytes = (body == null ? "{\"error\":\"no such symbol\"}" : body).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private Service service(int port, String extra) {
        return Service.start("""
                server:
                  port: %1$d
                  host: 127.0.0.1
                aggregator:
                  retry: 300ms
                  retrySpread: 0s
                  heartbeat: 200ms
                  sources:
                    - id: clock
                      url: %2$s/clock
                      interval: 200ms
                    - id: quote
                      url: %2$s/quote/{symbol}
                      interval: 200ms
                      maxBackoff: 400ms
                      params:
                        symbol:
                          pattern: "[A-Z]{1,5}"
                          default: DEMO
                %3$s
                cors:
                  allowedOrigins: ["%4$s"]
                """.formatted(port, upstream.url(), extra, site.url()));
    }

    private static final String PAGE = """
            <p>ACME <span id="acme" data-source="quote" data-params="symbol=ACME" data-field="/price"></span>
               (<span id="acme-name" data-source="quote(symbol=ACME)" data-field="name"></span>)</p>
            <p>INIT <span id="init" data-source="quote(symbol=INIT)" data-field="/price"></span></p>
            <p>Default <span id="demo" data-source="quote" data-field="/price"></span></p>
            <pre id="bq" data-source="quote" data-params="symbol=BQ"></pre>
            <p>At <span id="clock" data-source="clock" data-field="/t"></span></p>
            <script>
            document.addEventListener('aggregator:update', e => { (window.seen = window.seen || {})[e.target.id] = e.detail; }, true);
            </script>
            """;

    private void awaitText(String css, String text) throws Exception {
        Site.awaitText(browser, css, text, WAIT);
    }

    private static List<Exchange> streams(List<Exchange> all) {
        return all.stream().filter(e -> e.type().equals("EventSource")).toList();
    }

    /** The subscribers of each live instance of {@code template}, by canonical name, from {@code GET /api/sources}. */
    private Map<String, Integer> instanceSubscribers(String template) throws IOException {
        Map<String, Integer> out = new ConcurrentHashMap<>();
        for (JsonNode s : Json.MAPPER.readTree(svc.get("/api/sources").body()).get("sources")) {
            if (s.get("id").asText().equals(template)) {
                s.get("live")
                        .forEach(i -> out.put(
                                i.get("instance").asText(), i.get("subscribers").asInt()));
            }
        }
        return out;
    }

    @Test
    void instancesAndPlainSourcesShareOneStreamFollowEachInstanceAndResume() throws Exception {
        int port = Ports.free();
        svc = service(port, "");
        site.body(PAGE).load(browser, network);

        awaitText("#acme", "10");
        awaitText("#acme-name", "acme inc");
        awaitText("#init", "10");
        awaitText("#demo", "10");
        awaitText("#clock", "09:00");
        Await.isTrue(() -> browser.text("#bq").contains("\"symbol\": \"BQ\""), WAIT, "BQ's whole value as JSON");
        List<Exchange> first = network.exchanges();
        List<Exchange> opened = streams(first);
        assertEquals(1, opened.size(), "one stream for every instance and source: " + opened);
        Exchange stream = opened.getFirst();
        assertTrue(stream.is("/api/events"), stream.url());
        assertEquals(200, stream.status(), stream.toString());
        assertNull(stream.corsError());
        for (String part : List.of(
                "quote(symbol%3DACME)/price",
                "quote(symbol%3DACME)/name",
                "quote(symbol%3DINIT)/price",
                "quote/price",
                "quote(symbol%3DBQ)",
                "clock/t")) {
            assertTrue(stream.url().contains(part), part + " in " + stream.url());
        }
        assertTrue(first.stream().noneMatch(e -> e.url().contains("/api/sources")), "no polls: " + first);
        assertEquals("sse", browser.attribute("#init", "data-mode"));
        // the envelope an element's aggregator:update carries names the template, the parameters and the instance
        assertEquals(
                "quote/price INIT quote(symbol=INIT)/price",
                browser.js("const d = window.seen.init; return d.id + ' ' + d.params.symbol + ' ' + d.instance"));
        assertEquals(
                Map.of(
                        "quote(symbol=ACME)", 2, // its price and its name, each a subscription
                        "quote(symbol=INIT)", 1,
                        "quote(symbol=BQ)", 1,
                        "quote(symbol=DEMO)", 1),
                instanceSubscribers("quote"),
                "each instance and field followed by the page's one stream");

        // each instance follows its own changes: ACME's price moves, INIT's element is not woken
        String init = browser.attribute("#init", "data-version");
        quote("ACME", 11.5);
        awaitText("#acme", "11.5");
        assertEquals("acme inc", browser.text("#acme-name"), "the name did not change");
        quote("INIT", 20.25);
        awaitText("#init", "20.25");
        assertFalse(init.equals(browser.attribute("#init", "data-version")));
        quote("DEMO", 7);
        awaitText("#demo", "7");
        values.put("/clock", "{\"t\":\"09:01\"}");
        awaitText("#clock", "09:01");
        assertEquals("11.5", browser.text("#acme"));
        assertTrue(streams(network.exchanges()).size() == 1, "still the one stream");

        // a restart drops the stream; the browser reconnects and resumes every entry with the cursor
        network.clear();
        svc.close();
        quote("ACME", 12.75);
        svc = service(port, "");
        awaitText("#acme", "12.75");
        awaitText("#init", "20.25");
        List<Exchange> resumed = streams(network.exchanges());
        assertTrue(
                resumed.stream()
                        .anyMatch(e -> e.status() == 200
                                && e.sent().getOrDefault("Last-Event-ID", "").contains("quote(symbol=ACME)/price:")),
                "resumed with the cursor naming the instances: " + resumed);
        quote("INIT", 21);
        awaitText("#init", "21");
        assertTrue(network.exchanges().stream().noneMatch(e -> e.url().contains("/api/sources")), "still no polls");
        browser.screenshot("widget-instances");
    }

    @Test
    void aRefusedParameterValueAndAMalformedNameSayWhyWhileTheRestStreams() throws Exception {
        svc = service(0, "");
        site.body(PAGE + """
                <p>Bad <span id="bad" data-source="quote" data-params="symbol=acme" data-poll-seconds="1"></span></p>
                <p>Worse <span id="worse" data-source="quote(symbol" data-poll-seconds="1"></span></p>
                <p>Control <span id="control" data-source="clock" data-field="/t,x" data-poll-seconds="1"></span></p>
                <p>Twice <span id="twice" data-source="quote(symbol=ACME)" data-params="symbol=INIT"></span></p>
                """).load(browser, network);

        // the malformed names are never asked for; the refused value makes the stream answer 400, the polls say which
        // entry it was, and the stream opens again without it
        awaitAttribute(browser, "#bad", "data-error", "parameter \"symbol\" must match [A-Z]{1,5}", WAIT);
        assertEquals("an instance is written id(name=value;...)", browser.attribute("#worse", "data-error"));
        assertEquals("parameter \"symbol\" is given twice", browser.attribute("#twice", "data-error"));
        awaitText("#acme", "10");
        awaitText("#init", "10");
        awaitAttribute(browser, "#init", "data-mode", "sse", WAIT);
        quote("INIT", 30);
        awaitText("#init", "30");
        assertNull(browser.attribute("#init", "data-error"));
        assertEquals("", browser.text("#bad"));

        List<Exchange> all = network.exchanges();
        List<Exchange> opened = streams(all);
        assertEquals(400, opened.getFirst().status(), opened.toString());
        assertTrue(opened.getFirst().url().contains("quote(symbol%3Dacme)"), opened.toString());
        assertEquals(200, opened.getLast().status(), opened.toString());
        assertFalse(opened.getLast().url().contains("acme)"), opened.toString());
        assertTrue(
                all.stream().anyMatch(e -> e.is("/api/sources/quote") && e.url().contains("?symbol=acme")),
                "the refused instance was polled once by its query form: " + all);
        assertTrue(all.stream().noneMatch(e -> e.url().contains("quote(symbol&")), "no request for the malformed");
        long polls = all.stream().filter(e -> e.url().contains("symbol=acme")).count();
        // a control entry polled every second (a pointer with "," is never streamed): three more of its polls, and
        // the refused entry, also at 1 s, was not polled again meanwhile
        long control =
                all.stream().filter(e -> e.url().contains("select=%2Ft%2Cx")).count();
        Await.isTrue(
                () -> network.exchanges().stream()
                                .filter(e -> e.url().contains("select=%2Ft%2Cx"))
                                .count()
                        >= control + 3,
                WAIT,
                "three more polls of the control entry");
        assertEquals(
                polls,
                network.exchanges().stream()
                        .filter(e -> e.url().contains("symbol=acme"))
                        .count(),
                "a refused entry is not polled again");
    }

    @Test
    void aReloadThatNoLongerAllowsAnInstanceSaysSoOnItsElementsWhileTheOthersGoOn() throws Exception {
        svc = service(0, "");
        site.body(PAGE).load(browser, network);
        awaitText("#init", "10");
        awaitText("#acme", "10");
        awaitText("#demo", "10");

        // INIT (and DEMO, the old default) are no longer allowed: their streams end with removed
        Path file = svc.configFile();
        String yaml = Files.readString(file)
                .replace("pattern: \"[A-Z]{1,5}\"", "pattern: \"ACME|BQ\"")
                .replace("default: DEMO", "default: ACME");
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, yaml);
        ConfigSchema.check(tmp, Map.of());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        awaitAttribute(browser, "#init", "data-error", "source \"quote(symbol=INIT)\" was removed", WAIT);
        awaitAttribute(browser, "#demo", "data-error", "source \"quote\" was removed", WAIT);
        assertEquals("10", browser.text("#init"), "the last value stays, marked");
        quote("ACME", 15);
        awaitText("#acme", "15");
        assertNull(browser.attribute("#acme", "data-error"));
    }

    @Test
    void withoutEventSourceEachInstanceIsPolledByItsQueryForm() throws Exception {
        svc = service(0, "");
        site.body(PAGE.replace("data-source", "data-poll-seconds=\"1\" data-source"))
                .load(browser, network, "127.0.0.1", "/poll");

        awaitText("#acme", "10");
        awaitText("#init", "10");
        awaitText("#demo", "10");
        awaitText("#acme-name", "acme inc");
        assertEquals("poll", browser.attribute("#acme", "data-mode"));
        quote("ACME", 14);
        awaitText("#acme", "14");
        List<Exchange> all = network.exchanges();
        assertTrue(streams(all).isEmpty(), "no stream: " + all);
        for (String url : List.of(
                "/api/sources/quote?symbol=ACME&select=%2Fprice",
                "/api/sources/quote?symbol=ACME&select=%2Fname",
                "/api/sources/quote?symbol=INIT&select=%2Fprice",
                "/api/sources/quote?select=%2Fprice",
                "/api/sources/quote?symbol=BQ",
                "/api/sources/clock?select=%2Ft")) {
            assertTrue(all.stream().anyMatch(e -> e.url().endsWith(url) && e.status() == 200), url + " in " + all);
        }
    }
}
