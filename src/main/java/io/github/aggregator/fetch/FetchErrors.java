package io.github.aggregator.fetch;

import io.github.aggregator.source.Durations;
import io.helidon.common.buffers.DataReader;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;

/** Turns what the HTTP client threw into a short reason a source's status shows: words, never a stack trace. */
final class FetchErrors {
    private static final String UNRESOLVED_HOST = "Failed to get address for host ";
    /** Helidon's messages for a header block over its limit and for a status line that is not HTTP. */
    private static final String HEADERS_TOO_LARGE = "Header size exceeded";

    private static final String NOT_HTTP = "http response did not";

    private FetchErrors() {}

    /**
     * The reason for {@code e}.
     *
     * @param sourceHost the host the source's URL names, for an unknown host the client did not name
     * @param timeout the source's timeout, for a timeout
     */
    static String describe(Throwable e, String sourceHost, Duration timeout) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return "connection refused";
            }
            if (t instanceof UnknownHostException
                    || t.getClass().getSimpleName().equals("RuntimeUnknownHostException")) {
                return "unknown host " + sourceHost;
            }
            // Helidon's default DNS resolver drops the UnknownHostException and throws this instead; its message names
            // the host actually looked up, which differs from the source's after a redirect
            if (t instanceof IllegalArgumentException
                    && t.getMessage() != null
                    && t.getMessage().startsWith(UNRESOLVED_HOST)) {
                String host = t.getMessage().substring(UNRESOLVED_HOST.length());
                return "unknown host " + (host.length() > 64 ? host.substring(0, 64) + "…" : host);
            }
            if (t instanceof SocketTimeoutException) {
                return "timed out after " + Durations.format(timeout);
            }
            if (t instanceof DataReader.InsufficientDataAvailableException) {
                return "connection closed by upstream before the response was complete";
            }
            if (t instanceof DataReader.IncorrectNewLineException) {
                return "not an HTTP response";
            }
            String m = t.getMessage() == null ? "" : t.getMessage();
            if (t instanceof IllegalStateException && m.equals(HEADERS_TOO_LARGE)) {
                return "response headers too large";
            }
            if (t instanceof IllegalStateException && m.toLowerCase(Locale.ROOT).startsWith(NOT_HTTP)) {
                return "not an HTTP response";
            }
        }
        String type = e.getClass().getSimpleName();
        String msg = e.getMessage();
        if (msg != null && (msg.contains("Connection reset") || msg.contains("closed") || msg.contains("EOF"))) {
            return "connection closed by upstream before the response was complete";
        }
        return "request failed (the HTTP client gave up: " + words(type) + ")";
    }

    /** {@code IllegalStateException} as {@code illegal state}: a last resort that still reads as words. */
    private static String words(String type) {
        String bare = type.replace("Exception", "").replace("Error", "");
        return bare.replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
    }
}
