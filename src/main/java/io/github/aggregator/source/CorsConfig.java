package io.github.aggregator.source;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code cors} section: which other origins' pages may read the API from a browser. Immutable.
 *
 * @param allowedOrigins origins ({@code scheme://host[:port]}, compared without case) allowed to read; {@code "*"}
 *     allows any origin, without credentials. Default: none (no cross-origin reads)
 * @param allowCredentials true to let the listed origins send cookies and read the answers ({@code
 *     Access-Control-Allow-Credentials}); never given to origins matched only by {@code "*"} (default false)
 * @param maxAge how long a browser may cache a preflight answer (default 10m)
 */
public record CorsConfig(List<String> allowedOrigins, boolean allowCredentials, Duration maxAge) {
    public static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(10);
    /** No cross-origin reads. */
    public static final CorsConfig NONE = new CorsConfig(List.of(), false, DEFAULT_MAX_AGE);

    public CorsConfig {
        List<String> origins = new ArrayList<>();
        for (String o : allowedOrigins) {
            String origin = normalize(o);
            if (!origins.contains(origin)) {
                origins.add(origin);
            }
        }
        allowedOrigins = List.copyOf(origins);
        maxAge = maxAge == null ? DEFAULT_MAX_AGE : maxAge;
        if (maxAge.isNegative() || maxAge.compareTo(Duration.ofDays(1)) > 0) {
            throw new InvalidField("cors.maxAge", "must be between 0s and 1d");
        }
    }

    /** True when some origin is allowed. */
    public boolean enabled() {
        return !allowedOrigins.isEmpty();
    }

    /** True when {@code "*"} is listed. */
    public boolean anyOrigin() {
        return allowedOrigins.contains("*");
    }

    /** True when {@code origin} is listed by name (not merely matched by {@code "*"}). */
    public boolean listed(String origin) {
        return allowedOrigins.contains(origin.toLowerCase(Locale.ROOT));
    }

    /** {@code origin} as {@code scheme://host[:port]} in lower case, or {@code "*"}; refuses anything else. */
    public static String normalize(String origin) {
        String o = origin == null ? "" : origin.trim();
        if (o.equals("*")) {
            return o;
        }
        try {
            URI uri = new URI(o);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            boolean bare = (uri.getRawPath() == null || uri.getRawPath().isEmpty())
                    && uri.getRawQuery() == null
                    && uri.getRawFragment() == null
                    && uri.getRawUserInfo() == null;
            if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null && bare) {
                return o.toLowerCase(Locale.ROOT);
            }
        } catch (URISyntaxException e) {
            // refused below
        }
        throw new InvalidField(
                "cors.allowedOrigins",
                "\"" + o
                        + "\" is not an origin (scheme://host[:port], no path, e.g. https://dash.example.com) or \"*\"");
    }
}
