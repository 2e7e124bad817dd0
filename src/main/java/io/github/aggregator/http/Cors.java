package io.github.aggregator.http;

import io.github.aggregator.source.CorsConfig;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.util.Optional;

/**
 * Cross-origin reads of {@code /api/*} from the configured origins. A preflight ({@code OPTIONS} with {@code
 * Access-Control-Request-Method}) from an allowed origin for GET or HEAD gets 204 with the allowed methods and headers
 * and {@code Access-Control-Max-Age}; any other preflight gets 403. Every other request from an allowed origin gets
 * {@code Access-Control-Allow-Origin} (the origin itself, or {@code *} for an origin matched only by {@code "*"}), the
 * response headers scripts may read, and {@code Access-Control-Allow-Credentials: true} only when credentials are
 * allowed and the origin is listed by name. With any origin configured, {@code /api/*} answers carry {@code Vary:
 * Origin}. The admin endpoints are POST-only and never allowed cross-origin. Thread-safe.
 */
public final class Cors implements ConnectionLimits.Front {
    static final String ALLOW_METHODS = "GET, HEAD";
    static final String ALLOW_HEADERS = "Authorization, Last-Event-ID, If-None-Match, If-Modified-Since, Cache-Control";
    static final String EXPOSE_HEADERS = "ETag, Last-Modified, Cache-Control, Retry-After, WWW-Authenticate";
    private static final HeaderName REQUEST_METHOD = HeaderNames.create("Access-Control-Request-Method");

    private final CorsConfig config;

    public Cors(CorsConfig config) {
        this.config = config;
    }

    /**
     * Adds the CORS headers of {@code req}'s answer, or answers a preflight itself.
     *
     * @return true when it answered (a preflight), false when the routes answer
     */
    @Override
    public boolean answered(RoutingRequest req, RoutingResponse res) {
        String path = req.path().path();
        if (!path.equals("/api") && !path.startsWith("/api/")) {
            return false;
        }
        Optional<String> origin = req.headers().first(HeaderNames.ORIGIN);
        Optional<String> requestMethod = req.headers().first(REQUEST_METHOD);
        boolean preflight =
                req.prologue().method() == Method.OPTIONS && origin.isPresent() && requestMethod.isPresent();
        if (config.enabled()) {
            res.headers().add(HeaderNames.VARY, "Origin");
        }
        String allowed = origin.map(this::allowOrigin).orElse(null);
        if (preflight) {
            preflight(req, res, allowed, requestMethod.get().trim());
            return true;
        }
        if (allowed != null) {
            allow(res, allowed);
            res.header(HeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
        }
        return false;
    }

    private void preflight(RoutingRequest req, RoutingResponse res, String allowed, String method) {
        if (allowed == null) {
            Problem.send(req, res, Status.FORBIDDEN_403, "cross-origin requests from this origin are not allowed");
            return;
        }
        if (!method.equals("GET") && !method.equals("HEAD")) {
            Problem.send(req, res, Status.FORBIDDEN_403, "cross-origin requests may only GET or HEAD");
            return;
        }
        allow(res, allowed);
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
        res.header(
                HeaderNames.ACCESS_CONTROL_MAX_AGE,
                Long.toString(config.maxAge().toSeconds()));
        res.headers().add(HeaderNames.VARY, "Access-Control-Request-Method", "Access-Control-Request-Headers");
        res.status(Status.NO_CONTENT_204).send();
    }

    private void allow(RoutingResponse res, String allowed) {
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if (config.allowCredentials() && !allowed.equals("*")) {
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        }
    }

    /** The Access-Control-Allow-Origin value for {@code origin}, or null when it may not read. */
    private String allowOrigin(String origin) {
        if (config.listed(origin)) {
            return origin;
        }
        return config.anyOrigin() ? "*" : null;
    }
}
