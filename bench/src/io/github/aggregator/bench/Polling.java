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
 * {@code body.json.gz}), and beside the Helidon floor ({@link BareStream}'s {@code /api/sources/body}: the same bytes
 * from memory, an ETag compared, nothing else), each for a {@code 200} with gzip, a {@code 304} with gzip, and a
 * {@code 200} without. Three interleaved wrk rounds after a warm-up; medians of requests/s, and each server's CPU time
 * per request over all rounds.
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

    /** A server under test: where it answers, and its CPU time in ms. */
    record Server(String name, String url, SideBySide.Reading cpu) {}

    private record Case(String name, Server server, String header, List<String> extra) {}

    List<String> measure(Server service, Server floor) throws Exception {
        Server nginxServer = new Server(
                "nginx", "http://127.0.0.1:" + nginx.port() + "/static/body.json", nginx.process()::cpuMillis);
        HttpResponse<byte[]> plain = get(service.url(), null, false);
        HttpResponse<byte[]> gzip = get(service.url(), null, true);
        if (plain.statusCode() != 200
                || !"gzip".equals(gzip.headers().firstValue("Content-Encoding").orElse(""))) {
            throw new IllegalStateException("the service does not gzip " + service.url());
        }
        Files.write(nginx.staticDir().resolve("body.json"), plain.body());
        Files.write(nginx.staticDir().resolve("body.json.gz"), gzip.body());
        String serviceEtag = plain.headers().firstValue("ETag").orElseThrow();
        String serviceGzipEtag = gzip.headers().firstValue("ETag").orElseThrow();
        for (Server other : List.of(nginxServer, floor)) {
            if (get(other.url(), null, true).body().length != gzip.body().length
                    || get(other.url(), null, false).body().length != plain.body().length) {
                throw new IllegalStateException(other.name() + " does not answer the same bytes as the service");
            }
        }
        String nginxGzipEtag = get(nginxServer.url(), null, true).headers().firstValue("ETag").orElseThrow();
        String floorEtag = get(floor.url(), null, true).headers().firstValue("ETag").orElseThrow();
        if (get(service.url(), serviceGzipEtag, true).statusCode() != 304
                || get(nginxServer.url(), nginxGzipEtag, true).statusCode() != 304
                || get(floor.url(), floorEtag, true).statusCode() != 304) {
            throw new IllegalStateException("no 304 for a matching If-None-Match");
        }
        List<String> gz = List.of("-H", "Accept-Encoding: gzip");
        List<Case> cases = new ArrayList<>();
        for (String kind : List.of("200_gzip", "304_gzip", "200_identity")) {
            for (Server s : List.of(service, nginxServer, floor)) {
                String etag = s == service ? serviceGzipEtag : s == floor ? floorEtag : nginxGzipEtag;
                cases.add(new Case(
                        s.name() + "_" + kind,
                        s,
                        kind.startsWith("304") ? "If-None-Match: " + etag : null,
                        kind.endsWith("identity") ? List.of() : gz));
            }
        }
        Fanout.progress("wrk warm-up (3 s per case)");
        for (Case c : cases) {
            List<String> o = new ArrayList<>(c.extra());
            o.add("-d3s");
            wrk.run(c.server().url(), c.header(), o);
        }
        List<List<Wrk.Run>> runs = new ArrayList<>();
        long[] cpuMs = new long[cases.size()], requests = new long[cases.size()];
        cases.forEach(c -> runs.add(new ArrayList<>()));
        for (int round = 1; round <= ROUNDS; round++) {
            Fanout.progress("wrk round " + round + " of " + ROUNDS + " (" + wrk + ")");
            for (int i = 0; i < cases.size(); i++) {
                Case c = cases.get(i);
                long before = c.server().cpu().read();
                Wrk.Run run = wrk.run(c.server().url(), c.header(), c.extra());
                cpuMs[i] += c.server().cpu().read() - before;
                requests[i] += run.requests();
                runs.get(i).add(run);
            }
        }
        List<String> out = new ArrayList<>();
        out.add("wrk: " + wrk + ", body " + plain.body().length + " bytes (" + gzip.body().length + " gzipped), "
                + ROUNDS + " interleaved rounds, median; service ETag " + serviceEtag
                + "; CPU: the server's user + system time per request over the rounds");
        for (int i = 0; i < cases.size(); i += 3) {
            Wrk.Run ours = median(runs.get(i));
            Wrk.Run theirs = median(runs.get(i + 1));
            Wrk.Run bare = median(runs.get(i + 2));
            out.add(String.format(
                    Locale.ROOT,
                    "%s_rps: %.0f vs %s %.0f = x%.2f of nginx; %s %.0f = x%.2f of the floor"
                            + " (CPU per request %.1f / %.1f / %.1f us; latency p50 %s / %s / %s, p99 %s / %s / %s%s)",
                    cases.get(i).name(),
                    ours.rps(),
                    cases.get(i + 1).name(),
                    theirs.rps(),
                    ours.rps() / theirs.rps(),
                    cases.get(i + 2).name(),
                    bare.rps(),
                    ours.rps() / bare.rps(),
                    micros(cpuMs[i], requests[i]),
                    micros(cpuMs[i + 1], requests[i + 1]),
                    micros(cpuMs[i + 2], requests[i + 2]),
                    ours.p50(),
                    theirs.p50(),
                    bare.p50(),
                    ours.p99(),
                    theirs.p99(),
                    bare.p99(),
                    ours.errors().isEmpty() && theirs.errors().isEmpty() && bare.errors().isEmpty()
                            ? ""
                            : "; errors " + ours.errors() + " / " + theirs.errors() + " / " + bare.errors()));
        }
        return out;
    }

    static double micros(long cpuMs, long requests) {
        return requests == 0 ? Double.NaN : cpuMs * 1000.0 / requests;
    }

    private static Wrk.Run median(List<Wrk.Run> runs) {
        List<Wrk.Run> sorted = new ArrayList<>(runs);
        sorted.sort(Comparator.comparingDouble(Wrk.Run::rps));
        return sorted.get(sorted.size() / 2);
    }

    HttpResponse<byte[]> get(String url, String ifNoneMatch, boolean gzip) throws Exception {
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
