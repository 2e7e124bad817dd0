package io.github.aggregator.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The JSON endpoint against nginx serving the same bytes as a static file: {@code GET /api/sources/bench-large} (about
 * 2.5 KB, so it is gzipped) beside {@code /static/body.json} with {@code gzip_static} (the service's own gzip bytes as
 * {@code body.json.gz}), each for a {@code 200} with gzip, a {@code 304} with gzip, and a {@code 200} without. Three
 * interleaved wrk rounds after a warm-up; medians.
 */
final class Polling {
    private static final int ROUNDS = 3;

    private final HttpClient http;
    private final Wrk wrk;
    private final Nginx nginx;

    Polling(HttpClient http, Wrk wrk, java.nio.file.Path work, Nginx nginx) {
        this.http = http;
        this.wrk = wrk;
        this.nginx = nginx;
    }

    private record Case(String name, String url, String header, List<String> extra) {}

    List<String> measure(int servicePort) throws Exception {
        String service = "http://127.0.0.1:" + servicePort + "/api/sources/bench-large";
        String nginxUrl = "http://127.0.0.1:" + nginx.port() + "/static/body.json";
        HttpResponse<byte[]> plain = get(service, null, false);
        HttpResponse<byte[]> gzip = get(service, null, true);
        if (plain.statusCode() != 200
                || !"gzip".equals(gzip.headers().firstValue("Content-Encoding").orElse(""))) {
            throw new IllegalStateException("the service does not gzip " + service);
        }
        Files.write(nginx.staticDir().resolve("body.json"), plain.body());
        Files.write(nginx.staticDir().resolve("body.json.gz"), gzip.body());
        String serviceEtag = plain.headers().firstValue("ETag").orElseThrow();
        String serviceGzipEtag = gzip.headers().firstValue("ETag").orElseThrow();
        HttpResponse<byte[]> nginxGzip = get(nginxUrl, null, true);
        if (nginxGzip.body().length != gzip.body().length
                || get(nginxUrl, null, false).body().length != plain.body().length) {
            throw new IllegalStateException("nginx does not answer the same bytes as the service");
        }
        String nginxGzipEtag = nginxGzip.headers().firstValue("ETag").orElseThrow();
        if (get(service, serviceGzipEtag, true).statusCode() != 304
                || get(nginxUrl, nginxGzipEtag, true).statusCode() != 304) {
            throw new IllegalStateException("no 304 for a matching If-None-Match");
        }
        List<String> gz = List.of("-H", "Accept-Encoding: gzip");
        List<Case> cases = List.of(
                new Case("service_200_gzip", service, null, gz),
                new Case("nginx_200_gzip", nginxUrl, null, gz),
                new Case("service_304_gzip", service, "If-None-Match: " + serviceGzipEtag, gz),
                new Case("nginx_304_gzip", nginxUrl, "If-None-Match: " + nginxGzipEtag, gz),
                new Case("service_200_identity", service, null, List.of()),
                new Case("nginx_200_identity", nginxUrl, null, List.of()));
        Fanout.progress("wrk warm-up (3 s per case)");
        for (Case c : cases) {
            List<String> o = new ArrayList<>(c.extra());
            o.add("-d3s");
            wrk.run(c.url(), c.header(), o);
        }
        List<List<Wrk.Run>> runs = new ArrayList<>();
        cases.forEach(c -> runs.add(new ArrayList<>()));
        for (int round = 1; round <= ROUNDS; round++) {
            Fanout.progress("wrk round " + round + " of " + ROUNDS + " (" + wrk + ")");
            for (int i = 0; i < cases.size(); i++) {
                Case c = cases.get(i);
                runs.get(i).add(wrk.run(c.url(), c.header(), c.extra()));
            }
        }
        List<String> out = new ArrayList<>();
        out.add("wrk: " + wrk + ", body " + plain.body().length + " bytes (" + gzip.body().length + " gzipped), "
                + ROUNDS + " interleaved rounds, median; service ETag " + serviceEtag);
        for (int i = 0; i < cases.size(); i += 2) {
            Wrk.Run ours = median(runs.get(i));
            Wrk.Run theirs = median(runs.get(i + 1));
            out.add(String.format(
                    Locale.ROOT,
                    "%s_rps: %.0f vs %s %.0f = x%.2f of nginx (latency p50 %s / %s, p99 %s / %s%s)",
                    cases.get(i).name(),
                    ours.rps(),
                    cases.get(i + 1).name(),
                    theirs.rps(),
                    ours.rps() / theirs.rps(),
                    ours.p50(),
                    theirs.p50(),
                    ours.p99(),
                    theirs.p99(),
                    ours.errors().isEmpty() && theirs.errors().isEmpty()
                            ? ""
                            : "; errors " + ours.errors() + " / " + theirs.errors()));
        }
        return out;
    }

    private static Wrk.Run median(List<Wrk.Run> runs) {
        List<Wrk.Run> sorted = new ArrayList<>(runs);
        sorted.sort(Comparator.comparingDouble(Wrk.Run::rps));
        return sorted.get(sorted.size() / 2);
    }

    private HttpResponse<byte[]> get(String url, String ifNoneMatch, boolean gzip) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (ifNoneMatch != null) {
            b.header("If-None-Match", ifNoneMatch);
        }
        if (gzip) {
            b.header("Accept-Encoding", "gzip");
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }
}
