package io.github.aggregator.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * JSON endpoint throughput: wrk against {@code GET /api/sources/{id}} of the running service, without validators
 * (200) and with the current ETag in {@code If-None-Match} (304), and against a {@link BareServer} in its own JVM that
 * answers a copy of the same 200 body. The three targets are run in interleaved rounds after a warm-up, so a noisy
 * neighbour on the machine affects them alike; the figures are the medians.
 */
final class Throughput {
    private static final int ROUNDS = 5;
    private static final Pattern PORT = Pattern.compile("port (\\d+)");

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final Path work;
    private final Path pids;
    private final List<String> jvmOptions;
    private final List<String> serverSettings;
    private final String classpath;
    private final Wrk wrk;

    /**
     * @param work folder for the body copy and the bare server's log
     * @param pids file the bare server's pid is appended to
     * @param jvmOptions the service's JVM options, used for the bare server too
     * @param serverSettings the service's Helidon web server settings ({@code KEY=VALUE}), used for the bare server too
     * @param classpath classpath of the benchmark classes and Helidon
     * @param wrk wrk with the load settings
     */
    Throughput(Path work, Path pids, List<String> jvmOptions, List<String> serverSettings, String classpath, Wrk wrk) {
        this.work = work;
        this.pids = pids;
        this.jvmOptions = jvmOptions;
        this.serverSettings = serverSettings;
        this.classpath = classpath;
        this.wrk = wrk;
    }

    /** Measures {@code url} (the service's {@code /api/sources/{id}}) and the bare route; returns the report lines. */
    List<String> measure(String url) throws Exception {
        HttpResponse<byte[]> full = get(url, null);
        String etag = full.headers().firstValue("ETag").orElseThrow();
        String type = full.headers().firstValue("Content-Type").orElseThrow();
        int conditional = get(url, etag).statusCode();
        if (full.statusCode() != 200 || conditional != 304) {
            throw new IllegalStateException("expected 200 and 304, got " + full.statusCode() + " and " + conditional);
        }
        Path body = work.resolve("body.json");
        Files.write(body, full.body());
        Path log = work.resolve("bare.log");
        List<String> args =
                new ArrayList<>(List.of("-cp", classpath, BareServer.class.getName(), body.toString(), type));
        args.addAll(serverSettings);
        try (JvmProcess server = new JvmProcess("bare server", jvmOptions, args, Map.of(), log, pids)) {
            Fanout.await(
                    "the bare server to listen",
                    Duration.ofSeconds(30),
                    () -> PORT.matcher(Fanout.read(log)).find());
            Matcher m = PORT.matcher(Fanout.read(log));
            m.find();
            String bareUrl = url.replaceFirst(":\\d+/", ":" + m.group(1) + "/");
            if (get(bareUrl, null).body().length != full.body().length) {
                throw new IllegalStateException("the bare server answers another body");
            }
            String ifNoneMatch = "If-None-Match: " + etag;
            Fanout.progress("wrk warm-up (5 s per target)");
            wrk.run(url, null, List.of("-d5s"));
            wrk.run(bareUrl, null, List.of("-d5s"));
            wrk.run(url, ifNoneMatch, List.of("-d5s"));
            List<Wrk.Run> bare = new ArrayList<>(), ok = new ArrayList<>(), notModified = new ArrayList<>();
            for (int round = 1; round <= ROUNDS; round++) {
                Fanout.progress("wrk round " + round + " of " + ROUNDS + ": bare, 200, 304 (" + wrk + ")");
                bare.add(wrk.run(bareUrl, null, List.of()));
                ok.add(wrk.run(url, null, List.of()));
                notModified.add(wrk.run(url, ifNoneMatch, List.of()));
            }
            double bareRps = median(bare).rps();
            return List.of(
                    "wrk: " + wrk + ", body " + full.body().length + " bytes " + type + ", " + ROUNDS
                            + " interleaved rounds, median",
                    line("json_200", ok, bareRps),
                    line("json_304", notModified, bareRps),
                    line("bare_200", bare, bareRps));
        }
    }

    /** {@code NAME_rps: median (ratio to bare; every run; latency of the median run; errors)}. */
    private static String line(String name, List<Wrk.Run> runs, double bareRps) {
        Wrk.Run median = median(runs);
        StringBuilder sb = new StringBuilder(name + "_rps: ");
        sb.append(String.format(Locale.ROOT, "%.0f (x%.2f of bare; runs", median.rps(), median.rps() / bareRps));
        for (Wrk.Run r : runs) {
            sb.append(String.format(Locale.ROOT, " %.0f", r.rps()));
        }
        sb.append("; latency p50 ").append(median.p50()).append(", p99 ").append(median.p99());
        runs.stream()
                .filter(r -> !r.errors().isEmpty())
                .forEach(r -> sb.append("; ").append(r.errors()));
        return sb.append(')').toString();
    }

    /** The run with the median requests/s (the upper one of an even count). */
    private static Wrk.Run median(List<Wrk.Run> runs) {
        List<Wrk.Run> sorted = new ArrayList<>(runs);
        sorted.sort(Comparator.comparingDouble(Wrk.Run::rps));
        return sorted.get(sorted.size() / 2);
    }

    private HttpResponse<byte[]> get(String url, String ifNoneMatch) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (ifNoneMatch != null) {
            b.header("If-None-Match", ifNoneMatch);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }
}
