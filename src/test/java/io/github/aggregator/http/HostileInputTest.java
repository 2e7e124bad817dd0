package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACSigner;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile and malformed requests against a real service, over raw sockets and the JDK HttpClient: malformed request
 * lines, invalid percent-encoding, overlong URLs and headers, huge {@code Last-Event-ID}s, thousands of {@code
 * sources}, garbage tokens in the header, cookie and query, every method, and seeded random paths, queries and
 * headers. Every answer must be no 5xx, carry no stack trace and no secret (tokens, keys, the upstream's query
 * secret), and the service must serve normal requests afterwards. Nothing secret may be logged either.
 */
class HostileInputTest {
    static final String ADMIN = "hostile-admin-token-0123456789";
    static final String KEY = "hostile-source-key-0123456789";
    static final String JWT_SECRET = "hostile-jwt-shared-secret-0123456789abcdef";
    static final String UPSTREAM_KEY = "hostile-upstream-query-s3cret";
    static final List<String> SECRETS = List.of(ADMIN, KEY, JWT_SECRET, UPSTREAM_KEY);
    /** Signs of an internal error leaking out. */
    static final List<String> INTERNALS = List.of("Exception", "at io.", "at java.", ".java:", "\tat ");

    static final long SEED = 20261129L;

    private static Upstream upstream;
    private static Service svc;
    private static LogCapture logs;
    /** Every violation found, reported together at the end of each test. */
    private final List<String> problems = new CopyOnWriteArrayList<>();

    private int checked;
    private final Map<Integer, Integer> statuses = new TreeMap<>();

    @BeforeAll
    static void start() {
        logs = LogCapture.start();
        upstream = new Upstream().json("{\"v\":1,\"name\":\"hostile\"}");
        svc = Service.start(
                """
                admin:
                  token: ${ADMIN}
                aggregator:
                  heartbeat: 200ms
                  maxSubscribersPerClient: 100000
                  sources:
                    - id: open
                      url: %1$s/open?apikey=${UPSTREAM_KEY}
                      interval: 1h
                    - id: secret
                      url: %1$s/secret
                      interval: 1h
                      access: token
                    - id: cold
                      url: %1$s/cold
                      interval: 1h
                      poll: on-demand
                    - id: board
                      combine: [open]
                    - id: town
                      url: %1$s/town?city={city}
                      interval: 1h
                      params:
                        city:
                          values: [Oslo, Rome]
                access:
                  keys:
                    - key: ${KEY}
                      sources: "*"
                  jwt:
                    hs256Secret: ${JWT_SECRET}
                cors:
                  allowedOrigins: [https://dash.example.com]
                  allowCredentials: true
                """.formatted(upstream.url()),
                Map.of("ADMIN", ADMIN, "KEY", KEY, "JWT_SECRET", JWT_SECRET, "UPSTREAM_KEY", UPSTREAM_KEY));
    }

    @AfterAll
    static void stop() {
        try {
            svc.close();
            upstream.close();
            logs.assertNoneContain(SECRETS);
            for (String r : logs.records()) {
                assertFalse(r.contains("failed: "), "a request failed inside the service: " + r);
            }
        } finally {
            logs.close();
        }
    }

    @AfterEach
    void stillServing() throws Exception {
        System.out.println(checked + " answers by status: " + statuses);
        HttpResponse<String> open = svc.get("/api/sources/open");
        assertEquals(200, open.statusCode(), open.body());
        assertEquals(
                "hostile",
                Json.MAPPER.readTree(open.body()).get("data").get("name").asText());
        assertEquals(
                200,
                svc.get("/api/sources/secret", "Authorization", "Bearer " + KEY).statusCode());
        try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/events?sources=open,board"))) {
            assertEquals(200, sse.status());
            assertTrue(sse.nextEvent(AccessTest.WAIT).retry() != null);
            assertEquals("snapshot", sse.nextEvent(AccessTest.WAIT).event());
        }
        assertTrue(
                problems.isEmpty(),
                problems.size() + " of " + checked + " answers were wrong:\n"
                        + problems.stream().limit(25).collect(Collectors.joining("\n")));
    }

    // ---- malformed requests over raw sockets ----------------------------------------------------------------------

    @Test
    void malformedRequestLinesAndTargets() throws Exception {
        List<String> lines = List.of(
                "GARBAGE",
                "GET",
                "GET /api/sources",
                "GET /api/sources HTTP/9.9",
                "GET /api/sources HTTP/1.1 extra",
                "GET  /api/sources  HTTP/1.1",
                "get /api/sources HTTP/1.1",
                " GET /api/sources HTTP/1.1",
                "GET http://evil.example.com/api/sources HTTP/1.1",
                "GET * HTTP/1.1",
                "GET api/sources HTTP/1.1",
                "GET //api//sources// HTTP/1.1",
                "GET /api/sources/%zz HTTP/1.1",
                "GET /api/sources/% HTTP/1.1",
                "GET /api/sources/%0 HTTP/1.1",
                "GET /api/sources/%00 HTTP/1.1",
                "GET /api/sources/%C0%AF HTTP/1.1",
                "GET /api/sources/%FF%FE HTTP/1.1",
                "GET /api/sources/open%2F..%2F..%2Fsecret HTTP/1.1",
                "GET /api/sources/../sources/secret HTTP/1.1",
                "GET /api/sources/./open HTTP/1.1",
                "GET /api/sources/open/../../../../etc/passwd HTTP/1.1",
                "GET /api/sources/open;jsessionid=x HTTP/1.1",
                "GET /api/sources/open?%zz=1 HTTP/1.1",
                "GET /api/sources/open?x=%zz HTTP/1.1",
                "GET /api/sources/secret?access_token=%zz HTTP/1.1",
                "GET /api/sources/secret?access_token=% HTTP/1.1",
                "GET /api/events?sources=%zz HTTP/1.1",
                "GET /api/events?sources=open&sources=%E0%A4%A HTTP/1.1",
                "GET /api/events?sources=open&lastEventId=%ZZ HTTP/1.1",
                "GET /api/events?sources=open&delta=%00 HTTP/1.1",
                "GET /api/sources/open/events?lastEventId=%FF HTTP/1.1",
                "GET /api/sources?& HTTP/1.1",
                "GET /api/sources?=&=&== HTTP/1.1",
                "GET /api/sources#fragment HTTP/1.1",
                "GET /api/sources/\u0001 HTTP/1.1",
                "GET /api/sources/\u00e9t\u00e9 HTTP/1.1",
                "GET /api/sources/<script>alert(1)</script> HTTP/1.1",
                "GET /api/sources/open\tHTTP/1.1",
                "PRI * HTTP/2.0",
                "CONNECT 127.0.0.1:443 HTTP/1.1",
                "TRACE /api/sources/secret HTTP/1.1",
                "FOO /api/sources HTTP/1.1");
        for (String line : lines) {
            raw(line + "\r\nHost: localhost\r\nAuthorization: Bearer " + KEY + "\r\nConnection: close\r\n\r\n");
        }
        raw("\r\n\r\n");
        raw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\u0000\u0000\u0012\u0004\u0000\u0000\u0000\u0000\u0000garbage");
        Random random = new Random(SEED);
        for (int i = 0; i < 20; i++) {
            byte[] bytes = new byte[1 + random.nextInt(300)];
            random.nextBytes(bytes);
            raw(bytes);
        }
    }

    @Test
    void malformedHeaders() throws Exception {
        String start = "GET /api/sources/secret HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
        for (String headers : List.of(
                "NoColon\r\n",
                "Bad Name: x\r\n",
                "Space : x\r\n",
                ": empty-name\r\n",
                "X-Folded: a\r\n  continued\r\n",
                "Host: another\r\n",
                "Authorization: Bearer\r\n",
                "Authorization: Bearer    \r\n",
                "Authorization: Bearer " + KEY + "\r\nAuthorization: Bearer nope\r\n",
                "Authorization: Bearer a.b\r\n",
                "Authorization: Bearer ..\r\n",
                "Authorization: Bearer " + "a.".repeat(4000) + "\r\n",
                "Authorization: Bearer " + "x".repeat(9000) + "\r\n",
                "Authorization: Basic " + "A".repeat(100) + "\r\n",
                "Authorization: " + KEY + "\r\n",
                "Authorization: Bearer \u00ff\u00fe\r\n",
                "Cookie: =;;;=;access_token\r\n",
                "Cookie: access_token=\"unterminated\r\n",
                "Cookie: $Version=1; access_token=x; $Path=/\r\n",
                "Cookie: access_token=" + KEY + "; access_token=nope\r\n",
                "Cookie: " + "a=b; ".repeat(1500) + "\r\n",
                "Last-Event-ID: " + "9".repeat(12_000) + "\r\n",
                "Last-Event-ID: -1\r\n",
                "Last-Event-ID: \u00ff\r\n",
                "If-None-Match: " + "\"x\",".repeat(3000) + "\r\n",
                "If-Modified-Since: yesterday\r\n",
                "Accept-Encoding: gzip;q=nope, *;q=\r\n",
                "Origin: null\r\n",
                "Origin: https://dash.example.com\r\nAccess-Control-Request-Method: " + "G".repeat(5000) + "\r\n",
                "Content-Length: 99999999999\r\n",
                "Content-Length: -1\r\n",
                "Transfer-Encoding: chunked\r\n\r\nzz\r\ngarbage",
                "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                "Expect: 100-continue\r\n",
                "X-Long: " + "y".repeat(100_000) + "\r\n",
                IntStream.range(0, 2000).mapToObj(i -> "X-H" + i + ": v\r\n").collect(Collectors.joining()))) {
            raw(start + headers + "\r\n");
        }
        // an overlong URL, and an overlong token in the query
        raw("GET /api/sources/" + "a".repeat(100_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        raw("GET /api/sources/secret?access_token=" + "t".repeat(3_000)
                + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        raw("GET /api/sources/secret?access_token=" + "t".repeat(50_000)
                + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    }

    @Test
    void everyMethodOnEveryEndpoint() throws Exception {
        List<String> paths = List.of(
                "/",
                "/api",
                "/api/",
                "/api/sources",
                "/api/sources/open",
                "/api/sources/secret",
                "/api/sources/open/events",
                "/api/sources/town?city=Paris",
                "/api/sources/town(city=Nowhere)/events",
                "/api/events?sources=open",
                "/api/refresh",
                "/api/refresh/open",
                "/demo/clock",
                "/nope");
        for (String method : List.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO")) {
            for (String path : paths) {
                for (String auth :
                        List.of("", "Authorization: Bearer " + KEY + "\r\n", "Cookie: access_token=nope\r\n")) {
                    raw(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + auth
                            + "Origin: https://dash.example.com\r\nContent-Length: 11\r\n\r\n{\"x\":\"y\"}\r\n");
                }
            }
        }
    }

    // ---- the JDK HttpClient: many sources, long ids, garbage tokens ------------------------------------------------

    @Test
    void thousandsOfSourcesAndHugeCursors() throws Exception {
        String many = IntStream.range(0, 3000).mapToObj(i -> "s" + i).collect(Collectors.joining(","));
        check(client("/api/events?sources=" + many));
        check(client("/api/events?sources=" + "open,".repeat(3000)));
        check(client("/api/events?sources="
                + IntStream.range(0, 400).mapToObj(i -> "s" + i).collect(Collectors.joining(","))));
        check(client("/api/events?sources=" + "open,".repeat(500) + "secret"));
        check(client("/api/events?sources=" + ",".repeat(2000)));
        check(client("/api/events?sources=open&lastEventId=" + "open:99999999999999999999999999,".repeat(100)));
        check(client("/api/events?sources=open,board", "Last-Event-ID", "open:1,".repeat(1500)));
        check(client("/api/events?sources=open,board", "Last-Event-ID", "open:" + "9".repeat(10_000)));
        check(client("/api/sources/open/events", "Last-Event-ID", "9".repeat(12_000)));
        check(client("/api/sources/open/events?lastEventId=" + "-".repeat(3000)));
        check(client("/api/sources/" + "a".repeat(3000)));
        check(client("/api/sources/" + "a".repeat(3000) + "/events"));
        check(client("/api/refresh/" + "a".repeat(3000), "Authorization", "Bearer " + ADMIN));
    }

    @Test
    void garbageTokensInEveryPlace() throws Exception {
        Random random = new Random(SEED);
        List<String> tokens = new ArrayList<>(List.of(
                "x",
                ".",
                "..",
                "a.b.c",
                "eyJ.eyJ.eyJ",
                "eyJhbGciOiJub25lIn0.e30.",
                "eyJhbGciOiJIUzI1NiJ9." + "e".repeat(5000) + ".sig",
                KEY.toUpperCase(Locale.ROOT),
                KEY + " ",
                "sha256:" + AccessTest.sha256Hex(KEY),
                ADMIN));
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        // a JWT whose claims nest thousands of levels deep, and one with a crit header nobody understands
        String deep = "{\"sources\":" + "[".repeat(3000) + "]".repeat(3000) + "}";
        tokens.add(b64.encodeToString("{\"alg\":\"HS256\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(deep.getBytes(StandardCharsets.UTF_8)) + ".AAAA");
        tokens.add(signed("{\"alg\":\"HS256\",\"crit\":[\"x\"],\"x\":1}", "{\"sources\":\"*\"}"));
        tokens.add(signed("{\"alg\":\"HS256\"}", "{\"sources\":{\"a\":1},\"exp\":\"soon\",\"nbf\":[]}"));
        tokens.add(signed("{\"alg\":\"HS256\"}", "{\"sources\":[1,null,true,{}],\"exp\":" + Long.MAX_VALUE + "}"));
        tokens.add(signed("{\"alg\":\"HS256\"}", "[]"));
        tokens.add(signed("{\"alg\":\"HS256\"}", "not json"));
        for (int i = 0; i < 40; i++) {
            byte[] bytes = new byte[1 + random.nextInt(600)];
            random.nextBytes(bytes);
            tokens.add(b64.encodeToString(bytes) + "." + b64.encodeToString(bytes) + "." + b64.encodeToString(bytes));
        }
        for (String token : tokens) {
            for (String path : List.of("/api/sources/secret", "/api/sources", "/api/events?sources=open,secret")) {
                check(client(path, "Authorization", "Bearer " + token));
                check(client(path, "Cookie", "access_token=" + URLEncoder.encode(token, StandardCharsets.UTF_8)));
                check(client(path + (path.contains("?") ? "&" : "?") + "access_token="
                        + URLEncoder.encode(token, StandardCharsets.UTF_8)));
            }
        }
    }

    @Test
    void seededRandomPathsQueriesAndHeaders() throws Exception {
        Random random = new Random(SEED);
        String[] segments = {
            "api", "sources", "events", "refresh", "open", "secret", "cold", "board", "demo", "clock", "ticker", "..",
            ".", "", "%2e%2e", "%2F", "%00", "%FF", "%C3%A9", "~", "*", "%20", "a%2Fb", "events.json"
        };
        String[] keys = {"sources", "lastEventId", "delta", "access_token", "x", "", "sources[]"};
        for (int i = 0; i < 600; i++) {
            StringBuilder path = new StringBuilder(random.nextInt(4) == 0 ? "" : "/api");
            for (int n = random.nextInt(5); n > 0; n--) {
                path.append('/').append(random.nextInt(6) == 0 ? randomText(random, 12) : pick(random, segments));
            }
            if (path.isEmpty()) {
                path.append('/');
            }
            if (random.nextBoolean()) {
                StringJoiner query = new StringJoiner("&", "?", "");
                for (int n = 1 + random.nextInt(4); n > 0; n--) {
                    query.add(pick(random, keys) + "=" + queryValue(random));
                }
                path.append(query);
            }
            List<String> headers = new ArrayList<>();
            if (random.nextInt(3) == 0) {
                headers.addAll(List.of(
                        "Authorization",
                        pick(random, new String[] {"Bearer ", "bearer ", "Basic ", ""})
                                + pick(random, new String[] {KEY, ADMIN, randomText(random, 40), jwtLike(random)})));
            }
            if (random.nextInt(4) == 0) {
                headers.addAll(List.of("Cookie", "access_token=" + randomText(random, 30) + "; theme=dark"));
            }
            if (random.nextInt(4) == 0) {
                headers.addAll(List.of("Last-Event-ID", randomText(random, random.nextInt(2000))));
            }
            if (random.nextInt(5) == 0) {
                headers.addAll(List.of("Origin", pick(random, new String[] {
                    "https://dash.example.com", "null", "https://evil.example.com", randomText(random, 20)
                })));
            }
            if (random.nextInt(5) == 0) {
                headers.addAll(List.of("If-None-Match", randomText(random, 50)));
            }
            String method = pick(random, new String[] {"GET", "GET", "GET", "HEAD", "POST", "DELETE", "OPTIONS"});
            if (method.equals("OPTIONS") && random.nextBoolean()) {
                headers.addAll(List.of("Access-Control-Request-Method", "GET"));
            }
            URI uri;
            try {
                uri = svc.uri(path.toString());
            } catch (IllegalArgumentException e) {
                continue; // a URI the client itself refuses to send; the raw-socket tests cover those
            }
            check(client(method, uri, headers.toArray(String[]::new)));
        }
        assertTrue(checked > 500, "most random requests were sent: " + checked);
    }

    // ---- sending and checking -------------------------------------------------------------------------------------

    /** An answer: status (0 when the server closed without one), head and body as text. */
    record Answer(String request, int status, String head, String body) {}

    private void check(Answer a) {
        checked++;
        statuses.merge(a.status(), 1, Integer::sum);
        String what = a.request().length() > 120 ? a.request().substring(0, 120) + "…" : a.request();
        what = what.replace("\r\n", "\\r\\n");
        if (a.status() >= 500) {
            problems.add(a.status() + " for " + what + ": " + a.body());
        }
        String all = a.head() + "\n" + a.body();
        for (String s : INTERNALS) {
            if (all.contains(s)) {
                problems.add("internals (" + s + ") for " + what + ": " + all);
            }
        }
        for (String s : SECRETS) {
            if (all.contains(s)) {
                problems.add("a secret in the answer to " + what);
            }
        }
        // Helidon 4.5 reads the bytes after a HEAD request as the next request even when that request declares
        // them as its body (Content-Length), so its answer to them may follow on the connection; that is a second
        // response, not a body
        if (a.request().startsWith("HEAD ") && !a.body().isEmpty() && !a.body().startsWith("HTTP/1.1 ")) {
            problems.add("a HEAD answer with a body (the next response on the connection would start with it) for "
                    + what + ": " + a.body());
        }
        if (a.status() >= 400
                && !a.body().isEmpty()
                && !a.head().toLowerCase(Locale.ROOT).contains("application/problem+json")) {
            problems.add("error without problem+json for " + what + ": " + a.head());
        }
    }

    private void raw(String request) throws IOException {
        raw(request.getBytes(StandardCharsets.ISO_8859_1));
    }

    /**
     * Sends {@code request} on a new connection and reads one answer: the head, then the body by Content-Length, or
     * until the server closes; of an event stream only its first frame.
     */
    private void raw(byte[] request) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), svc.port()), 2000);
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request);
                out.flush();
                socket.shutdownOutput();
            } catch (IOException e) {
                // the server may stop reading an oversized request and answer at once
            }
            InputStream in = new BufferedInputStream(socket.getInputStream());
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            try {
                int c;
                while ((c = in.read()) >= 0) {
                    head.write(c);
                    if (endsWith(head, "\r\n\r\n")) {
                        break;
                    }
                }
                String h = head.toString(StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
                boolean stream = h.contains("text/event-stream");
                // a HEAD answer's Content-Length is the GET body's: nothing follows the head but, at most, the
                // answer to whatever the client sent after its request
                int length = new String(request, 0, Math.min(5, request.length), StandardCharsets.ISO_8859_1)
                                .startsWith("HEAD ")
                        ? -1
                        : contentLength(h);
                while ((length < 0 || body.size() < length) && (c = in.read()) >= 0) {
                    body.write(c);
                    if (stream
                            && endsWith(body, "\n\n")
                            && body.toString(StandardCharsets.UTF_8).contains("event:")) {
                        break;
                    }
                }
            } catch (SocketTimeoutException | java.net.SocketException e) {
                // answered as far as it goes
            }
            String h = head.toString(StandardCharsets.ISO_8859_1);
            int status = 0;
            if (h.startsWith("HTTP/1.1 ") && h.length() >= 12) {
                status = Integer.parseInt(h.substring(9, 12));
            } else if (!h.isEmpty() && !new String(request, StandardCharsets.ISO_8859_1).startsWith("PRI")) {
                problems.add("not an HTTP/1.1 answer to "
                        + new String(request, 0, Math.min(80, request.length), StandardCharsets.ISO_8859_1) + ": " + h);
            }
            check(new Answer(
                    new String(request, StandardCharsets.ISO_8859_1),
                    status,
                    h,
                    body.toString(StandardCharsets.UTF_8)));
        }
    }

    private Answer client(String path, String... headers) throws Exception {
        return client("GET", svc.uri(path), headers);
    }

    /** One request over the JDK HttpClient; of an event stream only the head is kept. */
    private Answer client(String method, URI uri, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(Duration.ofSeconds(20))
                .method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        String request = method + " " + uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery())
                + " " + String.join(" ", headers);
        HttpResponse<InputStream> r = svc.client().send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        String body;
        try (InputStream in = r.body()) {
            body = r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")
                    ? ""
                    : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        return new Answer(request, r.statusCode(), r.headers().map().toString(), body);
    }

    private static String signed(String header, String payload) throws Exception {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String signingInput = b64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payload.getBytes(StandardCharsets.UTF_8));
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(JWT_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return signingInput + "." + b64.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
    }

    private static String jwtLike(Random random) {
        try {
            return AccessTest.jwt(
                    new MACSigner(random.nextBoolean() ? JWT_SECRET : "w".repeat(40)),
                    JWSAlgorithm.HS256,
                    AccessTest.claims(
                            random.nextBoolean() ? "*" : randomText(random, 10),
                            Instant.now().plusSeconds(random.nextInt(600) - 300),
                            null));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Printable ASCII, some of it percent-encoded. */
    private static String randomText(Random random, int max) {
        StringBuilder sb = new StringBuilder();
        for (int n = random.nextInt(max + 1); n > 0; n--) {
            char c = (char) (0x21 + random.nextInt(0x5e));
            sb.append(Character.isLetterOrDigit(c) || c == '-' || c == '_' ? String.valueOf(c) : pct(c));
        }
        return sb.toString();
    }

    private static String queryValue(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> "open,secret,cold,board";
            case 1 -> "json-patch";
            case 2 ->
                IntStream.range(0, random.nextInt(200)).mapToObj(i -> "s" + i).collect(Collectors.joining(","));
            case 3 -> "%00%FF%C3";
            case 4 -> String.valueOf(random.nextLong());
            default -> randomText(random, 60);
        };
    }

    private static String pct(char c) {
        return String.format("%%%02X", (int) c);
    }

    private static String pick(Random random, String[] from) {
        return from[random.nextInt(from.length)];
    }

    private static boolean endsWith(ByteArrayOutputStream buf, String suffix) {
        byte[] b = buf.toByteArray();
        if (b.length < suffix.length()) {
            return false;
        }
        for (int i = 0; i < suffix.length(); i++) {
            if (b[b.length - suffix.length() + i] != suffix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static int contentLength(String lowerHead) {
        for (String line : lowerHead.split("\r\n")) {
            if (line.startsWith("content-length:")) {
                try {
                    return Integer.parseInt(line.substring(15).trim());
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }
}
