package io.github.aggregator.source;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One upstream source as configured. Immutable; the compact constructor checks every field and throws {@link
 * IllegalArgumentException} whose message starts with the field name.
 *
 * @param id unique id, {@code [a-z0-9][a-z0-9-]*}
 * @param url absolute http(s) URL, or a path starting with {@code /} that is resolved against this service's own
 *     address (used by the built-in demo sources)
 * @param interval time between fetches (default 60s)
 * @param timeout bound on one whole fetch, connect to last byte (default 10s)
 * @param headers request headers; values may be secrets and are never logged or served
 * @param select optional RFC 6901 JSON Pointer applied to the response, null for the whole body
 * @param enabled false to keep the source in the file without polling it (default true)
 * @param maxBodySize largest response body accepted, in bytes (default 5 MiB)
 */
public record SourceConfig(
        String id,
        URI url,
        Duration interval,
        Duration timeout,
        Map<String, String> headers,
        String select,
        boolean enabled,
        long maxBodySize) {

    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(60);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    public static final long DEFAULT_MAX_BODY_SIZE = 5L * 1024 * 1024;
    static final Duration MIN_INTERVAL = Duration.ofMillis(100);
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    public SourceConfig {
        if (id == null || !ID.matcher(id).matches() || id.length() > 64) {
            throw new IllegalArgumentException(
                    "id: must match [a-z0-9][a-z0-9-]* and be at most 64 characters, got \"" + id + "\"");
        }
        checkUrl(url);
        if (interval == null || interval.compareTo(MIN_INTERVAL) < 0) {
            throw new IllegalArgumentException("interval: must be at least 100ms");
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: must be positive");
        }
        headers = Map.copyOf(headers == null ? Map.of() : headers);
        for (String name : headers.keySet()) {
            if (!HEADER_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("headers: \"" + name + "\" is not a valid header name");
            }
            String value = headers.get(name);
            if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0) {
                // never echo the value: it may be a secret
                throw new IllegalArgumentException("headers." + name + ": value must not contain line breaks");
            }
        }
        if (select != null && !select.isEmpty() && !select.startsWith("/")) {
            throw new IllegalArgumentException(
                    "select: must be an RFC 6901 JSON Pointer starting with \"/\", got \"" + select + "\"");
        }
        if (select != null && select.isEmpty()) {
            select = null;
        }
        if (maxBodySize < 1) {
            throw new IllegalArgumentException("maxBodySize: must be positive");
        }
    }

    private static void checkUrl(URI url) {
        if (url == null) {
            throw new IllegalArgumentException("url: is required");
        }
        if (url.getScheme() == null) {
            if (url.getHost() != null || url.getPath() == null || !url.getPath().startsWith("/")) {
                throw new IllegalArgumentException("url: must be an absolute http(s) URL or a path starting with /");
            }
            return;
        }
        String scheme = url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("url: unsupported scheme \"" + scheme + "\" (use http or https)");
        }
        if (url.getHost() == null || url.getHost().isEmpty()) {
            throw new IllegalArgumentException("url: has no host");
        }
    }

    /** The URL without user info, query or fragment: safe to log and to serve. */
    public String safeUrl() {
        return redact(url);
    }

    /** {@code uri} without user info, query or fragment. */
    public static String redact(URI uri) {
        StringBuilder sb = new StringBuilder();
        if (uri.getScheme() != null) {
            sb.append(uri.getScheme()).append("://").append(uri.getHost());
            if (uri.getPort() >= 0) {
                sb.append(':').append(uri.getPort());
            }
        }
        sb.append(uri.getRawPath() == null ? "" : uri.getRawPath());
        return sb.toString();
    }
}
