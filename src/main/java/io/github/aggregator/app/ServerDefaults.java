package io.github.aggregator.app;

import io.helidon.config.Config;
import io.helidon.webserver.WebServerConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Helidon web server settings this service uses where Helidon's own defaults do not fit it; every one of them can
 * be overridden in the config's {@code server} section, on the default socket and on each named one.
 *
 * <p>{@code connection-options.tcp-no-delay: true}. Helidon 4.5 leaves Nagle's algorithm on and writes each HTTP/2
 * frame (HEADERS, DATA, the closing empty DATA) with its own socket write: the second small write of a response then
 * waits for the client's ACK of the first, which a client delays by up to 40 ms. HTTP/1.1 answers went out in one
 * write and did not show it; HTTP/2 answers and SSE events did.
 *
 * <p>{@code use-nio: false} and {@code write-buffer-size: 512}: every SSE subscriber holds a connection for hours, and
 * Helidon's NIO socket keeps two 8 KiB buffers per connection (the plain socket one, for reads) and each streaming
 * response a 4 KiB write buffer; an event is one pre-encoded frame written and flushed at once, so neither buffer
 * saves a system call. Together about 13 KB less live heap per subscriber, and the write no longer copies each frame
 * into a per-connection buffer that is cold in the CPU cache (bench/README.md). JSON answers are sent whole and do not
 * use the write buffer.
 */
final class ServerDefaults {
    private static final boolean TCP_NO_DELAY = true;
    private static final boolean USE_NIO = false;
    private static final int WRITE_BUFFER_SIZE = 512;

    /** Setting → value, for the default socket ({@code server.}) and each named one ({@code server.sockets.N.}). */
    private static final Map<String, String> DEFAULTS = Map.of(
            "connection-options.tcp-no-delay", Boolean.toString(TCP_NO_DELAY),
            "use-nio", Boolean.toString(USE_NIO),
            "write-buffer-size", Integer.toString(WRITE_BUFFER_SIZE));

    private ServerDefaults() {}

    /** The same defaults set on {@code builder}'s default socket (a server built without Helidon's config). */
    static void apply(WebServerConfig.Builder builder) {
        builder.connectionOptions(o -> o.tcpNoDelay(TCP_NO_DELAY))
                .useNio(USE_NIO)
                .writeBufferSize(WRITE_BUFFER_SIZE);
    }

    /**
     * The defaults as dotted keys ({@code server.use-nio}, {@code server.sockets.0.use-nio}, ...) for the default socket
     * and each named socket of {@code given} (the config file's section, {@code server} at its top), to lay beneath
     * the section (see {@link ServerSettings}).
     */
    static Map<String, String> keys(Config given) {
        Map<String, String> defaults = new LinkedHashMap<>();
        DEFAULTS.forEach((k, v) -> defaults.put("server." + k, v));
        List<Config> sockets = given.get("server.sockets").asNodeList().orElse(List.of());
        for (int i = 0; i < sockets.size(); i++) {
            int n = i;
            DEFAULTS.forEach((k, v) -> defaults.put("server.sockets." + n + "." + k, v));
        }
        return defaults;
    }
}
