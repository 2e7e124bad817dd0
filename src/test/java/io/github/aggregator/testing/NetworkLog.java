package io.github.aggregator.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.openqa.selenium.logging.LogEntry;

/**
 * What went over the wire, read from Chromium's performance log (the DevTools Network domain, which {@link Browser}
 * turns on): every request the page made, CORS preflights and HTTP-cache revalidations included, with the headers
 * actually sent and received and, for a request the browser blocked, the CORS error. Events of one request may arrive
 * over several reads; they are merged. Not thread-safe.
 */
public final class NetworkLog {

    /**
     * One request and its outcome.
     *
     * @param url the request URL
     * @param method the request method
     * @param type the DevTools resource type: {@code Document}, {@code Script}, {@code XHR}, {@code EventSource},
     *     {@code Preflight}, ...
     * @param status the HTTP status on the wire (a revalidation shows its {@code 304}), 0 when none arrived
     * @param sent the request headers as sent (names without case)
     * @param received the response headers as received (names without case)
     * @param corsError the CORS error when the browser blocked the answer (e.g. {@code MissingAllowOriginHeader}), or
     *     null
     * @param protocol the protocol of the answer as the browser saw it ({@code http/1.1}, {@code h2}), "" when none
     */
    public record Exchange(
            String url,
            String method,
            String type,
            int status,
            Map<String, String> sent,
            Map<String, String> received,
            String corsError,
            String protocol) {

        /** True when the path of the URL (without query) is {@code path}. */
        public boolean is(String path) {
            String u = url.replaceFirst("[?#].*$", "");
            return u.endsWith(path)
                    && u.substring(0, u.length() - path.length()).matches("https?://[^/]+");
        }

        public boolean preflight() {
            return method.equals("OPTIONS") || type.equals("Preflight");
        }
    }

    private final Browser browser;
    private final Map<String, Partial> requests = new LinkedHashMap<>();

    private static final class Partial {
        String url = "";
        String method = "";
        String type = "";
        int status;
        Map<String, String> sent = headers(null);
        Map<String, String> received = headers(null);
        String corsError;
        String protocol = "";
    }

    public NetworkLog(Browser browser) {
        this.browser = browser;
    }

    /** Forgets everything logged so far. */
    public void clear() {
        browser.driver().manage().logs().get("performance");
        requests.clear();
    }

    /** Every request logged since the last {@link #clear()}, in the order they were sent. */
    public List<Exchange> exchanges() {
        for (LogEntry entry : browser.driver().manage().logs().get("performance")) {
            JsonNode message;
            try {
                message = Json.MAPPER.readTree(entry.getMessage()).path("message");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            String method = message.path("method").asText();
            if (!method.startsWith("Network.")) {
                continue;
            }
            JsonNode p = message.path("params");
            String id = p.path("requestId").asText();
            if (id.isEmpty()) {
                continue;
            }
            Partial r = requests.computeIfAbsent(id, k -> new Partial());
            switch (method) {
                case "Network.requestWillBeSent" -> {
                    r.url = p.path("request").path("url").asText();
                    r.method = p.path("request").path("method").asText();
                    r.type = p.path("type").asText();
                    if (r.sent.isEmpty()) {
                        r.sent = headers(p.path("request").path("headers"));
                    }
                }
                case "Network.requestWillBeSentExtraInfo" -> r.sent = headers(p.path("headers"));
                case "Network.responseReceived" -> {
                    if (r.status == 0) {
                        r.status = p.path("response").path("status").asInt();
                    }
                    if (r.received.isEmpty()) {
                        r.received = headers(p.path("response").path("headers"));
                    }
                    r.protocol = p.path("response").path("protocol").asText("");
                    if (r.type.isEmpty()) {
                        r.type = p.path("type").asText();
                    }
                }
                case "Network.responseReceivedExtraInfo" -> {
                    r.status = p.path("statusCode").asInt();
                    r.received = headers(p.path("headers"));
                }
                case "Network.loadingFailed" -> {
                    JsonNode cors = p.path("corsErrorStatus").path("corsError");
                    r.corsError = cors.isMissingNode() ? null : cors.asText();
                    if (r.type.isEmpty()) {
                        r.type = p.path("type").asText();
                    }
                }
                default -> {}
            }
        }
        List<Exchange> out = new ArrayList<>();
        for (Partial r : requests.values()) {
            if (!r.url.isEmpty()) {
                out.add(new Exchange(r.url, r.method, r.type, r.status, r.sent, r.received, r.corsError, r.protocol));
            }
        }
        return out;
    }

    private static Map<String, String> headers(JsonNode node) {
        Map<String, String> map = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        if (node != null) {
            node.properties().forEach(e -> map.put(e.getKey(), e.getValue().asText()));
        }
        return map;
    }
}
