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
 *
 * <p>{@code use-nio: false} and {@code write-buffer-size: 512}: every SSE subscriber holds a connection for hours, and
 * Helidon's NIO socket keeps two 8 KiB buffers per connection (the plain socket one, for reads) and each streaming
 * response a 4 KiB write buffer; an event is one pre-encoded frame written and flushed at once, so neither buffer
 * saves a system call. Together about 12 KB less per subscriber, and the write no longer copies each frame into a
 * per-connection buffer that is cold in the CPU cache (bench/README.md). JSON answers are sent whole and do not use
 * the write buffer.
 */
final class ServerDefaults {
    /** Setting → value, for the default socket ({@code server.}) and each named one ({@code server.sockets.N.}). */
    private static final Map<String, String> DEFAULTS = Map.of(
            "connection-options.tcp-no-delay", "true",
            "use-nio", "false",
            "write-buffer-size", "512");

    private static final Pattern NAMED_SOCKET = Pattern.compile("server\\.sockets\\.(\\d+)\\.name");

    private ServerDefaults() {}

    /** {@code server}, flattened as the config holds it, with this service's defaults added where it sets none. */
    static Map<String, String> apply(Map<String, String> server) {
        Map<String, String> out = new LinkedHashMap<>(server);
        DEFAULTS.forEach((k, v) -> out.putIfAbsent("server." + k, v));
        for (String key : server.keySet()) {
            Matcher m = NAMED_SOCKET.matcher(key);
            if (m.matches()) {
                DEFAULTS.forEach((k, v) -> out.putIfAbsent("server.sockets." + m.group(1) + "." + k, v));
            }
        }
        return out;
    }
}
