package io.github.aggregator.bench;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTTP/2 against HTTP/1.1 on the service: h2load requests per second on {@code /api/sources/bench} (h2c with prior
 * knowledge, and {@code --h1}), interleaved rounds; and the latency of SSE events read over HTTP/2 and over HTTP/1.1
 * by the JDK's HTTP client, from the upstream serving the change to the client reading its event.
 */
final class Http2 {
    private static final Pattern RPS = Pattern.compile("finished in [^,]+, ([\\d.]+) req/s");
    private static final Pattern CHANGE = Pattern.compile("\"change\":(\\d+)");
    private static final int ROUNDS = 3;
    private static final int EVENTS = 10;

    private final Path pids;
    private final Upstream upstream;

    Http2(Path pids, Upstream upstream) {
        this.pids = pids;
        this.upstream = upstream;
    }

    /**
     * h2load on the service's {@code /api/sources/bench} and on the Helidon floor's {@code /api/sources/bench} (the
     * same bytes, written to {@code staticDir} for it), each over HTTP/2 and HTTP/1.1, interleaved; then the SSE
     * latency on the service.
     */
    List<String> measure(int port, SideBySide.Reading cpu, int floorPort, SideBySide.Reading floorCpu, Path staticDir)
            throws Exception {
        String url = "http://127.0.0.1:" + port + "/api/sources/bench";
        String floorUrl = "http://127.0.0.1:" + floorPort + "/api/sources/bench";
        HttpResponse<byte[]> body = HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofByteArray());
        Files.write(staticDir.resolve("bench.json"), body.body());
        List<String> out = new ArrayList<>();
        for (String load : List.of("-c1 -m1 -n20000", "-c16 -m1 -n60000")) {
            List<List<double[]>> runs = new ArrayList<>();
            List<String> urls = List.of(url, url, floorUrl, floorUrl);
            List<SideBySide.Reading> cpus = List.of(cpu, cpu, floorCpu, floorCpu);
            for (int i = 0; i < 4; i++) {
                h2load(urls.get(i), load, i % 2 == 1, cpus.get(i)); // warm-up
                runs.add(new ArrayList<>());
            }
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < 4; i++) {
                    runs.get(i).add(h2load(urls.get(i), load, i % 2 == 1, cpus.get(i)));
                }
            }
            double[] rps = new double[4], us = new double[4];
            for (int i = 0; i < 4; i++) {
                rps[i] = median(runs.get(i).stream().map(r -> r[0]).toList());
                us[i] = runs.get(i).stream().mapToDouble(r -> r[1]).sum()
                        / runs.get(i).stream().mapToDouble(r -> r[2]).sum() * 1000;
            }
            out.add(String.format(
                    Locale.ROOT,
                    "h2load %s: service HTTP/2 %.0f req/s, HTTP/1.1 %.0f req/s = x%.2f (CPU per request %.1f / %.1f"
                            + " us); helidon-floor HTTP/2 %.0f, HTTP/1.1 %.0f = x%.2f (%.1f / %.1f us); runs h2 %s,"
                            + " h1 %s, floor h2 %s, h1 %s",
                    load,
                    rps[0],
                    rps[1],
                    rps[0] / rps[1],
                    us[0],
                    us[1],
                    rps[2],
                    rps[3],
                    rps[2] / rps[3],
                    us[2],
                    us[3],
                    rates(runs.get(0)),
                    rates(runs.get(1)),
                    rates(runs.get(2)),
                    rates(runs.get(3))));
        }
        out.add(sseLatency(port));
        return out;
    }

    private static List<Long> rates(List<double[]> runs) {
        return runs.stream().map(r -> Math.round(r[0])).toList();
    }

    /** One h2load run: requests/s, the server's CPU ms during it, requests. */
    private double[] h2load(String url, String load, boolean h1, SideBySide.Reading cpu) throws Exception {
        long before = cpu.read();
        double rps = h2load(url, load, h1);
        long ms = cpu.read() - before;
        Matcher n = Pattern.compile("-n(\\d+)").matcher(load);
        n.find();
        return new double[] {rps, ms, Double.parseDouble(n.group(1))};
    }

    private double h2load(String url, String load, boolean h1) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("h2load"));
        cmd.addAll(List.of(load.split(" ")));
        if (h1) {
            cmd.add("--h1");
        }
        cmd.add(url);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Files.writeString(pids, p.pid() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("h2load failed: " + text);
        }
        Matcher m = RPS.matcher(text);
        if (!m.find() || !text.contains(" 0 failed")) {
            throw new IllegalStateException("h2load: " + text);
        }
        return Double.parseDouble(m.group(1));
    }

    /** One SSE reader per protocol, EVENTS changes; latency from the upstream serving a change to reading it. */
    private String sseLatency(int port) throws Exception {
        URI events = URI.create("http://127.0.0.1:" + port + "/api/sources/bench/events");
        Map<HttpClient.Version, Map<Integer, Long>> read = new ConcurrentHashMap<>();
        List<HttpClient> clients = new ArrayList<>();
        List<Thread> readers = new ArrayList<>();
        String versions = "";
        for (HttpClient.Version v : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
            HttpClient c = HttpClient.newBuilder().version(v).build();
            clients.add(c);
            // a first plain request upgrades the connection to h2c; the stream then runs on it
            c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/observe/health")).build(),
                    HttpResponse.BodyHandlers.discarding());
            HttpResponse<InputStream> r = c.send(HttpRequest.newBuilder(events).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            versions += (versions.isEmpty() ? "" : ", ") + r.version();
            Map<Integer, Long> times = new ConcurrentHashMap<>();
            read.put(v, times);
            readers.add(Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        Matcher m = CHANGE.matcher(line);
                        if (m.find()) {
                            times.putIfAbsent(Integer.parseInt(m.group(1)), System.nanoTime());
                        }
                    }
                } catch (Exception e) {
                    // closed at the end
                }
            }));
        }
        List<Integer> changes = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
            int change = upstream.next();
            changes.add(change);
            Fanout.awaitQuietly(Duration.ofSeconds(5), () -> read.values().stream().allMatch(t -> t.containsKey(change)));
            Thread.sleep(300);
        }
        StringBuilder sb = new StringBuilder("sse_event_latency_ms (" + EVENTS + " changes, one reader each; "
                + versions + "):");
        for (HttpClient.Version v : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
            long[] lat = changes.stream()
                    .filter(read.get(v)::containsKey)
                    .mapToLong(ch -> read.get(v).get(ch) - upstream.servedAt("service", ch))
                    .toArray();
            sb.append(' ').append(v).append(' ').append(SideBySide.percentiles(lat))
                    .append(" (").append(lat.length).append(" read)");
        }
        clients.forEach(HttpClient::shutdownNow);
        return sb.toString();
    }

    private static double median(List<Double> values) {
        List<Double> s = new ArrayList<>(values);
        s.sort(Double::compare);
        return s.get(s.size() / 2);
    }
}
