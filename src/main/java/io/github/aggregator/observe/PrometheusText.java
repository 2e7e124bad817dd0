package io.github.aggregator.observe;

import java.math.BigDecimal;
import java.util.concurrent.TimeUnit;

/**
 * Writes the Prometheus text exposition format, version 0.0.4: per metric family a {@code # HELP} and a {@code # TYPE}
 * line, then its samples, {@code name{label="value",...} value}. Label values are escaped ({@code \\}, {@code \"},
 * {@code \n}). Not thread-safe: one instance per scrape.
 */
public final class PrometheusText {
    /** The content type Prometheus expects for this format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final StringBuilder out = new StringBuilder(4096);

    /** Starts a metric family: {@code type} is {@code counter}, {@code gauge} or {@code histogram}. */
    public PrometheusText family(String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        return this;
    }

    /** One sample; {@code labels} are name/value pairs. */
    public PrometheusText sample(String name, long value, String... labels) {
        name(name, labels);
        out.append(' ').append(value).append('\n');
        return this;
    }

    /** One sample with a floating-point value. */
    public PrometheusText sample(String name, double value, String... labels) {
        name(name, labels);
        out.append(' ').append(Double.toString(value)).append('\n');
        return this;
    }

    /**
     * The samples of one histogram series: cumulative {@code _bucket}s with {@code le}, {@code _sum} in seconds and
     * {@code _count}, from a {@link Metrics.Reading}'s non-cumulative buckets.
     */
    public PrometheusText histogram(String name, long[] buckets, long sumNanos, String... labels) {
        String[] withLe = new String[labels.length + 2];
        System.arraycopy(labels, 0, withLe, 0, labels.length);
        withLe[labels.length] = "le";
        long cumulative = 0;
        for (int i = 0; i < buckets.length; i++) {
            cumulative += buckets[i];
            withLe[labels.length + 1] = i < Metrics.LATENCY_BUCKETS.length ? bound(Metrics.LATENCY_BUCKETS[i]) : "+Inf";
            sample(name + "_bucket", cumulative, withLe);
        }
        sample(name + "_sum", sumNanos / (double) TimeUnit.SECONDS.toNanos(1), labels);
        // the count is the +Inf bucket, so the two always agree even while fetches are being recorded
        sample(name + "_count", cumulative, labels);
        return this;
    }

    /** The text written so far. */
    public String text() {
        return out.toString();
    }

    private void name(String name, String... labels) {
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels must be name/value pairs");
        }
        out.append(name);
        if (labels.length == 0) {
            return;
        }
        out.append('{');
        for (int i = 0; i < labels.length; i += 2) {
            if (i > 0) {
                out.append(',');
            }
            out.append(labels[i]).append("=\"");
            escape(labels[i + 1]);
            out.append('"');
        }
        out.append('}');
    }

    private void escape(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
    }

    /** A bucket bound as Prometheus clients write it: {@code 0.005}, {@code 1}, {@code 2.5}. */
    private static String bound(double b) {
        return BigDecimal.valueOf(b).stripTrailingZeros().toPlainString();
    }
}
