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

    List<String> measure(int port) throws Exception {
        String url = "http://127.0.0.1:" + port + "/api/sources/bench";
        List<String> out = new ArrayList<>();
        for (String load : List.of("-c1 -m1 -n20000", "-c16 -m1 -n60000")) {
            h2load(url, load, true); // warm-up
            h2load(url, load, false);
            List<Double> h2 = new ArrayList<>(), h1 = new ArrayList<>();
            for (int i = 0; i < ROUNDS; i++) {
                h2.add(h2load(url, load, false));
                h1.add(h2load(url, load, true));
            }
            double m2 = median(h2), m1 = median(h1);
            out.add(String.format(
                    Locale.ROOT,
                    "h2load %s: HTTP/2 %.0f req/s, HTTP/1.1 %.0f req/s = x%.2f (runs h2 %s, h1 %s)",
                    load,
                    m2,
                    m1,
                    m2 / m1,
                    h2,
                    h1));
        }
        out.add(sseLatency(port));
        return out;
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
