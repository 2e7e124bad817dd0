package io.github.aggregator.fetch;

import io.helidon.http.DateTime;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads when an upstream wants no request: its own rate-limit response headers (when they say none remain, until
 * when to keep quiet), and a 429/503's {@code Retry-After}.
 *
 * <ul>
 *   <li>The IETF fields (draft-ietf-httpapi-ratelimit-headers): {@code RateLimit: "default";r=0;t=30} with {@code
 *       RateLimit-Policy: "default";q=100;w=60} (a missing {@code t} falls back to the policy's window {@code w}),
 *       the earlier {@code RateLimit: limit=100, remaining=0, reset=30}, and separate {@code RateLimit-Remaining} /
 *       {@code RateLimit-Reset}; resets are delta seconds.
 *   <li>The common {@code X-RateLimit-Remaining} / {@code X-RateLimit-Reset}, the reset in seconds from now or as an
 *       epoch time in seconds (GitHub) or milliseconds.
 * </ul>
 *
 * A wait is at most 24 hours. Stateless.
 */
final class RateLimits {
    private static final Duration MAX_WAIT = Duration.ofHours(24);
    /** A reset larger than this is an epoch time (seconds since 1970; about 2001-09-09), not a delay. */
    private static final long EPOCH_SECONDS_FROM = 1_000_000_000L;

    private static final long EPOCH_MILLIS_FROM = 1_000_000_000_000L;
    private static final Pattern REMAINING = Pattern.compile("(?:^|[;,\\s])(?:r|remaining)\\s*=\\s*(\\d{1,18})");
    private static final Pattern RESET = Pattern.compile("(?:^|[;,\\s])(?:t|reset)\\s*=\\s*(\\d{1,18})");
    private static final Pattern WINDOW = Pattern.compile("(?:^|[;,\\s])w\\s*=\\s*(\\d{1,18})");
    private static final Pattern NUMBER = Pattern.compile("\\s*(\\d{1,18})(?:\\.\\d+)?\\s*");

    private RateLimits() {}

    /**
     * The time before which the upstream asked for no request, when its headers say none remain; empty otherwise (or
     * when they do not say until when).
     *
     * @param header the response's header values by name (case-insensitive), the first value of each
     */
    static Optional<Instant> quietUntil(Function<String, Optional<String>> header, Instant now) {
        Optional<Instant> ietf = header.apply("RateLimit").flatMap(v -> structured(v, header, now));
        if (ietf.isPresent()) {
            return ietf;
        }
        Optional<Instant> split = separate(header, "RateLimit-Remaining", "RateLimit-Reset", now, false);
        if (split.isPresent()) {
            return split;
        }
        return separate(header, "X-RateLimit-Remaining", "X-RateLimit-Reset", now, true);
    }

    /**
     * {@code RateLimit} as one field: the earlier dictionary ({@code limit=, remaining=, reset=}), or a list of policy
     * items ({@code "name";r=;t=}), of which the latest reset among those with none left counts.
     */
    private static Optional<Instant> structured(String value, Function<String, Optional<String>> header, Instant now) {
        if (value.contains("remaining")) {
            Long remaining = find(REMAINING, value);
            Long reset = find(RESET, value);
            return remaining != null && remaining == 0 && reset != null
                    ? Optional.of(capped(now, reset)).filter(now::isBefore)
                    : Optional.empty();
        }
        Instant latest = null;
        for (String item : value.split(",")) {
            Long remaining = find(REMAINING, item);
            if (remaining == null || remaining != 0) {
                continue;
            }
            Long seconds = find(RESET, item);
            if (seconds == null) {
                seconds = header.apply("RateLimit-Policy")
                        .map(p -> find(WINDOW, p))
                        .orElse(null);
            }
            if (seconds != null) {
                Instant at = capped(now, seconds);
                latest = latest == null || at.isAfter(latest) ? at : latest;
            }
        }
        return Optional.ofNullable(latest).filter(now::isBefore);
    }

    private static Optional<Instant> separate(
            Function<String, Optional<String>> header,
            String remainingName,
            String resetName,
            Instant now,
            boolean epoch) {
        Long remaining = header.apply(remainingName).map(RateLimits::number).orElse(null);
        if (remaining == null || remaining != 0) {
            return Optional.empty();
        }
        Long reset = header.apply(resetName).map(RateLimits::number).orElse(null);
        if (reset == null) {
            return Optional.empty();
        }
        Instant at;
        if (epoch && reset >= EPOCH_MILLIS_FROM) {
            at = Instant.ofEpochMilli(reset);
        } else if (epoch && reset >= EPOCH_SECONDS_FROM) {
            at = Instant.ofEpochSecond(reset);
        } else {
            at = capped(now, reset);
        }
        Instant cap = now.plus(MAX_WAIT);
        return Optional.of(at.isAfter(cap) ? cap : at).filter(now::isBefore);
    }

    private static Instant capped(Instant now, long seconds) {
        return now.plusSeconds(Math.min(seconds, MAX_WAIT.toSeconds()));
    }

    private static Long find(Pattern p, String s) {
        Matcher m = p.matcher(s);
        return m.find() ? Long.parseLong(m.group(1)) : null;
    }

    private static Long number(String s) {
        Matcher m = NUMBER.matcher(s);
        return m.matches() ? Long.parseLong(m.group(1)) : null;
    }

    /**
     * When a 429/503 answer asks to be called again: {@code Retry-After} in seconds or as an HTTP date, at most 24 hours
     * ahead; null when absent, malformed or already past.
     */
    static Instant retryAfter(String header, Instant now) {
        if (header == null || header.isBlank()) {
            return null;
        }
        String v = header.trim();
        Instant at;
        if (v.matches("\\d+")) {
            // delay-seconds has no length limit (RFC 9110); a delay past the cap is the cap
            at = now.plusSeconds(new BigInteger(v)
                    .min(BigInteger.valueOf(MAX_WAIT.toSeconds()))
                    .longValueExact());
        } else {
            try {
                at = DateTime.parse(v).toInstant();
            } catch (RuntimeException e) {
                return null;
            }
        }
        Instant cap = now.plus(MAX_WAIT);
        if (!at.isAfter(now)) {
            return null;
        }
        return at.isAfter(cap) ? cap : at;
    }
}
