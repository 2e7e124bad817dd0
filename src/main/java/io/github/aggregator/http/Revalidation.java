package io.github.aggregator.http;

import io.helidon.http.DateTime;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.function.Predicate;

/** Conditional GETs: If-None-Match against the service's entity tags, If-Modified-Since. Stateless. */
final class Revalidation {
    private Revalidation() {}

    /** What an entity tag of the service names: {@code "<version>-<hash>"}. */
    record Tag(long version, String hash) {
        /** The tag's parts, or null when {@code tag} is not one of the service's (quoted, a version, a dash). */
        static Tag parse(String tag) {
            int dash = tag.indexOf('-');
            if (tag.length() < 4 || tag.charAt(0) != '"' || !tag.endsWith("\"") || dash < 2 || dash > 20) {
                return null;
            }
            try {
                return new Tag(Long.parseLong(tag.substring(1, dash)), tag.substring(dash + 1, tag.length() - 1));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /**
     * Whether the request's validators say the client holds {@code etag} (or, through {@code alsoCurrent}, a tag that
     * names the same content), or, without If-None-Match, a copy at least as new as {@code changedAt}.
     */
    static boolean notModified(ServerRequest req, String etag, Predicate<String> alsoCurrent, Instant changedAt) {
        Optional<String> inm = req.headers().first(HeaderNames.IF_NONE_MATCH);
        if (inm.isPresent()) {
            return matches(inm.get(), etag, alsoCurrent);
        }
        Optional<String> ims = req.headers().first(HeaderNames.IF_MODIFIED_SINCE);
        if (ims.isPresent()) {
            try {
                Instant since = DateTime.parse(ims.get()).toInstant();
                return !changedAt.truncatedTo(ChronoUnit.SECONDS).isAfter(since);
            } catch (RuntimeException e) {
                return false; // an unparseable date is ignored, as RFC 9110 says
            }
        }
        return false;
    }

    /** Weak comparison of an If-None-Match list against {@code etag}, as RFC 9110 requires for GET. */
    static boolean matches(String header, String etag) {
        return matches(header, etag, tag -> false);
    }

    /** As {@link #matches(String, String)}, where a tag of the list that is not {@code etag} may still match. */
    static boolean matches(String header, String etag, Predicate<String> also) {
        if (header.equals(etag)) {
            return true; // the usual revalidation: the one tag the client was given
        }
        for (String candidate : header.split(",")) {
            String c = candidate.trim();
            if (c.equals("*")) {
                return true;
            }
            if (c.startsWith("W/")) {
                c = c.substring(2);
            }
            if (c.equals(etag) || also.test(c)) {
                return true;
            }
        }
        return false;
    }
}
