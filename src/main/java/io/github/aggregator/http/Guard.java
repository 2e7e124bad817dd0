package io.github.aggregator.http;

import io.github.aggregator.access.Authorizer;
import io.github.aggregator.access.Verdict;
import io.github.aggregator.source.AccessConfig;
import io.github.aggregator.source.SourceConfig;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Who may read which source. A request's token is taken from {@code Authorization: Bearer}, else the query parameter,
 * else the cookie (names from {@link AccessConfig}); only the first one present counts. Public sources ignore tokens
 * altogether; a request that needs a token (a token source, or the list of sources) is refused with 401 when the token
 * is missing or invalid and 403 when it is valid but does not cover the source. The admin token is recognized (from
 * the header only) for the upstream details in {@code /api/sources}, and reads no source. Thread-safe; tokens are
 * never logged or sent back.
 */
public final class Guard {
    private static final String REALM = "Bearer realm=\"aggregator\"";

    private final AccessConfig config;
    private final Authorizer authorizer;
    private final byte[] adminDigest;
    private final Clock clock;

    public Guard(AccessConfig config, String adminToken, Clock clock) {
        this.config = config;
        this.authorizer = new Authorizer(config, clock);
        this.adminDigest = adminToken == null ? null : sha256(adminToken);
        this.clock = clock;
    }

    /**
     * The caller of one request.
     *
     * @param admin true when the request carries the admin token in its Authorization header
     * @param verdict what its source token is worth, or null when it presented none (or access control is off)
     */
    record Caller(boolean admin, Verdict verdict) {
        /** True when a token was presented and found invalid. */
        boolean invalid() {
            return verdict instanceof Verdict.Invalid;
        }

        /** True when the caller may read {@code source}. */
        boolean mayRead(SourceConfig source) {
            return source.access() == SourceConfig.Access.PUBLIC
                    || (verdict instanceof Verdict.Valid v && v.scope().covers(source.id()));
        }

        /** When the caller's token stops being valid, or null for never. */
        Instant expiresAt() {
            return verdict instanceof Verdict.Valid v ? v.expiresAt() : null;
        }
    }

    /** Identifies the caller of {@code req}; verifies its token at most once. */
    Caller caller(ServerRequest req) {
        Optional<String> auth = header(req);
        if (adminDigest != null && auth.isPresent() && MessageDigest.isEqual(adminDigest, sha256(auth.get()))) {
            return new Caller(true, null);
        }
        if (!authorizer.enabled()) {
            return new Caller(false, null);
        }
        String token =
                auth.orElseGet(() -> query(req).orElseGet(() -> cookie(req).orElse(null)));
        return new Caller(false, token == null ? null : authorizer.verify(token));
    }

    /**
     * True when {@code caller} may read every one of {@code sources}; otherwise answers 401 (no token, or an invalid
     * one) or 403 (a valid token that does not cover them all, or the admin token) and returns false.
     */
    boolean admit(ServerRequest req, ServerResponse res, Caller caller, List<SourceConfig> sources) {
        List<String> refused = sources.stream()
                .filter(s -> !caller.mayRead(s))
                .map(SourceConfig::id)
                .toList();
        if (refused.isEmpty()) {
            return true;
        }
        String which = (refused.size() == 1 ? "source " : "sources ") + quoted(refused);
        if (caller.admin()) {
            res.header(HeaderNames.WWW_AUTHENTICATE, REALM + ", error=\"insufficient_scope\"");
            Problem.send(
                    req,
                    res,
                    Status.FORBIDDEN_403,
                    "the admin token reads no source; " + which + " needs an access token");
        } else if (caller.verdict() == null) {
            res.header(HeaderNames.WWW_AUTHENTICATE, REALM);
            Problem.send(req, res, Status.UNAUTHORIZED_401, which + " needs an access token (" + forms() + ")");
        } else if (caller.verdict() instanceof Verdict.Invalid i) {
            unauthorized(req, res, i);
        } else {
            res.header(HeaderNames.WWW_AUTHENTICATE, REALM + ", error=\"insufficient_scope\"");
            Problem.send(req, res, Status.FORBIDDEN_403, "the token does not cover " + which);
        }
        return false;
    }

    /** Answers 401 for a presented token that is not valid. */
    static void unauthorized(ServerRequest req, ServerResponse res, Verdict.Invalid invalid) {
        res.header(HeaderNames.WWW_AUTHENTICATE, REALM + ", error=\"invalid_token\"");
        Problem.send(req, res, Status.UNAUTHORIZED_401, invalid.reason());
    }

    /** True once the token of {@code caller} has expired (a stream then ends). */
    boolean expired(Caller caller) {
        Instant until = caller.expiresAt();
        return until != null && !clock.instant().isBefore(until);
    }

    /** The Bearer credential of the Authorization header; other schemes (e.g. a proxy's Basic) do not count. */
    private static Optional<String> header(ServerRequest req) {
        Optional<String> auth = req.headers().first(HeaderNames.AUTHORIZATION);
        if (auth.isEmpty() || auth.get().length() < 8 || !auth.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        String token = auth.get().substring(7).trim();
        return token.isEmpty() ? Optional.empty() : Optional.of(token);
    }

    /** The query parameter that may carry a token, or null when none may. */
    String tokenParameter() {
        return config.queryParameter();
    }

    private Optional<String> query(ServerRequest req) {
        if (config.queryParameter() == null) {
            return Optional.empty();
        }
        try {
            return req.query().first(config.queryParameter()).asOptional().filter(t -> !t.isBlank());
        } catch (RuntimeException e) {
            return Optional.empty(); // undecodable query: no token
        }
    }

    private Optional<String> cookie(ServerRequest req) {
        if (config.cookie() == null) {
            return Optional.empty();
        }
        try {
            return req.headers().cookies().first(config.cookie()).asOptional().filter(t -> !t.isBlank());
        } catch (RuntimeException e) {
            return Optional.empty(); // malformed Cookie header: no token
        }
    }

    private String forms() {
        StringBuilder sb = new StringBuilder("Authorization: Bearer");
        if (config.cookie() != null) {
            sb.append(", cookie ").append(config.cookie());
        }
        if (config.queryParameter() != null) {
            sb.append(", or ?").append(config.queryParameter()).append('=');
        }
        return sb.toString();
    }

    private static String quoted(List<String> ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.size() && i < 10; i++) {
            sb.append(i == 0 ? "" : ", ").append('"').append(ids.get(i)).append('"');
        }
        return ids.size() > 10 ? sb + " and " + (ids.size() - 10) + " more" : sb.toString();
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
