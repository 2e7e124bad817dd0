package io.github.aggregator.fetch;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;

/** Where a fetch's requests go: the target of a redirect, and a URI the HTTP client sends as written. Stateless. */
final class Locations {
    private Locations() {}

    /** The absolute http(s) URI a Location header points to, relative to {@code base}. */
    static Optional<URI> resolve(URI base, String location) {
        try {
            URI next = base.resolve(new URI(location.trim()));
            String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
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
