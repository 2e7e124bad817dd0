package io.github.aggregator.source;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One source as configured: an upstream URL, or a combination of other sources. Immutable; the compact constructor
 * checks every field and throws {@link IllegalArgumentException} whose message starts with the field name.
 *
 * @param id unique id, {@code [a-z0-9][a-z0-9-]*}
 * @param url absolute http(s) URL, or a path starting with {@code /} that is resolved against this service's own
 *     address (used by the built-in demo sources); null for a combined source
 * @param interval time between fetches (default 60s)
 * @param timeout bound on one whole fetch, connect to last body byte (default 10s)
 * @param headers request headers; values may be secrets and are never logged or served
 * @param select optional RFC 6901 JSON Pointer applied to the response, null for the whole body
 * @param enabled false to keep the source in the file without polling it (default true)
 * @param maxBodySize largest response body accepted, in bytes (default 5 MiB)
 * @param transform optional jq expression applied after {@code select}, before change detection
 * @param format how the body is read: JSON (default) or TEXT (data is the body as a string)
 * @param poll ALWAYS (default) or ON_DEMAND: fetched only while someone reads or subscribes
 * @param idleAfter for on-demand sources, how long after the last read the source goes idle (default 3 intervals)
 * @param minInterval floor between two fetches that no trigger may undercut (default 0: none)
 * @param maxBackoff longest wait after repeated failures (default 10 intervals, at most 15 minutes)
 * @param combine ids of the sources whose data this source combines; empty for an upstream source
 * @param access who may read it: PUBLIC (default) or TOKEN (a token whose grant covers this source)
 * @param auth how the service authenticates to the upstream, or null for none (default); holds secrets
 * @param budget id of the shared request budget ({@link BudgetConfig}) this source spends, or null for none
 *     (default)
 */
public record SourceConfig(
        String id,
        URI url,
        Duration interval,
        Duration timeout,
        Map<String, String> headers,
        String select,
        boolean enabled,
        long maxBodySize,
        String transform,
        Format format,
        Poll poll,
        Duration idleAfter,
        Duration minInterval,
        Duration maxBackoff,
        List<String> combine,
        Access access,
        AuthConfig auth,
        String budget) {

    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(60);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    public static final long DEFAULT_MAX_BODY_SIZE = 5L * 1024 * 1024;
    static final Duration MIN_INTERVAL = Duration.ofMillis(100);
    static final Duration MAX_DEFAULT_BACKOFF = Duration.ofMinutes(15);
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    /** How an upstream body becomes data. */
    public enum Format {
        /** The body is parsed as JSON. */
        JSON,
        /** The body is kept as one JSON string. */
        TEXT
    }

    /** Who may read a source. */
    public enum Access {
        /** Anyone (default). */
        PUBLIC,
        /** Only a caller whose token covers the source (see {@link AccessConfig}). */
        TOKEN
    }

    /** When an upstream is fetched. */
    public enum Poll {
        /** Every interval, from start. */
        ALWAYS,
        /** Only while it has SSE subscribers or was read within {@code idleAfter}. */
        ON_DEMAND
    }

    public SourceConfig {
        if (id == null
                || !ID.matcher(InstanceId.base(id)).matches()
                || InstanceId.base(id).length() > 64) {
            throw new InvalidField(
                    "id", "must match [a-z0-9][a-z0-9-]* and be at most 64 characters, got \"" + id + "\"");
        }
        combine = List.copyOf(combine == null ? List.of() : combine);
        if (combine.isEmpty()) {
            checkUrl(url);
        } else if (url != null) {
            throw new InvalidField("url", "a combined source has no url of its own");
        }
        if (interval == null || interval.compareTo(MIN_INTERVAL) < 0) {
            throw new InvalidField("interval", "must be at least 100ms");
        }
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new InvalidField("timeout", "must be positive");
        }
        headers = Map.copyOf(headers == null ? Map.of() : headers);
        for (String name : headers.keySet()) {
            if (!HEADER_NAME.matcher(name).matches()) {
                throw new InvalidField("headers", "\"" + name + "\" is not a valid header name");
            }
            String value = headers.get(name);
            if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0) {
                // never echo the value: it may be a secret
                throw new InvalidField("headers." + name, "value must not contain line breaks");
            }
        }
        if (select != null && !select.isEmpty() && !select.startsWith("/")) {
            throw new InvalidField(
                    "select", "must be an RFC 6901 JSON Pointer starting with \"/\", got \"" + select + "\"");
        }
        if (select != null && select.isEmpty()) {
            select = null;
        }
        if (maxBodySize < 1) {
            throw new InvalidField("maxBodySize", "must be positive");
        }
        format = format == null ? Format.JSON : format;
        if (format == Format.TEXT && select != null) {
            throw new InvalidField("select", "needs format json (use transform on text)");
        }
        poll = poll == null ? Poll.ALWAYS : poll;
        idleAfter = idleAfter == null ? times(interval, 3) : idleAfter;
        if (idleAfter.isNegative() || idleAfter.isZero()) {
            throw new InvalidField("idleAfter", "must be positive");
        }
        minInterval = minInterval == null ? Duration.ZERO : minInterval;
        if (minInterval.isNegative()) {
            throw new InvalidField("minInterval", "must not be negative");
        }
        if (interval.compareTo(minInterval) < 0) {
            throw new InvalidField("interval", "must not be shorter than minInterval");
        }
        if (maxBackoff == null) {
            Duration capped = min(times(interval, 10), MAX_DEFAULT_BACKOFF);
            maxBackoff = capped.compareTo(interval) < 0 ? interval : capped;
        }
        if (maxBackoff.compareTo(interval) < 0) {
            throw new InvalidField("maxBackoff", "must not be shorter than interval");
        }
        access = access == null ? Access.PUBLIC : access;
        if (auth != null && url != null && url.getScheme() == null) {
            throw new InvalidField("auth", "a path URL names this service itself, which takes no upstream auth");
        }
        budget = budget == null || budget.isBlank() ? null : budget.trim();
    }

    /** Like the canonical constructor, without auth or budget. */
    public SourceConfig(
            String id,
            URI url,
            Duration interval,
            Duration timeout,
            Map<String, String> headers,
            String select,
            boolean enabled,
            long maxBodySize,
            String transform,
            Format format,
            Poll poll,
            Duration idleAfter,
            Duration minInterval,
            Duration maxBackoff,
            List<String> combine,
            Access access) {
        this(
                id,
                url,
                interval,
                timeout,
                headers,
                select,
                enabled,
                maxBodySize,
                transform,
                format,
                poll,
                idleAfter,
                minInterval,
                maxBackoff,
                combine,
                access,
                null,
                null);
    }

    /** This source with {@code auth} and {@code budget}. */
    public SourceConfig with(AuthConfig auth, String budget) {
        return copy(id, url, poll, combine, auth, budget);
    }

    /** This combined source with {@code parts} (e.g. instance names in their canonical form) as its parts. */
    public SourceConfig withCombine(List<String> parts) {
        return copy(id, url, poll, parts, auth, budget);
    }

    /** A copy with the given components, every other one as this source's (defaults are already resolved here). */
    private SourceConfig copy(String id, URI url, Poll poll, List<String> combine, AuthConfig auth, String budget) {
        return new SourceConfig(
                id,
                url,
                interval,
                timeout,
                headers,
                select,
                enabled,
                maxBodySize,
                transform,
                format,
                poll,
                idleAfter,
                minInterval,
                maxBackoff,
                combine,
                access,
                auth,
                budget);
    }

    /**
     * {@code d * n}, like {@link Duration#multipliedBy} (ArithmeticException on overflow) but without its BigDecimal
     * arithmetic, whose class initialization alone cost ~15 ms on the path to the service's first answer.
     */
    private static Duration times(Duration d, int n) {
        return Duration.ofSeconds(Math.multiplyExact(d.getSeconds(), n), (long) d.getNano() * n);
    }

    /** A disabled source that is kept by id only: every other field at its default, never polled. */
    public static SourceConfig placeholder(String id) {
        return new SourceConfig(
                id,
                URI.create("/"),
                DEFAULT_INTERVAL,
                DEFAULT_TIMEOUT,
                Map.of(),
                null,
                false,
                DEFAULT_MAX_BODY_SIZE,
                null,
                null,
                null,
                null,
                null,
                null,
                List.of(),
                null);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * This source's settings under instance id {@code instanceId} ({@link InstanceId}) fetching {@code instanceUrl},
     * polled on demand.
     */
    public SourceConfig forInstance(String instanceId, URI instanceUrl) {
        return copy(instanceId, instanceUrl, Poll.ON_DEMAND, combine, auth, budget);
    }

    /** The id metrics and grants use: the template's id for an instance, else the id. */
    public String baseId() {
        return InstanceId.base(id);
    }

    /** True when this source is built from other sources rather than fetched. */
    public boolean combined() {
        return !combine.isEmpty();
    }

    private static void checkUrl(URI url) {
        if (url == null) {
            throw new InvalidField("url", "is required");
        }
        if (url.getScheme() == null) {
            if (url.getHost() != null || url.getPath() == null || !url.getPath().startsWith("/")) {
                throw new InvalidField("url", "must be an absolute http(s) URL or a path starting with /");
            }
            return;
        }
        String scheme = url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new InvalidField("url", "unsupported scheme \"" + scheme + "\" (use http or https)");
        }
        if (url.getHost() == null || url.getHost().isEmpty()) {
            throw new InvalidField("url", "has no host");
        }
    }

    /** The URL without user info, query or fragment: safe to log and to serve; null for a combined source. */
    public String safeUrl() {
        return url == null ? null : redact(url);
    }

    /** {@code uri} without user info, query or fragment. */
    public static String redact(URI uri) {
        StringBuilder sb = new StringBuilder();
        if (uri.getScheme() != null) {
            sb.append(uri.getScheme()).append("://").append(uri.getHost());
            if (uri.getPort() >= 0) {
                sb.append(':').append(uri.getPort());
            }
        }
        sb.append(uri.getRawPath() == null ? "" : uri.getRawPath());
        return sb.toString();
    }
}
