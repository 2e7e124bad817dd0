package io.github.aggregator.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The cluster benchmark, run by {@code bench/cluster.sh}. On 127.0.0.1 only, one {@link SequenceUpstream} in this JVM
 * whose body changes on every request, polled every {@code interval} by:
 *
 * <ol>
 *   <li><b>single</b>: one instance of the service without Redis;
 *   <li><b>cluster</b>: {@code instances} instances (separate JVMs, {@code java -jar}) sharing the benchmark's own
 *       {@code redis-server} through {@code REDIS_URL}.
 * </ol>
 *
 * Each instance sends its own User-Agent, so the upstream knows which one fetched each change. {@code subscribers} SSE
 * streams ({@link ChangeStreams}) per instance stamp the arrival of each change; after a warm-up, every change served
 * within a window of {@code changes} intervals is timed from the upstream serving it to each stream reading it, and
 * the upstream requests in that window are counted. The benchmark's {@code redis-server} runs through both setups (the
 * single instance does not use it): during each window a probe times {@code PING} round trips to it, a measure of how
 * long the busy machine keeps a woken thread waiting. The report ({@code key: value} lines) goes to stdout, progress
 * to stderr.
 */
public final class Cluster {
    private static final String SOURCE = "bench";
    private static final Duration START_DEADLINE = Duration.ofSeconds(60);
    private static final String PROBE =
            "  (machine noise: PING round trip, benchmark JVM -> redis-server, every 50 ms in the window)";

    private final Map<String, String> options;
    private final int changes;
    private final int perInstance;
    private final int instances;
    private final long intervalMillis;
    private final long warmupMillis;
    private final Path work;
    private final Path pids;
    private final List<String> serverOpts;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    /** What one setup measured. */
    private record Result(
            String name,
            List<String> agents,
            long[] all, // every stream, every change
            long[] fetcher, // streams on the instance that fetched the change
            long[] other, // streams on the other instances
            long[] firstFetcher, // per change: the first stream on the fetching instance
            long[] hop, // per change: first stream on another instance minus first on the fetching one
            long samples,
            long missed,
            int requests,
            Map<String, Integer> byAgent,
            double windowSeconds,
            double meanGapMillis,
            double minGapMillis,
            int doubled,
            int holderChanges,
            long[] cpuMillis,
            long[] warnings,
            long[] rtt,
            Map<String, Integer> streamFailures) {}

    private Cluster(Map<String, String> options) {
        this.options = options;
        this.changes = Integer.parseInt(Fanout.option(options, "changes"));
        this.perInstance = Integer.parseInt(Fanout.option(options, "subscribers"));
        this.instances = Integer.parseInt(Fanout.option(options, "instances"));
        this.intervalMillis = Long.parseLong(Fanout.option(options, "interval-ms"));
        this.warmupMillis = Long.parseLong(Fanout.option(options, "warmup-ms"));
        this.work = Path.of(Fanout.option(options, "work"));
        this.pids = work.resolve("pids");
        this.serverOpts = Fanout.split(Fanout.option(options, "server-opts"));
    }

    /**
     * Arguments, all required: {@code --changes K --subscribers S --instances N --interval-ms MS --warmup-ms MS --jar
     * AGGREGATOR_JAR --redis-server REDIS_SERVER_BINARY --work DIR --server-opts "JVM OPTIONS"}.
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        new Cluster(options).run();
    }

    private void run() throws Exception {
        Files.createDirectories(work);
        Result single;
        Result cluster;
        String evalStats;
        // redis-server runs from the start: the single instance does not use it, but both windows probe it
        try (SequenceUpstream upstream = new SequenceUpstream();
                RedisProcess redis = RedisProcess.start(Fanout.option(options, "redis-server"), work, pids)) {
            progress("redis-server on " + redis.url());
            single = setup("single", 1, upstream, redis, false);
            cluster = setup("cluster", instances, upstream, redis, true);
            evalStats = commandStat(redis.command("INFO", "commandstats"), "eval");
        }
        report(single, cluster, evalStats).forEach(System.out::println);
    }

    private Result setup(String name, int count, SequenceUpstream upstream, RedisProcess redis, boolean clustered)
            throws Exception {
        List<String> agents = new ArrayList<>();
        List<Integer> ports = new ArrayList<>();
        List<JvmProcess> jvms = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                String agent = "bench-" + name + "-" + (char) ('a' + i);
                Path config = work.resolve(agent + ".yaml");
                Files.writeString(
                        config,
                        String.join(
                                "\n",
                                "# generated by bench/cluster.sh; "
                                        + (!clustered
                                                ? "runs alone (REDIS_URL is empty)"
                                                : "clustered through REDIS_URL"),
                                "server:",
                                "  host: 127.0.0.1",
                                "aggregator:",
                                "  userAgent: " + agent + "   # tells the upstream which instance fetched",
                                "  sources:",
                                "    - id: " + SOURCE,
                                "      url: " + upstream.url(),
                                "      interval: " + intervalMillis + "ms",
                                "      timeout: 2s",
                                ""));
                int port = Fanout.freePort();
                agents.add(agent);
                ports.add(port);
                jvms.add(new JvmProcess(
                        agent,
                        serverOpts,
                        List.of("-jar", Fanout.option(options, "jar"), "--config", config.toString()),
                        Map.of("PORT", Integer.toString(port), "REDIS_URL", clustered ? redis.url() : ""),
                        work.resolve(agent + ".log"),
                        pids));
            }
            progress(name + ": " + count + " instance(s) starting: java " + String.join(" ", serverOpts) + " -jar "
                    + Fanout.option(options, "jar"));
            for (int i = 0; i < count; i++) {
                int port = ports.get(i);
                Fanout.await(agents.get(i) + " to serve data", START_DEADLINE, () -> {
                    String status = get(port, "/api/sources");
                    return status != null
                            && status.contains("\"version\":")
                            && (!clustered || status.contains("\"cluster\":\"ok\""))
                            && get(port, "/api/sources/" + SOURCE) != null;
                });
            }
            try (ChangeStreams streams = new ChangeStreams()) {
                for (int i = 0; i < count; i++) {
                    for (int j = 0; j < perInstance; j++) {
                        streams.open(i, ports.get(i), "/api/sources/" + SOURCE + "/events");
                    }
                }
                int want = count * perInstance;
                Fanout.await(want + " streams to get their snapshot", Duration.ofSeconds(20), () -> streams.established()
                        == want);
                progress(name + ": " + want + " streams; warm-up " + warmupMillis + " ms");
                Thread.sleep(warmupMillis);

                long[] cpu0 = cpu(jvms);
                RedisProcess.Probe probe = redis.probe(50);
                long t0 = System.nanoTime();
                progress(name + ": measuring " + changes + " intervals of " + intervalMillis + " ms");
                Thread.sleep(changes * intervalMillis);
                long t1 = System.nanoTime();
                long[] rtt = probe.stop();
                long[] cpu1 = cpu(jvms);
                List<SequenceUpstream.Served> window = upstream.served().stream()
                        .filter(s -> s.nanos() - t0 >= 0 && s.nanos() - t1 < 0)
                        .toList();
                if (window.isEmpty()) {
                    throw new IllegalStateException(name + ": no upstream request in the window");
                }
                int last = window.get(window.size() - 1).seq();
                // let the last changes of the window arrive (or give up: they count as missed)
                Fanout.awaitQuietly(Duration.ofSeconds(5), () -> streams.streams().stream()
                        .allMatch(s -> s.failure != null || s.receivedAt.containsKey(last)));
                long[] cpuMillis = new long[count];
                for (int i = 0; i < count; i++) {
                    cpuMillis[i] = cpu1[i] - cpu0[i];
                }
                long[] warnings = new long[count];
                for (int i = 0; i < count; i++) {
                    warnings[i] = Fanout.read(work.resolve(agents.get(i) + ".log"))
                            .lines()
                            .filter(l -> l.contains("WARNING") || l.contains("SEVERE"))
                            .count();
                    if (!jvms.get(i).alive()) {
                        throw new IllegalStateException(agents.get(i) + " died during the run");
                    }
                }
                return summarize(name, agents, streams, window, (t1 - t0) / 1e9, cpuMillis, warnings, rtt);
            }
        } finally {
            for (JvmProcess jvm : jvms) {
                jvm.close();
            }
        }
    }

    private Result summarize(
            String name,
            List<String> agents,
            ChangeStreams streams,
            List<SequenceUpstream.Served> window,
            double windowSeconds,
            long[] cpuMillis,
            long[] warnings,
            long[] rtt) {
        List<ChangeStreams.Stream> all = streams.streams();
        long[] every = new long[window.size() * all.size()];
        long[] fetcher = new long[every.length];
        long[] other = new long[every.length];
        long[] firstFetcher = new long[window.size()];
        long[] hop = new long[window.size()];
        int ne = 0, nf = 0, no = 0, nff = 0, nh = 0;
        long missed = 0;
        Map<String, Integer> byAgent = new LinkedHashMap<>();
        agents.forEach(a -> byAgent.put(a, 0));
        for (SequenceUpstream.Served s : window) {
            byAgent.merge(s.userAgent(), 1, Integer::sum);
            int from = agents.indexOf(s.userAgent());
            long minFetcher = Long.MAX_VALUE, minOther = Long.MAX_VALUE;
            for (ChangeStreams.Stream st : all) {
                Long at = st.receivedAt.get(s.seq());
                if (at == null) {
                    missed++;
                    continue;
                }
                long latency = at - s.nanos();
                every[ne++] = latency;
                if (st.instance == from) {
                    fetcher[nf++] = latency;
                    minFetcher = Math.min(minFetcher, latency);
                } else {
                    other[no++] = latency;
                    minOther = Math.min(minOther, latency);
                }
            }
            if (minFetcher != Long.MAX_VALUE) {
                firstFetcher[nff++] = minFetcher;
                if (minOther != Long.MAX_VALUE) {
                    hop[nh++] = minOther - minFetcher;
                }
            }
        }
        SequenceUpstream.Served first = window.get(0), last = window.get(window.size() - 1);
        double gap = window.size() < 2 ? 0 : (last.nanos() - first.nanos()) / 1e6 / (window.size() - 1);
        long minGap = Long.MAX_VALUE;
        int doubled = 0, holderChanges = 0;
        for (int i = 1; i < window.size(); i++) {
            long g = window.get(i).nanos() - window.get(i - 1).nanos();
            minGap = Math.min(minGap, g);
            if (!window.get(i).userAgent().equals(window.get(i - 1).userAgent())) {
                holderChanges++;
                if (g < TimeUnit.MILLISECONDS.toNanos(intervalMillis) / 2) {
                    doubled++; // two instances polled within half an interval: a duplicate fetch
                }
            }
        }
        return new Result(
                name,
                agents,
                Arrays.copyOf(every, ne),
                Arrays.copyOf(fetcher, nf),
                Arrays.copyOf(other, no),
                Arrays.copyOf(firstFetcher, nff),
                Arrays.copyOf(hop, nh),
                (long) window.size() * all.size(),
                missed,
                window.size(),
                byAgent,
                windowSeconds,
                gap,
                minGap == Long.MAX_VALUE ? 0 : minGap / 1e6,
                doubled,
                holderChanges,
                cpuMillis,
                warnings,
                rtt,
                streams.failures());
    }

    private List<String> report(Result single, Result cluster, String evalStats) {
        List<String> r = new ArrayList<>();
        r.add("setup: upstream body changes on every request; source polled every " + intervalMillis + " ms; "
                + perInstance + " SSE subscribers per instance; " + warmupMillis / 1000.0
                + " s warm-up, then a window of " + changes + " intervals");
        r.add("server_jvm_options: " + (serverOpts.isEmpty() ? "(none)" : String.join(" ", serverOpts)));
        r.add("");
        r.add("# (a) one instance, no Redis");
        r.add(line("single_latency_ms", single.all) + samples(single)
                + "  (upstream served the body -> subscriber read the update)");
        r.add(line("single_first_subscriber_ms", single.firstFetcher) + "  (per change, the first subscriber)");
        r.add(requests("single_upstream_requests", single));
        r.add(line("single_probe_rtt_ms", single.rtt) + PROBE);
        r.add("");
        r.add("# (b) " + instances + " instances sharing one redis-server");
        r.add(line("cluster_fetcher_latency_ms", cluster.fetcher)
                + "  (subscribers on the instance that fetched the change)");
        r.add(line("cluster_other_latency_ms", cluster.other)
                + "  (subscribers on the other instances: delivered through Redis pub/sub)");
        r.add(line("cluster_all_latency_ms", cluster.all) + samples(cluster));
        r.add(line("cluster_first_subscriber_ms", cluster.firstFetcher)
                + "  (per change, the first subscriber on the fetching instance)");
        r.add(line("pubsub_hop_ms", cluster.hop)
                + "  (per change: first subscriber on another instance - first on the fetching one)");
        r.add(requests("cluster_upstream_requests", cluster));
        r.add(line("cluster_probe_rtt_ms", cluster.rtt) + PROBE);
        r.add("redis_eval: " + evalStats + "  (Redis' own time per EVAL: snapshot writes and lease renewals)");
        r.add("");
        long addedP50 = Fanout.percentile(cluster.other, 50) - Fanout.percentile(single.all, 50);
        long addedP99 = Fanout.percentile(cluster.other, 99) - Fanout.percentile(single.all, 99);
        r.add("added_by_redis_hop_ms: p50 " + signed(addedP50) + ", p99 " + signed(addedP99)
                + "  (cluster other-instance minus single-instance; target p99 <= +5 ms: "
                + (addedP99 <= TimeUnit.MILLISECONDS.toNanos(5) ? "met" : "NOT met")
                + (addedP99 < 0 ? "; the single instance's p99 is the larger one: machine noise rules the tail" : "")
                + ")");
        r.add("added_on_fetching_instance_ms: p50 "
                + signed(Fanout.percentile(cluster.fetcher, 50) - Fanout.percentile(single.all, 50)) + ", p99 "
                + signed(Fanout.percentile(cluster.fetcher, 99) - Fanout.percentile(single.all, 99))
                + "  (cluster fetcher minus single: the Redis write comes before local delivery)");
        r.add("cpu_ms_per_interval: single " + cpu(single) + "; cluster " + cpu(cluster)
                + "  (each instance's user+system CPU in the window / intervals)");
        r.add("service_log_warnings: single " + Arrays.toString(single.warnings) + ", cluster "
                + Arrays.toString(cluster.warnings) + " (" + work + "/bench-*.log)");
        if (!single.streamFailures.isEmpty() || !cluster.streamFailures.isEmpty()) {
            r.add("stream_failures: single " + single.streamFailures + ", cluster " + cluster.streamFailures);
        }
        return r;
    }

    private String samples(Result r) {
        return " [" + (r.samples - r.missed) + " updates, missed " + r.missed + "]";
    }

    private String requests(String key, Result r) {
        double intervals = r.windowSeconds * 1000 / intervalMillis;
        return String.format(
                Locale.ROOT,
                "%s: %d in %.1f s = %.0f intervals -> %.3f per interval; by User-Agent %s;"
                        + " gap between requests mean %.1f ms, min %.1f ms; changes of fetching instance %d"
                        + " (within half an interval: %d)",
                key,
                r.requests,
                r.windowSeconds,
                intervals,
                r.requests / intervals,
                r.byAgent,
                r.meanGapMillis,
                r.minGapMillis,
                r.holderChanges,
                r.doubled);
    }

    private String cpu(Result r) {
        List<String> parts = new ArrayList<>();
        double intervals = r.windowSeconds * 1000 / intervalMillis;
        for (int i = 0; i < r.cpuMillis.length; i++) {
            parts.add(String.format(Locale.ROOT, "%s %.1f", r.agents.get(i), r.cpuMillis[i] / intervals));
        }
        return String.join(", ", parts);
    }

    /** {@code usec_per_call=...} etc. of {@code cmdstat_NAME} in an INFO commandstats answer. */
    private static String commandStat(String info, String name) {
        return info.lines()
                .filter(l -> l.startsWith("cmdstat_" + name + ":"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip())
                .findFirst()
                .orElse("(none)");
    }

    private static long[] cpu(List<JvmProcess> jvms) throws IOException {
        long[] out = new long[jvms.size()];
        for (int i = 0; i < out.length; i++) {
            long[] c = JvmProcess.cpuMillis(jvms.get(i).pid());
            out[i] = c[0] + c[1];
        }
        return out;
    }

    private static String line(String name, long[] nanos) {
        return String.format(
                Locale.ROOT,
                "%s: p50 %s, p90 %s, p99 %s, max %s",
                name,
                ms(Fanout.percentile(nanos, 50)),
                ms(Fanout.percentile(nanos, 90)),
                ms(Fanout.percentile(nanos, 99)),
                ms(Fanout.percentile(nanos, 100)));
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }

    private static String signed(long nanos) {
        return String.format(Locale.ROOT, "%+.2f", nanos / 1e6);
    }

    /** The body of {@code GET path} when it answers 200, else null. */
    private String get(int port, String path) {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static void progress(String message) {
        System.err.println("cluster: " + message);
    }
}
