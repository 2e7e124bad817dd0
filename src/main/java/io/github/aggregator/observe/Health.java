package io.github.aggregator.observe;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Liveness and readiness as lists of named checks. {@code /observe/health/live} asks the liveness checks (is the
 * process worth keeping: a platform restarts it when not), {@code /observe/health/ready} the readiness checks (should
 * it get traffic: a platform routes none to it while not), {@code /observe/health} both. The answer is UP when every
 * check is UP.
 *
 * <p>This is the seam for other parts of the service: register a check once at wiring time, e.g. the cluster mode
 * adds {@code readiness("redis", ...)} returning {@link Result#down} while Redis is unreachable, and reports a degraded
 * cluster as a detail of an UP result ({@code Result.up(Map.of("cluster", "degraded"))}) so that the instance keeps
 * serving what it has. Checks run on the request thread each time a probe asks: they must be fast and bounded (read a
 * flag or a cached state, never wait on the network without a short timeout). A check that throws counts as DOWN. Details
 * are shown to anyone who can reach the endpoint: never put secrets, URLs with credentials or machine paths in them.
 * Thread-safe.
 */
public final class Health {

    public enum Status {
        UP,
        DOWN
    }

    /**
     * What one check found.
     *
     * @param status UP or DOWN
     * @param details small facts shown with it (strings, numbers, booleans), in insertion order
     */
    public record Result(Status status, Map<String, Object> details) {
        public Result {
            details = details == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(details));
        }

        public static Result up() {
            return new Result(Status.UP, Map.of());
        }

        public static Result up(Map<String, Object> details) {
            return new Result(Status.UP, details);
        }

        /** DOWN, with {@code reason} as the {@code reason} detail. */
        public static Result down(String reason) {
            return new Result(Status.DOWN, Map.of("reason", reason));
        }
    }

    /** One named check. */
    @FunctionalInterface
    public interface Check {
        Result check();
    }

    /** The result of one named check. */
    public record Entry(String name, Result result) {}

    /** The combined answer: UP when every check is UP (and when there are none). */
    public record Report(Status status, List<Entry> checks) {}

    private record Named(String name, Check check) {}

    private final List<Named> liveness = new CopyOnWriteArrayList<>();
    private final List<Named> readiness = new CopyOnWriteArrayList<>();

    /** Adds a liveness check named {@code name}. */
    public void liveness(String name, Check check) {
        liveness.add(new Named(requireName(name), check));
    }

    /** Adds a readiness check named {@code name}. */
    public void readiness(String name, Check check) {
        readiness.add(new Named(requireName(name), check));
    }

    /** Runs the liveness checks. */
    public Report live() {
        return run(liveness);
    }

    /** Runs the readiness checks. */
    public Report ready() {
        return run(readiness);
    }

    /** Runs every check, liveness first. */
    public Report all() {
        List<Named> every = new ArrayList<>(liveness);
        every.addAll(readiness);
        return run(every);
    }

    private static Report run(List<Named> checks) {
        List<Entry> entries = new ArrayList<>(checks.size());
        Status overall = Status.UP;
        for (Named n : checks) {
            Result r;
            try {
                r = n.check().check();
                if (r == null) {
                    r = Result.down("check returned nothing");
                }
            } catch (RuntimeException e) {
                // the exception's message may carry anything (addresses, credentials): only its type is shown
                r = Result.down("check failed: " + e.getClass().getSimpleName());
            }
            if (r.status() == Status.DOWN) {
                overall = Status.DOWN;
            }
            entries.add(new Entry(n.name(), r));
        }
        return new Report(overall, List.copyOf(entries));
    }

    private static String requireName(String name) {
        if (name == null || !name.matches("[a-z0-9][a-z0-9-]*")) {
            throw new IllegalArgumentException("check name must match [a-z0-9][a-z0-9-]*: " + name);
        }
        return name;
    }
}
