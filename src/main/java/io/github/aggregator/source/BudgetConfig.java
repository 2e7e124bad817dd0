package io.github.aggregator.source;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A shared request budget ({@code aggregator.budgets}): a plan's quota that every source naming it spends together.
 * Immutable.
 *
 * @param id unique id, {@code [a-z0-9][a-z0-9-]*}, named by a source's {@code budget}
 * @param limits every limit applies at once, e.g. {@code 60/1m} and {@code 1000/1d}
 */
public record BudgetConfig(String id, List<Limit> limits) {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
    private static final Pattern LIMIT = Pattern.compile("\\s*([0-9]{1,9})\\s*/\\s*(\\S.*?)\\s*");
    /** The most requests one limit may count: a sliding log keeps one entry per request. */
    public static final int MAX_REQUESTS = 100_000;

    /**
     * At most {@code requests} requests in any window of {@code window}.
     *
     * @param requests at least 1, at most {@link #MAX_REQUESTS}
     * @param window at least 1s, at most 31 days
     */
    public record Limit(int requests, Duration window) {
        public Limit {
            if (requests < 1 || requests > MAX_REQUESTS) {
                throw new IllegalArgumentException("requests must be between 1 and " + MAX_REQUESTS);
            }
            if (window.compareTo(Duration.ofSeconds(1)) < 0 || window.compareTo(Duration.ofDays(31)) > 0) {
                throw new IllegalArgumentException("window must be between 1s and 31d");
            }
        }

        /**
         * {@code 60/1m}: a count, a slash and a duration (500ms, 30s, 5m, 1h, 1d or ISO-8601).
         *
         * @throws IllegalArgumentException with a one-line reason when the text is not a limit
         */
        public static Limit parse(String text) {
            Matcher m = LIMIT.matcher(text == null ? "" : text);
            if (!m.matches()) {
                throw new IllegalArgumentException(
                        "\"" + text + "\" is not a limit: write requests/window, e.g. 60/1m or 1000/1d");
            }
            Duration window;
            try {
                window = Durations.parse(m.group(2));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(
                        "\"" + text + "\" has no valid window: use 30s, 5m, 1h or 1d after the slash");
            }
            try {
                return new Limit(Integer.parseInt(m.group(1)), window);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("\"" + text + "\": " + e.getMessage());
            }
        }

        /**
         * The window the service counts in: the limit's own, longer by a twentieth (at most 1s), so that a request's
         * time on the wire cannot make the upstream see more than {@code requests} in one window of its own.
         */
        public Duration counted() {
            Duration margin = window.dividedBy(20);
            return window.plus(margin.compareTo(Duration.ofSeconds(1)) > 0 ? Duration.ofSeconds(1) : margin);
        }

        /** The even spacing that spends the limit exactly: the counted window over the requests. */
        public Duration spacing() {
            return counted().dividedBy(requests);
        }

        /** As written in the config: {@code 60/1m}. */
        @Override
        public String toString() {
            long ms = window.toMillis();
            return requests + "/" + (ms % 86_400_000 == 0 ? ms / 86_400_000 + "d" : Durations.format(window));
        }
    }

    public BudgetConfig {
        if (id == null || !ID.matcher(id).matches()) {
            throw new InvalidField("id", "must match [a-z0-9][a-z0-9-]* and be at most 64 characters");
        }
        limits = List.copyOf(limits == null ? List.of() : limits);
        if (limits.isEmpty()) {
            throw new InvalidField("limits", "needs at least one limit, e.g. [60/1m]");
        }
    }

    /** The spacing that keeps every limit: the widest of theirs. */
    public Duration spacing() {
        return limits.stream().map(Limit::spacing).max(Duration::compareTo).orElseThrow();
    }

    /** The fewest requests any one limit allows per window: how many sources the budget can serve at all. */
    public int fewest() {
        return limits.stream().mapToInt(Limit::requests).min().orElseThrow();
    }
}
