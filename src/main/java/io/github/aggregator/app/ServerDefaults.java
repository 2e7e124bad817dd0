package io.github.aggregator.app;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Helidon web server settings this service uses where Helidon's own defaults do not fit it; every one of them can
 * be overridden in the config's {@code server} section.
 *
 * <p>{@code connection-options.tcp-no-delay: true} on the default socket and every named one. Helidon 4.5 leaves
 * Nagle's algorithm on and writes each HTTP/2 frame (HEADERS, DATA, the closing empty DATA) with its own socket write:
 * the second small write of a response then waits for the client's ACK of the first, which a client delays by up to
 * 40 ms. HTTP/1.1 answers went out in one write and did not show it; HTTP/2 answers and SSE events did.
 */
final class ServerDefaults {
    private static final String NO_DELAY = "connection-options.tcp-no-delay";
    private static final Pattern NAMED_SOCKET = Pattern.compile("server\\.sockets\\.(\\d+)\\.name");

    private ServerDefaults() {}

    /** {@code server}, flattened as the config holds it, with this service's defaults added where it sets none. */
    static Map<String, String> apply(Map<String, String> server) {
        Map<String, String> out = new LinkedHashMap<>(server);
        out.putIfAbsent("server." + NO_DELAY, "true");
        for (String key : server.keySet()) {
            Matcher m = NAMED_SOCKET.matcher(key);
            if (m.matches()) {
                out.putIfAbsent("server.sockets." + m.group(1) + "." + NO_DELAY, "true");
            }
        }
        return out;
    }
}
