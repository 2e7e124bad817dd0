package io.github.aggregator.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs the {@code wrk} load generator and reads its report. */
final class Wrk {
    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern P50 = Pattern.compile("\\n\\s+50%\\s+(\\S+)");
    private static final Pattern P99 = Pattern.compile("\\n\\s+99%\\s+(\\S+)");
    private static final Pattern BAD = Pattern.compile("Non-2xx or 3xx responses:\\s+(\\d+)");
    private static final Pattern SOCKET = Pattern.compile("Socket errors:([^\\n]*)");
    private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in");

    /**
     * One run's figures.
     *
     * @param rps requests per second
     * @param p50 median latency as wrk prints it ({@code 1.23ms})
     * @param p99 99th percentile latency as wrk prints it
     * @param errors non-2xx/3xx responses and socket errors, empty when none
     * @param requests requests completed
     */
    record Run(double rps, String p50, String p99, String errors, long requests) {}

    private final List<String> options;
    private final Path pids;

    /**
     * @param options wrk's load settings, e.g. {@code -t2 -c64 -d10s}
     * @param pids file each wrk's pid is appended to, for the calling script to kill on exit
     */
    Wrk(List<String> options, Path pids) {
        this.options = List.copyOf(options);
        this.pids = pids;
    }

    /** Runs wrk against {@code url}, with {@code header} ({@code Name: value}) on every request when not null. */
    Run run(String url, String header, List<String> override) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("wrk"));
        cmd.addAll(options);
        cmd.addAll(override);
        cmd.add("--latency");
        if (header != null) {
            cmd.add("-H");
            cmd.add(header);
        }
        cmd.add(url);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Files.writeString(pids, p.pid() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("wrk failed: " + out);
        }
        Matcher rps = RPS.matcher(out);
        if (!rps.find()) {
            throw new IOException("no Requests/sec in wrk output: " + out);
        }
        List<String> errors = new ArrayList<>();
        Matcher bad = BAD.matcher(out);
        if (bad.find()) {
            errors.add(bad.group(1) + " non-2xx/3xx");
        }
        Matcher socket = SOCKET.matcher(out);
        if (socket.find()) {
            errors.add("socket errors:" + socket.group(1));
        }
        Matcher requests = REQUESTS.matcher(out);
        return new Run(
                Double.parseDouble(rps.group(1)),
                find(P50, out),
                find(P99, out),
                String.join(", ", errors),
                requests.find() ? Long.parseLong(requests.group(1)) : 0);
    }

    /** The load settings, as given. */
    @Override
    public String toString() {
        return String.join(" ", options);
    }

    private static String find(Pattern p, String out) {
        Matcher m = p.matcher(out);
        return m.find() ? m.group(1) : "?";
    }
}
