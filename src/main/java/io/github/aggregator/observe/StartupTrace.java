package io.github.aggregator.observe;

import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Timestamps of the start's phases, for measuring the cold start: off unless the system property {@code
 * aggregator.startupTrace} is set, and then each phase's first occurrence prints one line on stderr, {@code startup:
 * +412 ms first 200 sent (thread main)}, in milliseconds since the JVM started. Given a number, the property is the
 * launch time in microseconds since the epoch (what {@code bench/startup.sh TRACE=1} passes: the moment the script
 * started {@code java}), so the lines add up to the time the benchmark measures; otherwise the JVM's own start time.
 * Off, {@link #mark} is one read of a static final field.
 */
public final class StartupTrace {
    private static final String PROPERTY = "aggregator.startupTrace";
    private static final boolean ON = System.getProperty(PROPERTY) != null;
    private static final long ORIGIN_MICROS = ON ? origin(System.getProperty(PROPERTY)) : 0;
    private static final Set<String> SEEN = ON ? ConcurrentHashMap.newKeySet() : Set.of();

    private StartupTrace() {}

    /** Whether the trace is on. */
    public static boolean on() {
        return ON;
    }

    /** Prints {@code phase} with the time since the start, the first time it is reached; nothing when off. */
    public static void mark(String phase) {
        if (ON && SEEN.add(phase)) {
            long micros = nowMicros();
            // a StringBuilder, not printf or string concatenation: neither may cost the start what it measures
            StringBuilder line = new StringBuilder(80)
                    .append("startup: +")
                    .append((micros - ORIGIN_MICROS) / 1000)
                    .append(" ms ")
                    .append(phase)
                    .append(" (thread ")
                    .append(Thread.currentThread().getName())
                    .append(')');
            System.err.println(line);
        }
    }

    private static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
    }

    private static long origin(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return ManagementFactory.getRuntimeMXBean().getStartTime() * 1000;
        }
    }
}
