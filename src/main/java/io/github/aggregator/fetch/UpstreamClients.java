package io.github.aggregator.fetch;

import io.helidon.common.tls.Tls;
import io.helidon.webclient.api.ConnectionKey;
import io.helidon.webclient.api.TcpClientConnection;
import io.helidon.webclient.api.WebClient;
import io.helidon.webclient.api.WebClientConfig;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The web clients of all fetchers: one per connect timeout, TLS mode and scheme, shared by every source that has them,
 * instead of one per source (a Helidon client with its caches and config costs tens of KB). A client for {@code http}
 * targets has TLS off: building a TLS context reads the JDK's trust store (about 150 certificates parsed), which is
 * the largest single cost of a web client and is paid only once a source, or a redirect, needs {@code https}.
 *
 * <p>Each fetch opens its own connection ({@link #connect}), sends {@code Connection: close} and closes the connection
 * when it ends, so no idle connection is kept to any upstream and none is left open after a failure. Helidon 4.5's
 * HTTP/1.1 client keeps idle connections in a cache per host and, when the upstream closes one, leaves its socket
 * open (in {@code CLOSE_WAIT}) until the cache next looks at it, and then drops it without closing it: the descriptor
 * stays open until a garbage collection. With thousands of sources that ran the process out of file descriptors.
 * A fetch every few seconds or minutes gains little from a kept-alive connection. Thread-safe.
 */
final class UpstreamClients {
    private static final ConcurrentMap<Key, WebClient> CLIENTS = new ConcurrentHashMap<>();
    private static final Tls NO_TLS = Tls.builder().enabled(false).build();
    private static final List<String> HTTP_1_1 = List.of("http/1.1");

    /**
     * Equality written out: a record's generated {@code equals} and {@code hashCode} link their call sites at first
     * use, which the first fetch paid on the path to the first answer (bench/README.md, cold start).
     */
    private record Key(Duration connectTimeout, boolean self, boolean https) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.self == self && k.https == https && k.connectTimeout.equals(connectTimeout);
        }

        @Override
        public int hashCode() {
            return (connectTimeout.hashCode() * 31 + Boolean.hashCode(self)) * 31 + Boolean.hashCode(https);
        }
    }

    private UpstreamClients() {}

    /**
     * The shared client for this connect timeout; {@code self} for this service's own URL, whose TLS certificate may be
     * made for other names; {@code https} for a target with that scheme (only such a client has TLS).
     */
    static WebClient client(Duration connectTimeout, boolean self, boolean https) {
        return CLIENTS.computeIfAbsent(new Key(connectTimeout, self, https), UpstreamClients::create);
    }

    /** The shared client for {@code target} (see {@link #client(Duration, boolean, boolean)}). */
    static WebClient client(Duration connectTimeout, boolean self, URI target) {
        return client(connectTimeout, self, "https".equalsIgnoreCase(target.getScheme()));
    }

    /**
     * Opens a connection of {@code client} to {@code target}'s host for one request; the caller closes it. Blocks for
     * the connect (and the TLS handshake for https).
     */
    static TcpClientConnection connect(WebClient client, URI target) {
        WebClientConfig config = client.prototype();
        boolean https = "https".equalsIgnoreCase(target.getScheme());
        int port = target.getPort() >= 0 ? target.getPort() : https ? 443 : 80;
        ConnectionKey key = ConnectionKey.create(
                target.getScheme().toLowerCase(Locale.ROOT),
                target.getHost(),
                port,
                https ? config.tls() : NO_TLS,
                config.dnsResolver(),
                config.dnsAddressLookup(),
                config.proxy());
        return TcpClientConnection.create(client, key, HTTP_1_1, c -> false, c -> {})
                .connect();
    }

    private static WebClient create(Key key) {
        WebClientConfig.Builder builder = WebClient.builder()
                .connectTimeout(key.connectTimeout())
                .readTimeout(key.connectTimeout())
                .followRedirects(false) // followed by the fetcher, so headers go only to the configured origin
                .keepAlive(false)
                .shareConnectionCache(false);
        if (!key.https()) {
            builder.tls(NO_TLS);
        } else if (key.self()) {
            builder.tls(Tls.builder()
                    .trustAll(true)
                    .endpointIdentificationAlgorithm(Tls.ENDPOINT_IDENTIFICATION_NONE)
                    .build());
        }
        return builder.build();
    }
}
