package io.github.aggregator.app;

import io.github.aggregator.http.ConnectionLimits;
import io.github.aggregator.source.Durations;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.spi.ConfigNode;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http2.Http2Config;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The web server's settings: the config file's {@code server} section, read by Helidon as Helidon documents it (or,
 * when it names only the address, the same server made with Helidon's builders), plus this service's connection
 * limits. Besides Helidon's own keys, {@code server} takes:
 *
 * <ul>
 *   <li>{@code header-timeout} (default {@code 10s}): the request headers must arrive within it after the request line,
 *       or the connection is closed (slowloris);
 *   <li>{@code keep-alive-timeout} (default {@code 60s}): an HTTP/1.1 connection kept alive after a response is closed
 *       when no next request line arrives within it.
 * </ul>
 *
 * A request line over {@code protocols.http_1_1.max-prologue-length} (default here 8192 bytes; keep it at least that)
 * is answered {@code 414}, a header block over {@code protocols.http_1_1.max-headers-size} (Helidon's default, 16384
 * bytes) {@code 431}, both as problem+json.
 */
record ServerSettings(WebServerConfig.Builder builder, ConnectionLimits limits) {
    static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    static final Duration KEEP_ALIVE_TIMEOUT = Duration.ofSeconds(60);
    /** Default of {@code protocols.http_1_1.max-prologue-length}: Helidon's 4096 drops some long lines unanswered. */
    static final int MAX_REQUEST_LINE = 8192;
    /** The keys of a section that {@link #plain} builds (each a text): the service's own two and Helidon's address. */
    private static final Set<String> PLAIN_KEYS = Set.of("port", "host", "header-timeout", "keep-alive-timeout");

    /**
     * @param server the {@code server} section flattened to dotted keys ({@code server.port}), for this service's own
     *     keys
     * @param serverTree the same section as a document, which Helidon reads (see {@link
     *     io.github.aggregator.config.ConfigFile#serverTree()})
     */
    static ServerSettings of(Map<String, String> server, Map<String, Object> serverTree) {
        ConnectionLimits limits = new ConnectionLimits(
                duration(server, "server.header-timeout", HEADER_TIMEOUT),
                duration(server, "server.keep-alive-timeout", KEEP_ALIVE_TIMEOUT));
        WebServerConfig.Builder builder =
                isPlain(serverTree) ? plain(section(serverTree), limits) : fromConfig(serverTree, limits);
        return new ServerSettings(builder, limits);
    }

    /** Whether {@link #of} builds the server of {@code serverTree} without Helidon's config: see {@link #PLAIN_KEYS}. */
    static boolean isPlain(Map<String, Object> serverTree) {
        Map<?, ?> section = section(serverTree);
        return PLAIN_KEYS.containsAll(section.keySet())
                && section.values().stream().allMatch(v -> v instanceof String);
    }

    private static Map<?, ?> section(Map<String, Object> serverTree) {
        return serverTree.get("server") instanceof Map<?, ?> m ? m : Map.of();
    }

    /**
     * The server of a section that names at most its address, with the service's defaults, made with Helidon's
     * builders instead of read through a Helidon config built from the section (building one discovers Helidon's
     * config parsers, filters and mappers: about a tenth of a start's CPU, bench/README.md). It is the server {@link
     * #fromConfig} builds from the same section ({@code ServerDefaultsTest} compares the two); any other key takes that
     * path.
     */
    private static WebServerConfig.Builder plain(Map<?, ?> section, ConnectionLimits limits) {
        WebServerConfig.Builder builder = WebServer.builder();
        if (section.containsKey("port")) {
            builder.port(Integer.parseInt(section.get("port").toString().trim()));
        }
        if (section.containsKey("host")) {
            builder.host(section.get("host").toString());
        }
        ServerDefaults.apply(builder);
        return builder.errorHandling(e -> e.includeEntity(true))
                .addProtocol(http1(
                        Http1Config.builder()
                                .maxPrologueLength(MAX_REQUEST_LINE)
                                .validateResponseHeaders(false),
                        limits))
                .addProtocol(Http2Config.builder()
                        .name("http_2")
                        .validateResponseHeaders(false)
                        .build());
    }

    /** The server of any section, read by Helidon's config, the service's defaults beneath it. */
    static WebServerConfig.Builder fromConfig(Map<String, Object> serverTree, ConnectionLimits limits) {
        Config given = Config.just(ConfigSources.create(node(serverTree)));
        Map<String, String> keys = new LinkedHashMap<>();
        // lets the problem+json answer tell a header block over the limit (431) from other bad requests (400); the
        // message itself is never sent back
        keys.put("server.error-handling.include-entity", "true");
        // Helidon picks the protocol from the first read (at most 8 KiB) and drops, without an answer, a connection
        // whose first read holds more than this many bytes and no line end; from 8 KiB on, every long line gets its 414
        keys.put("server.protocols.http_1_1.max-prologue-length", Integer.toString(MAX_REQUEST_LINE));
        // every response header value is one the service made itself (numbers, hashes, dates, constants, and a CORS
        // origin taken from a request header that Helidon validated on reading it): checking each again on every
        // answer was 6-14 % of the JSON endpoint's CPU samples (bench/README.md)
        keys.put("server.protocols.http_1_1.validate-response-headers", "false");
        keys.put("server.protocols.http_2.validate-response-headers", "false");
        keys.putAll(ServerDefaults.keys(given)); // Nagle off, plain sockets, a small stream buffer
        // the file's section first: the defaults above apply only where it leaves a key out
        Config config = Config.just(ConfigSources.create(given), ConfigSources.create(keys))
                .get("server");
        WebServerConfig.Builder builder = WebServer.builder().config(config);
        // Helidon discovers HTTP/1.1 and HTTP/2 when the server is built; an HTTP/1.1 config given here (read from the
        // same keys) replaces the discovered one, so that it carries the listeners
        return builder.addProtocol(http1(Http1Config.builder().config(config.get("protocols.http_1_1")), limits));
    }

    /** HTTP/1.1 with the connection limits' listeners. */
    private static Http1Config http1(Http1Config.Builder builder, ConnectionLimits limits) {
        return builder.name("http_1_1")
                .addReceiveListener(limits.receiveListener())
                .addSendListener(limits.sendListener())
                .build();
    }

    /**
     * {@code tree} as Helidon's config node, built the way helidon-config-yaml builds one from a parsed YAML document:
     * a map is an object, a list a list, null an empty value, anything else its text.
     */
    static ConfigNode.ObjectNode node(Map<?, ?> tree) {
        ConfigNode.ObjectNode.Builder object = ConfigNode.ObjectNode.builder();
        tree.forEach((key, value) -> {
            String name = key.toString();
            if (value instanceof List<?> list) {
                object.addList(name, list(list));
            } else if (value instanceof Map<?, ?> map) {
                object.addObject(name, node(map));
            } else {
                object.addValue(name, value == null ? "" : value.toString());
            }
        });
        return object.build();
    }

    private static ConfigNode.ListNode list(List<?> items) {
        ConfigNode.ListNode.Builder list = ConfigNode.ListNode.builder();
        for (Object value : items) {
            if (value instanceof List<?> inner) {
                list.addList(list(inner));
            } else if (value instanceof Map<?, ?> map) {
                list.addObject(node(map));
            } else {
                list.addValue(value == null ? "" : value.toString());
            }
        }
        return list.build();
    }

    private static Duration duration(Map<String, String> keys, String key, Duration otherwise) {
        String text = keys.get(key);
        if (text == null) {
            return otherwise;
        }
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": \"" + text + "\" is not a duration (use 500ms, 30s, 5m)");
        }
    }
}
