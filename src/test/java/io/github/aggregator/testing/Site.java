package io.github.aggregator.testing;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Another origin's web site embedding the widget, as a partner's page would: its own HTTP server on another loopback
 * port serves {@code /} with {@link #body(String) the body} and then {@code <script src=WIDGET>} by the service's
 * absolute URL, and {@code /poll} the same after removing {@code EventSource} (an old browser, so the widget polls).
 * The widget's URL is asked of {@code widget} at each request, so a test may restart the service. This is the page
 * set-up the widget's browser tests share; {@link #load} opens a page of it in a {@link Browser} and checks that it
 * is on another origin than the widget. Thread-safe.
 */
public final class Site implements AutoCloseable {
    private final Upstream server;
    private final Supplier<URI> widget;
    private volatile String title = "A partner site";
    private volatile String body = "";

    /** Serves the pages, with the widget from {@code widget} (the service's {@code /widget.js}). */
    public Site(Supplier<URI> widget) {
        this.widget = widget;
        this.server = new Upstream().reply(Upstream.Reply.custom(this::page));
    }

    /** {@code http://127.0.0.1:PORT}: also the origin the browser sends for a page opened by that address. */
    public String url() {
        return server.url();
    }

    /** The page's title. Returns this. */
    public Site title(String title) {
        this.title = title;
        return this;
    }

    /** The HTML the pages hold before the widget's script. Returns this. */
    public Site body(String html) {
        this.body = html;
        return this;
    }

    /**
     * Opens {@code path} ({@code /} or {@code /poll}) of this site, by {@code host} ({@code 127.0.0.1}, or {@code
     * localhost} for the same page under another origin), with {@code network} cleared first when not null; fails when
     * the page shares the widget's origin.
     */
    public void load(Browser browser, NetworkLog network, String host, String path) {
        if (network != null) {
            network.clear();
        }
        browser.driver().get(url().replace("127.0.0.1", host) + path);
        Object origin = browser.js("return location.origin");
        URI w = widget.get();
        String widgetOrigin = w.getScheme() + "://" + w.getHost() + ":" + w.getPort();
        if (widgetOrigin.equals(origin)) {
            throw new AssertionError("the page is on the widget's origin " + origin);
        }
    }

    /** {@link #load(Browser, NetworkLog, String, String)} of {@code /} by {@code 127.0.0.1}. */
    public void load(Browser browser, NetworkLog network) {
        load(browser, network, "127.0.0.1", "/");
    }

    /** Waits until the text of the first element matching {@code css} is {@code text}. */
    public static void awaitText(Browser browser, String css, String text, Duration within) throws Exception {
        Await.isTrue(
                () -> text.equals(browser.text(css)),
                within,
                css + " shows " + text + " (has " + browser.text(css) + ")");
    }

    /** Waits until attribute {@code name} of the first element matching {@code css} is {@code value}. */
    public static void awaitAttribute(Browser browser, String css, String name, String value, Duration within)
            throws Exception {
        Await.isTrue(
                () -> value.equals(browser.attribute(css, name)),
                within,
                css + " has " + name + "=" + value + " (has " + browser.attribute(css, name) + ")");
    }

    private void page(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        if (!path.equals("/") && !path.equals("/poll")) {
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
            return;
        }
        String html = """
                <!doctype html>
                <html lang="en">
                <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
                <title>%s</title></head>
                <body>
                %s
                %s
                <script src="%s"></script>
                </body>
                </html>
                """.formatted(
                title, body, path.equals("/poll") ? "<script>delete window.EventSource;</script>" : "", widget.get());
        byte[] bytes = html.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
