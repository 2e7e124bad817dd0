package io.github.aggregator.fetch;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Optional;

/** What the fetcher asks of the URIs it follows: origins, redirect targets, and the request line's exact bytes. */
final class UpstreamUris {
    private UpstreamUris() {}

    static boolean sameHost(URI a, URI b) {
        return a.getHost() != null && b.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost());
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    /** The absolute http(s) URI a Location header points to, relative to {@code base}. */
    static Optional<URI> resolve(URI base, String location) {
        try {
            URI next = base.resolve(new URI(location.trim()));
            String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(java.util.Locale.ROOT);
            return (scheme.equals("http") || scheme.equals("https")) && next.getHost() != null
                    ? Optional.of(next)
                    : Optional.empty();
        } catch (URISyntaxException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * {@code uri} rewritten so that Helidon's WebClient sends its path and query exactly as written. Given a URI,
     * the client parses the query into a map (losing parameter order, which request-signing APIs depend on) and turns
     * {@code +} into {@code %20}. Here the raw path and query become one path whose decoded form is the original
     * text, and the request skips encoding, so the request line carries the original bytes. User info is dropped.
     */
    static URI verbatim(URI uri) {
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String raw = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
        String port = uri.getPort() < 0 ? "" : ":" + uri.getPort();
        return URI.create(uri.getScheme() + "://" + uri.getHost() + port
                + raw.replace("%", "%25").replace("?", "%3F"));
    }
}
