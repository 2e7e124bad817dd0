package io.github.aggregator.bench;

import java.net.InetSocketAddress;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The side-by-side benchmark, run by {@code bench/sidebyside.sh}: this service, a minimal Node broadcaster ({@code
 * bench/node/broadcaster.js}) and nginx with Nchan, on 127.0.0.1, measured by one client ({@link Subscribers}) in
 * this JVM, one server after the other. All three follow the same {@link Upstream}: the service and the broadcaster
 * poll it every 200 ms, and for Nchan a {@link Relay} in this JVM polls it and POSTs each change to Nchan's publisher
 * location. Then the JSON endpoint against nginx serving the same bytes as a static file ({@link Polling}), and HTTP/2
 * against HTTP/1.1 on the service ({@link Http2}). The report ({@code key: value} lines) goes to stdout.
 */
public final class SideBySide {
    private static final Pattern SUBSCRIBERS = Pattern.compile("\"subscribers\"\\s*:\\s*(\\d+)");
    private static final Pattern SERVICE_SUBSCRIBERS =
            Pattern.compile("\"id\":\"bench\"[^}]*?\"subscribers\":(\\d+)");
    /**
     * The warm-up before the measured run: 10,000 events per server, so that the JIT has compiled the write path
     * before the measured changes (after 500 × 2 the C2 compiler still took a fifth of the service's samples during
     * them).
     */
    private static final int WARMUP_SUBSCRIBERS = 2000;

    private static final int WARMUP_CHANGES = 5;

    /** One server under test, seen from outside. */
    record Target(
            String name,
            String who,
            int port,
            String path,
            Reading rss,
            Action gc,
            Reading cpu,
            Reading system,
            Reading subscribers,
            Reading heap) {}

    interface Reading {
        long read() throws Exception;
    }

    interface Action {
        void run() throws Exception;
    }

    /** One server's fan-out figures. */
    record Result(
            String name,
            long established,
            String failures,
            double rssPerSubscriberKb,
            double heapPerSubscriberKb,
            long[] spreads,
            long[] latencies,
            double cpuMicrosPerEvent,
            double systemShare,
            long missed) {}

    private final Map<String, String> options;
    private final int n;
    private final int k;
    private final Path work;
    private final Path pids;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final List<String> report = new ArrayList<>();

    private SideBySide(Map<String, String> options) {
        this.options = options;
        this.n = Integer.parseInt(Fanout.option(options, "subscribers"));
        this.k = Integer.parseInt(Fanout.option(options, "changes"));
        this.work = Path.of(Fanout.option(options, "work"));
        this.pids = work.resolve("pids");
    }

    /**
     * Arguments, all required: {@code --subscribers N --changes K --jar AGGREGATOR_JAR --work DIR --server-opts "JVM
     * OPTIONS" --server-settings "KEY=VALUE ..." --classpath CP --wrk "WRK OPTIONS" --node NODE --nginx NGINX --nchan-module SO}, and
     * optionally {@code --only "service,node,nchan,helidon-floor,helidon-sse-sink,polling,http2"} (some of them; all
     * when absent or empty; {@code service-helidon-defaults}, the service with Helidon's own socket settings, runs only
     * when named). {@code --classpath} is the benchmark's classpath, for {@link BareStream}.
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        new SideBySide(options).run();
    }

    private void run() throws Exception {
        Files.createDirectories(work);
        int servicePort = Fanout.freePort(), nodePort = Fanout.freePort(), nginxPort = Fanout.freePort();
        int stockPort = Fanout.freePort();
        try (Upstream upstream = new Upstream();
                JvmProcess service = startService(
                        upstream, servicePort, "service", Fanout.split(Fanout.option(options, "server-settings")));
                ServerProcess node = startNode(upstream, nodePort);
                Nginx nginx = new Nginx(work.resolve("nginx"), nginxPort, n, Fanout.option(options, "nginx"),
                        Fanout.option(options, "nchan-module"), pids);
                Relay relay = new Relay(upstream.url() + "?who=nchan", nginx.publishUrl());
                JvmProcess stock = only().contains("service-helidon-defaults")
                        ? startService(upstream, stockPort, "stock", STOCK)
                        : null;
                JvmProcess floor = startBare("raw", upstream);
                JvmProcess sink = startBare("sink", upstream)) {
            int floorPort = barePort("raw"), sinkPort = barePort("sink");
            Fanout.await("the service to serve data", Duration.ofSeconds(300), () -> status(servicePort,
                    "/api/sources/bench") == 200);
            Fanout.await("the broadcaster to listen", Duration.ofSeconds(30), () -> status(nodePort, "/stats") == 200);
            Fanout.await("nginx to listen", Duration.ofSeconds(30), () -> status(nginxPort, "/pub") == 200);
            List<Target> targets = new ArrayList<>(List.of(
                    new Target(
                            "service",
                            "service",
                            servicePort,
                            "/api/sources/bench/events",
                            service::rssKb,
                            service::gc,
                            () -> cpu(service.pid()),
                            () -> system(service.pid()),
                            () -> count(servicePort, "/api/sources", SERVICE_SUBSCRIBERS),
                            service::heapUsedKb),
                    new Target(
                            "node",
                            "node",
                            nodePort,
                            "/events",
                            node::rssKb,
                            () -> {
                                post(nodePort, "/gc");
                                Thread.sleep(1000);
                            },
                            node::cpuMillis,
                            node::systemMillis,
                            () -> count(nodePort, "/stats", SUBSCRIBERS),
                            null),
                    new Target(
                            "nchan",
                            "nchan",
                            nginxPort,
                            "/sub",
                            nginx.process()::rssKb,
                            () -> {},
                            nginx.process()::cpuMillis,
                            nginx.process()::systemMillis,
                            () -> count(nginxPort, "/pub", SUBSCRIBERS),
                            null),
                    bare("helidon-floor", "raw", floor, floorPort),
                    bare("helidon-sse-sink", "sink", sink, sinkPort)));
            if (stock != null) {
                Fanout.await("the stock service to serve data", Duration.ofSeconds(300), () -> status(stockPort,
                        "/api/sources/bench") == 200);
                targets.add(1, new Target(
                        "service-helidon-defaults",
                        "stock",
                        stockPort,
                        "/api/sources/bench/events",
                        stock::rssKb,
                        stock::gc,
                        () -> cpu(stock.pid()),
                        () -> system(stock.pid()),
                        () -> count(stockPort, "/api/sources", SERVICE_SUBSCRIBERS),
                        stock::heapUsedKb));
            }
            report.add("subscribers_requested: " + n + ", changes: " + k + " per server");
            report.add("service: java " + Fanout.option(options, "server-opts") + " -jar aggregator.jar; settings: "
                    + (Fanout.option(options, "server-settings").isBlank()
                            ? "(defaults)"
                            : Fanout.option(options, "server-settings")));
            report.add("node: " + version(List.of(Fanout.option(options, "node"), "--version"))
                    + " node:http, bench/node/broadcaster.js");
            report.add("nchan: " + version(List.of(Fanout.option(options, "nginx"), "-v"))
                    + " + Nchan, one worker");
            List<String> only = only();
            List<Result> results = new ArrayList<>();
            for (Target t : targets) {
                if (only.isEmpty() || only.contains(t.name())) {
                    results.add(fanout(t, upstream));
                }
            }
            results.forEach(r -> report.add(line(r)));
            Result ours = results.isEmpty() ? null : results.get(0);
            for (Result other : ours == null ? List.<Result>of() : results.subList(1, results.size())) {
                report.add(String.format(
                        Locale.ROOT,
                        "ratio_service_to_%s: spread p50 x%.2f, p99 x%.2f; latency p50 x%.2f, p99 x%.2f;"
                                + " RSS per subscriber x%.2f; CPU per event x%.2f  (below 1: the service does better)",
                        other.name(),
                        ratio(Fanout.percentile(ours.spreads(), 50), Fanout.percentile(other.spreads(), 50)),
                        ratio(Fanout.percentile(ours.spreads(), 99), Fanout.percentile(other.spreads(), 99)),
                        ratio(Fanout.percentile(ours.latencies(), 50), Fanout.percentile(other.latencies(), 50)),
                        ratio(Fanout.percentile(ours.latencies(), 99), Fanout.percentile(other.latencies(), 99)),
                        ours.rssPerSubscriberKb() / other.rssPerSubscriberKb(),
                        ours.cpuMicrosPerEvent() / other.cpuMicrosPerEvent()));
            }
            if (only.isEmpty() || only.contains("polling")) {
                Wrk wrk = new Wrk(Fanout.split(Fanout.option(options, "wrk")), pids);
                report.addAll(new Polling(http, wrk, work, nginx)
                        .measure(
                                new Polling.Server(
                                        "service",
                                        "http://127.0.0.1:" + servicePort + "/api/sources/bench-large",
                                        () -> cpu(service.pid())),
                                new Polling.Server(
                                        "helidon-floor",
                                        "http://127.0.0.1:" + floorPort + "/api/sources/body",
                                        () -> cpu(floor.pid()))));
            }
            if (only.isEmpty() || only.contains("http2")) {
                report.addAll(new Http2(pids, upstream)
                        .measure(servicePort, () -> cpu(service.pid()), floorPort, () -> cpu(floor.pid()),
                                nginx.staticDir()));
            }
            long warnings = Fanout.read(work.resolve("service.log"))
                    .lines()
                    .filter(l -> l.contains("WARNING") || l.contains("SEVERE"))
                    .count();
            report.add("service_log_warnings: " + warnings);
            if ((stock != null && !stock.alive()) || !service.alive() || !node.alive() || !nginx.process().alive() || !floor.alive() || !sink.alive()) {
                throw new IllegalStateException("a server died during the run");
            }
        }
        report.forEach(System.out::println);
    }

    /** The settings that put the service back on Helidon's own defaults, which the service changes. */
    private static final List<String> STOCK =
            List.of("use-nio=true", "write-buffer-size=4096", "connection-options.tcp-no-delay=false");

    private List<String> only() {
        return Fanout.split(options.getOrDefault("only", "").replace(',', ' '));
    }

    private JvmProcess startService(Upstream upstream, int port, String who, List<String> settings) throws Exception {
        int limit = n + 1000;
        List<String> server = new ArrayList<>(List.of("server:", "  host: 127.0.0.1"));
        for (String kv : settings) {
            String[] parts = kv.split("=", 2);
            String[] path = parts[0].split("\\.");
            for (int i = 0; i < path.length; i++) {
                server.add("  ".repeat(i + 1) + path[i] + ":" + (i == path.length - 1 ? " " + parts[1] : ""));
            }
        }
        Path config = work.resolve(who + ".yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "# generated by bench/sidebyside.sh",
                        String.join("\n", server),
                        "aggregator:",
                        "  heartbeat: 15s",
                        "  maxSubscribers: " + limit,
                        "  maxSubscribersPerClient: " + limit + "   # every subscriber comes from 127.0.0.1",
                        "  sources:",
                        "    - id: bench",
                        "      url: " + upstream.url() + "?who=" + who,
                        "      interval: 200ms",
                        "      timeout: 2s",
                        "    - id: bench-large",
                        "      url: " + upstream.largeUrl(),
                        "      interval: 10s",
                        ""));
        return new JvmProcess(
                who,
                Fanout.split(Fanout.option(options, "server-opts")),
                List.of("-jar", Fanout.option(options, "jar"), "--config", config.toString()),
                Map.of("PORT", Integer.toString(port), "REDIS_URL", ""),
                work.resolve(who + ".log"),
                pids);
    }

    /** {@link BareStream} in mode {@code mode}, with the service's JVM options and settings. */
    /**
     * The settings the service lays beneath its config (app/ServerDefaults, app/ServerSettings), given to the bare
     * servers too, so that the floor runs the same transport.
     */
    private static final List<String> SERVICE_DEFAULTS = List.of(
            "use-nio=false",
            "write-buffer-size=512",
            "connection-options.tcp-no-delay=true",
            "protocols.http_1_1.validate-response-headers=false",
            "protocols.http_2.validate-response-headers=false");

    private JvmProcess startBare(String mode, Upstream upstream) throws Exception {
        List<String> args = new ArrayList<>(List.of(
                "-Dbench.static=" + work.resolve("nginx").resolve("static").toAbsolutePath(),
                "-cp", Fanout.option(options, "classpath"), BareStream.class.getName(), mode,
                upstream.url() + "?who=" + mode));
        args.addAll(SERVICE_DEFAULTS);
        args.addAll(Fanout.split(Fanout.option(options, "server-settings")));
        return new JvmProcess(
                "bare " + mode,
                Fanout.split(Fanout.option(options, "server-opts")),
                args,
                Map.of(),
                work.resolve("bare-" + mode + ".log"),
                pids);
    }

    private int barePort(String mode) throws Exception {
        Path log = work.resolve("bare-" + mode + ".log");
        Pattern port = Pattern.compile("port (\\d+)");
        Fanout.await("the bare " + mode + " server to listen", Duration.ofSeconds(300), () -> port.matcher(
                        Fanout.read(log))
                .find());
        Matcher m = port.matcher(Fanout.read(log));
        m.find();
        return Integer.parseInt(m.group(1));
    }

    private Target bare(String name, String who, JvmProcess p, int port) {
        return new Target(
                name,
                who,
                port,
                "/events",
                p::rssKb,
                p::gc,
                () -> cpu(p.pid()),
                () -> system(p.pid()),
                () -> count(port, "/stats", SUBSCRIBERS),
                p::heapUsedKb);
    }

    private ServerProcess startNode(Upstream upstream, int port) throws Exception {
        return new ServerProcess(
                List.of(
                        Fanout.option(options, "node"),
                        "--expose-gc",
                        "bench/node/broadcaster.js",
                        Integer.toString(port),
                        upstream.url() + "?who=node",
                        "200"),
                work.resolve("node.log"),
                pids);
    }

    private Result fanout(Target t, Upstream upstream) throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", t.port());
        Fanout.progress(
                t.name() + ": warm-up, " + WARMUP_SUBSCRIBERS + " subscribers and " + WARMUP_CHANGES + " changes");
        try (Subscribers warm = connect(address, t, Math.min(n, WARMUP_SUBSCRIBERS), WARMUP_CHANGES)) {
            changes(upstream, warm, WARMUP_CHANGES);
        }
        released(t, upstream);
        t.gc().run();
        long rss0 = t.rss().read();
        long heap0 = t.heap() == null ? 0 : t.heap().read();
        Fanout.progress(t.name() + ": " + n + " subscribers");
        try (Subscribers subs = connect(address, t, n, k)) {
            t.gc().run();
            long rss1 = t.rss().read();
            long heap1 = t.heap() == null ? 0 : t.heap().read();
            long established = subs.established();
            long cpu0 = t.cpu().read();
            long sys0 = t.system().read();
            Fanout.progress(t.name() + ": " + k + " changes (RSS " + rss0 + " -> " + rss1 + " KiB)");
            int first = changes(upstream, subs, k);
            long cpu1 = t.cpu().read();
            long sys1 = t.system().read();
            long[] spreads = new long[k];
            List<Long> latencies = new ArrayList<>();
            long missed = 0;
            for (int i = 1; i <= k; i++) {
                long served = upstream.servedAt(t.who(), first + i - 1);
                long min = Long.MAX_VALUE, max = Long.MIN_VALUE;
                for (long at : subs.receivedAt(i)) {
                    if (at != 0) {
                        min = Math.min(min, at);
                        max = Math.max(max, at);
                        latencies.add(at - served);
                    }
                }
                missed += established - subs.received(i);
                spreads[i - 1] = max >= min ? max - min : 0;
            }
            String failures = subs.failed() + subs.dropped() == 0
                    ? "0"
                    : subs.failed() + " failed, " + subs.dropped() + " dropped " + subs.failures();
            Result r = new Result(
                    t.name(),
                    established,
                    failures,
                    (rss1 - rss0) / (double) Math.max(1, established),
                    t.heap() == null ? Double.NaN : (heap1 - heap0) / (double) Math.max(1, established),
                    spreads,
                    latencies.stream().mapToLong(Long::longValue).toArray(),
                    (cpu1 - cpu0) * 1000.0 / Math.max(1, (long) k * established),
                    cpu1 > cpu0 ? (sys1 - sys0) / (double) (cpu1 - cpu0) : Double.NaN,
                    missed);
            Fanout.progress(line(r));
            return r;
        } finally {
            released(t, upstream);
        }
    }

    private Subscribers connect(InetSocketAddress address, Target t, int count, int changes) throws Exception {
        Subscribers subs = new Subscribers(address, t.path(), count, changes, 128, true);
        subs.start();
        long next = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (subs.established() + subs.failed() < count) {
            if (System.nanoTime() - next > 0) {
                Fanout.progress("  " + subs.established() + " established, " + subs.failed() + " failed");
                next = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            }
            Thread.sleep(50);
        }
        return subs;
    }

    /**
     * {@code count} upstream changes, the next one 500 ms after every subscriber got the previous one (or 10 s passed).
     *
     * @return the number of the first change
     */
    private int changes(Upstream upstream, Subscribers subs, int count) throws Exception {
        subs.expectFrom(upstream.current());
        int first = -1;
        for (int i = 1; i <= count; i++) {
            int change = upstream.next();
            first = first < 0 ? change : first;
            int nth = i;
            long want = subs.established() - subs.dropped();
            Fanout.awaitQuietly(Duration.ofSeconds(10), () -> subs.received(nth) >= want);
            Thread.sleep(500);
        }
        return first;
    }

    /** After the subscribers left: one more change makes every server write, then until it counts none (or 30 s). */
    private void released(Target t, Upstream upstream) throws Exception {
        upstream.next();
        if (!Fanout.awaitQuietly(Duration.ofSeconds(30), () -> subscribers(t) == 0)) {
            Fanout.progress(t.name() + " still counts " + subscribers(t) + " subscribers");
        }
        Thread.sleep(500);
    }

    /** The server's own count of subscribers; -1 while it does not answer (busy writing, on this machine). */
    private static long subscribers(Target t) {
        try {
            return t.subscribers().read();
        } catch (Exception e) {
            return -1;
        }
    }

    private static String line(Result r) {
        return String.format(
                Locale.ROOT,
                "%s: subscribers %d (failures %s), spread p50 %s / p99 %s ms, latency p50 %s / p99 %s ms,"
                        + " RSS per subscriber %.1f KB%s, CPU per delivered event %.1f us (kernel %.0f %%), updates"
                        + " missed %d",
                r.name(),
                r.established(),
                r.failures(),
                ms(Fanout.percentile(r.spreads(), 50)),
                ms(Fanout.percentile(r.spreads(), 99)),
                ms(Fanout.percentile(r.latencies(), 50)),
                ms(Fanout.percentile(r.latencies(), 99)),
                r.rssPerSubscriberKb() * 1.024, // KiB -> KB
                Double.isNaN(r.heapPerSubscriberKb())
                        ? ""
                        : String.format(Locale.ROOT, " (live heap %.1f KB)", r.heapPerSubscriberKb() * 1.024),
                r.cpuMicrosPerEvent(),
                r.systemShare() * 100,
                r.missed());
    }

    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e6);
    }

    private static double ratio(long a, long b) {
        return b == 0 ? Double.NaN : a / (double) b;
    }

    private static long cpu(long pid) throws Exception {
        long[] c = JvmProcess.cpuMillis(pid);
        return c[0] + c[1];
    }

    private static long system(long pid) throws Exception {
        return JvmProcess.cpuMillis(pid)[1];
    }

    private long count(int port, String path, Pattern pattern) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("Accept", "application/json")
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher m = pattern.matcher(r.body());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private int status(int port, String path) {
        try {
            return http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                    .header("Accept", "application/json")
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return 0;
        }
    }

    private void post(int port, String path) throws Exception {
        http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.discarding());
    }

    private static String version(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return out.replace("nginx version: ", "");
        } catch (Exception e) {
            return "?";
        }
    }

    /** Nanosecond samples as p50 / p99 in ms. */
    static String percentiles(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return "p50 " + ms(Fanout.percentile(sorted, 50)) + " / p99 " + ms(Fanout.percentile(sorted, 99)) + " ms";
    }

}
