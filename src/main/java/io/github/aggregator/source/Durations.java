package io.github.aggregator.source;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the friendly duration formats accepted in config: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, ISO-8601. */
public final class Durations {
    private static final Pattern SHORT = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private Durations() {}

    /**
     * Parses {@code text} as a duration.
     *
     * @throws IllegalArgumentException with a message that says which formats are accepted
     */
    public static Duration parse(String text) {
        String t = text == null ? "" : text.trim();
        Matcher m = SHORT.matcher(t);
        if (m.matches()) {
            long n;
            try {
                n = Long.parseLong(m.group(1));
            } catch (NumberFormatException e) {
                throw invalid(t);
            }
            try {
                return switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            } catch (ArithmeticException e) {
                throw invalid(t);
            }
        }
        if (t.regionMatches(true, 0, "P", 0, 1)) {
            try {
                return Duration.parse(t.toUpperCase(java.util.Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw invalid(t);
            }
        }
        throw invalid(t);
    }

    /** Formats a duration the way config accepts it, e.g. {@code 500ms}, {@code 30s}, {@code 5m}. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }

    private static IllegalArgumentException invalid(String t) {
        return new IllegalArgumentException(
                "\"" + t + "\" is not a duration (use 500ms, 30s, 5m, 1h or ISO-8601 such as PT30S)");
    }
}
