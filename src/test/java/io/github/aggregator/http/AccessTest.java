package io.github.aggregator.http;

import static io.github.aggregator.http.PollingTest.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Access control against a real service: public and token sources; static keys (plain and {@code sha256:}) and JWTs
 * (HS256, RS256) in the Authorization header, the cookie and the query; 401 / 403 on polling, HEAD, single and
 * multiplexed streams; the filtered {@code /api/sources}; the admin token kept apart from source access; and no secret
 * in any response or log record.
 */
class AccessTest {
    static final Duration WAIT = Duration.ofSeconds(5);
    static final String ADMIN = "admin-s3cret-token-0123456789";
    static final String KEY_SECRET = "key-for-secret-only-0123456789";
    static final String KEY_ALL = "key-for-everything-0123456789";
    static final String JWT_SECRET = "jwt-hs256-shared-s3cret-0123456789abcdef";
    static final String UPSTREAM_KEY = "upstream-query-s3cret";

    private static Upstream upstream;
    private static Service svc;
    private static KeyPair rsa;
    private static LogCapture logs;
    /** Every response of this class, checked for secrets at the end. */
    private static final List<HttpResponse<String>> seen = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        logs = LogCapture.start();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        rsa = g.generateKeyPair();
        upstream = new Upstream().reply(Upstream.Reply.custom(AccessTest::echoPath));
        svc = Service.start(yaml(upstream.url(), rsa), env());
    }

    @AfterAll
    static void stop() {
        if (svc != null) {
            svc.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        try {
            List<String> secrets = secrets();
            for (HttpResponse<String> r : seen) {
                assertNoSecret(r, secrets);
            }
            assertFalse(logs.records().isEmpty(), "the capture sees the service's log (it logs its start)");
            logs.assertNoneContain(secrets);
        } finally {
            logs.close();
        }
    }

    static String yaml(String upstreamUrl, KeyPair rsa) throws Exception {
        return """
                admin:
                  token: ${ADMIN}
                aggregator:
                  heartbeat: 200ms
                  sources:
                    - id: open
                      url: %1$s/open
                      interval: 1h
                    - id: secret
                      url: %1$s/secret?apikey=${UPSTREAM_KEY}
                      interval: 1h
                      access: token
                    - id: other
                      url: %1$s/other
                      interval: 1h
                      access: token
                    - id: mix
                      combine: [open, secret]
                      access: token
                    - id: cold
                      url: %1$s/cold
                      interval: 1h
                      poll: on-demand
                      access: token
                access:
                  keys:
                    - key: ${KEY_SECRET}
                      sources: [secret]
                    - key: sha256:%2$s
                      sources: "*"
                  jwt:
                    hs256Secret: ${JWT_SECRET}
                    leeway: 2s
                    rs256PublicKey: |
                %3$s
                """.formatted(upstreamUrl, sha256Hex(KEY_ALL), pem(rsa));
    }

    static Map<String, String> env() {
        return Map.of(
                "ADMIN", ADMIN,
                "KEY_SECRET", KEY_SECRET,
                "JWT_SECRET", JWT_SECRET,
                "UPSTREAM_KEY", UPSTREAM_KEY);
    }

    // ---- public and token sources ---------------------------------------------------------------------------------

    @Test
    void aPublicSourceNeedsNoTokenAndIgnoresABadOne() throws Exception {
        assertEquals(200, send("GET", "/api/sources/open").statusCode());
        assertEquals(
                200,
                send("GET", "/api/sources/open", "Authorization", "Bearer garbage")
                        .statusCode());
        assertEquals(
                200,
                send("GET", "/api/sources/open", "Cookie", "access_token=garbage")
                        .statusCode());
        assertEquals(200, send("GET", "/api/sources/open?access_token=garbage").statusCode());
        HttpResponse<String> r = send("GET", "/api/sources/open");
        assertFalse(
                r.headers().firstValue("Cache-Control").orElse("").contains("private"),
                r.headers().toString());
    }

    @Test
    void aTokenSourceWithoutATokenIs401OnEveryEndpoint() throws Exception {
        for (HttpResponse<String> r : List.of(
                send("GET", "/api/sources/secret"),
                send("GET", "/api/sources/secret/events"),
                send("GET", "/api/events?sources=open,secret"),
                send("GET", "/api/sources/mix"))) {
            assertProblem(r, 401);
            assertEquals(
                    "Bearer realm=\"aggregator\"",
                    header(r, "WWW-Authenticate"),
                    r.uri().toString());
            assertTrue(r.body().contains("needs an access token"), r.body());
        }
        HttpResponse<String> head = send("HEAD", "/api/sources/secret");
        assertEquals(401, head.statusCode());
        assertTrue(
                header(head, "WWW-Authenticate").startsWith("Bearer"),
                head.headers().toString());
        HttpResponse<String> basic = send("GET", "/api/sources/secret", "Authorization", "Basic dXNlcjpwYXNz");
        assertProblem(basic, 401); // a proxy's Basic credentials are not a token
    }

    @Test
    void aStaticKeyWorksInTheHeaderTheCookieAndTheQuery() throws Exception {
        for (HttpResponse<String> r : List.of(
                send("GET", "/api/sources/secret", "Authorization", "Bearer " + KEY_SECRET),
                send("GET", "/api/sources/secret", "Authorization", "bearer " + KEY_SECRET),
                send("GET", "/api/sources/secret", "Cookie", "theme=dark; access_token=" + KEY_SECRET),
                send("GET", "/api/sources/secret?access_token=" + enc(KEY_SECRET)))) {
            assertEquals(200, r.statusCode(), r.uri() + " " + r.body());
            assertEquals(
                    "/secret",
                    Json.MAPPER.readTree(r.body()).get("data").get("path").asText());
            assertTrue(header(r, "Cache-Control").startsWith("private, max-age="), header(r, "Cache-Control"));
        }
        HttpResponse<String> head = send("HEAD", "/api/sources/secret", "Authorization", "Bearer " + KEY_SECRET);
        assertEquals(200, head.statusCode());
        assertNotNull(header(head, "ETag"));
    }

    @Test
    void theHeaderWinsOverTheQueryAndTheCookie() throws Exception {
        HttpResponse<String> r = send(
                "GET",
                "/api/sources/secret?access_token=" + enc(KEY_SECRET),
                "Authorization",
                "Bearer wrong-token",
                "Cookie",
                "access_token=" + KEY_SECRET);
        assertProblem(r, 401);
        assertTrue(header(r, "WWW-Authenticate").contains("error=\"invalid_token\""), header(r, "WWW-Authenticate"));
    }

    @Test
    void aKeyThatDoesNotCoverTheSourceIs403() throws Exception {
        HttpResponse<String> r = send("GET", "/api/sources/other", "Authorization", "Bearer " + KEY_SECRET);
        assertProblem(r, 403);
        assertTrue(
                header(r, "WWW-Authenticate").contains("insufficient_scope"),
                r.headers().toString());
        assertEquals("the token does not cover source \"other\"", detail(r));
        assertProblem(send("GET", "/api/sources/mix", "Authorization", "Bearer " + KEY_SECRET), 403);
        assertEquals(
                403,
                send("HEAD", "/api/sources/other", "Cookie", "access_token=" + KEY_SECRET)
                        .statusCode());
    }

    @Test
    void aKeyConfiguredAsItsSha256CoversEverySource() throws Exception {
        for (String id : List.of("open", "secret", "other", "mix")) { // not cold: aRefusedRequestWakes... counts it
            assertEquals(
                    200,
                    send("GET", "/api/sources/" + id, "Authorization", "Bearer " + KEY_ALL)
                            .statusCode(),
                    id);
        }
        // the digest itself is not a key
        assertProblem(send("GET", "/api/sources/secret", "Authorization", "Bearer " + sha256Hex(KEY_ALL)), 401);
        assertProblem(send("GET", "/api/sources/secret", "Authorization", "Bearer sha256:" + sha256Hex(KEY_ALL)), 401);
    }

    @Test
    void anUnknownOrGarbageTokenIs401WithInvalidToken() throws Exception {
        for (String token :
                List.of("nope", KEY_SECRET + "x", KEY_SECRET.substring(1), "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.")) {
            HttpResponse<String> r = send("GET", "/api/sources/secret", "Authorization", "Bearer " + token);
            assertProblem(r, 401);
            assertTrue(header(r, "WWW-Authenticate").contains("error=\"invalid_token\""), token);
        }
    }

    // ---- JWT ------------------------------------------------------------------------------------------------------

    @Test
    void anHs256JwtGrantsTheSourcesInItsClaim() throws Exception {
        String token = jwt(
                new MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8)),
                JWSAlgorithm.HS256,
                claims(List.of("secret"), Instant.now().plusSeconds(300), null));
        assertEquals(200, get("/api/sources/secret", token).statusCode());
        assertProblem(get("/api/sources/other", token), 403);
        assertEquals(
                200,
                send("GET", "/api/sources/secret", "Cookie", "access_token=" + token)
                        .statusCode());
        assertEquals(
                200, send("GET", "/api/sources/secret?access_token=" + token).statusCode());
    }

    @Test
    void aJwtClaimMayBeOneStringOfIdsOrAStar() throws Exception {
        MACSigner hs = new MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8));
        String spaced = jwt(hs, JWSAlgorithm.HS256, claims("secret other", null, null));
        assertEquals(200, get("/api/sources/secret", spaced).statusCode());
        assertEquals(200, get("/api/sources/other", spaced).statusCode());
        assertProblem(get("/api/sources/mix", spaced), 403);
        String star = jwt(hs, JWSAlgorithm.HS256, claims(List.of("*"), null, null));
        assertEquals(200, get("/api/sources/mix", star).statusCode());
    }

    @Test
    void aJwtWithoutTheClaimOrWithAnotherSourceIs403() throws Exception {
        MACSigner hs = new MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8));
        JWTClaimsSet noClaim = new JWTClaimsSet.Builder()
                .subject("someone")
                .claim("scope", "secret")
                .build();
        assertProblem(get("/api/sources/secret", jwt(hs, JWSAlgorithm.HS256, noClaim)), 403);
        assertProblem(
                get("/api/sources/secret", jwt(hs, JWSAlgorithm.HS256, claims(List.of("open"), null, null))), 403);
    }

    @Test
    void anExpiredOrNotYetValidJwtIs401() throws Exception {
        MACSigner hs = new MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> expired = get(
                "/api/sources/secret",
                jwt(
                        hs,
                        JWSAlgorithm.HS256,
                        claims(List.of("secret"), Instant.now().minusSeconds(120), null)));
        assertProblem(expired, 401);
        assertTrue(expired.body().contains("expired"), expired.body());
        assertTrue(
                header(expired, "WWW-Authenticate").contains("invalid_token"),
                expired.headers().toString());
        HttpResponse<String> early = get(
                "/api/sources/secret",
                jwt(
                        hs,
                        JWSAlgorithm.HS256,
                        claims(List.of("secret"), null, Instant.now().plusSeconds(600))));
        assertProblem(early, 401);
        assertTrue(early.body().contains("not valid yet"), early.body());
        // within the configured leeway (2 s): still accepted
        assertEquals(
                200,
                get(
                                "/api/sources/secret",
                                jwt(
                                        hs,
                                        JWSAlgorithm.HS256,
                                        claims(List.of("secret"), Instant.now().minusSeconds(1), null)))
                        .statusCode());
    }

    @Test
    void anRs256JwtIsVerifiedWithTheConfiguredPublicKey() throws Exception {
        JWTClaimsSet grant = claims(List.of("other"), Instant.now().plusSeconds(300), null);
        assertEquals(
                200,
                get("/api/sources/other", jwt(new RSASSASigner(rsa.getPrivate()), JWSAlgorithm.RS256, grant))
                        .statusCode());

        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        String foreign = jwt(new RSASSASigner(g.generateKeyPair().getPrivate()), JWSAlgorithm.RS256, grant);
        assertProblem(get("/api/sources/other", foreign), 401);
    }

    @Test
    void forgedJwtsAreRefused() throws Exception {
        JWTClaimsSet grant = claims(List.of("*"), Instant.now().plusSeconds(300), null);
        // HS256 signed with the RSA public key as the HMAC secret (algorithm confusion)
        String confused = jwt(new MACSigner(rsa.getPublic().getEncoded()), JWSAlgorithm.HS256, grant);
        assertProblem(get("/api/sources/secret", confused), 401);
        // wrong shared secret
        String wrong = jwt(new MACSigner("another-shared-secret-0123456789abcdef"), JWSAlgorithm.HS256, grant);
        assertProblem(get("/api/sources/secret", wrong), 401);
        // alg none, no signature
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String none = b64.encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(grant.toString().getBytes(StandardCharsets.UTF_8)) + ".";
        assertProblem(get("/api/sources/secret", none), 401);
        // a valid token with its payload swapped
        String valid = jwt(
                new MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8)),
                JWSAlgorithm.HS256,
                claims(List.of("open"), null, null));
        String[] parts = valid.split("\\.");
        String swapped =
                parts[0] + "." + b64.encodeToString(grant.toString().getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertProblem(get("/api/sources/secret", swapped), 401);
        // HS512 with the right secret: only the configured algorithms count
        String hs512 = jwt(new MACSigner(JWT_SECRET + JWT_SECRET), JWSAlgorithm.HS512, grant);
        assertProblem(get("/api/sources/secret", hs512), 401);
    }

    // ---- streams --------------------------------------------------------------------------------------------------

    @Test
    void aSingleStreamNeedsACoveringToken() throws Exception {
        try (SseClient sse =
                SseClient.open(svc.client(), svc.uri("/api/sources/secret/events?access_token=" + enc(KEY_SECRET)))) {
            assertEquals(200, sse.status());
            SseClient.Frame f = firstEvent(sse);
            assertEquals("snapshot", f.event(), f.toString());
        }
        assertProblem(send("GET", "/api/sources/other/events", "Authorization", "Bearer " + KEY_SECRET), 403);
        assertProblem(send("GET", "/api/sources/other/events?access_token=nope"), 401);
    }

    @Test
    void aMultiplexedStreamIsRefusedWhenAnyListedSourceIsNotCovered() throws Exception {
        HttpResponse<String> r =
                send("GET", "/api/events?sources=open,secret,other", "Authorization", "Bearer " + KEY_SECRET);
        assertProblem(r, 403);
        assertEquals("the token does not cover source \"other\"", detail(r));
        assertProblem(send("GET", "/api/events?sources=open,other", "Cookie", "access_token=" + KEY_SECRET), 403);

        try (SseClient sse = SseClient.open(
                svc.client(), svc.uri("/api/events?sources=open,secret"), "Authorization", "Bearer " + KEY_SECRET)) {
            assertEquals(200, sse.status());
            assertEquals(Set.of("open", "secret"), snapshotIds(sse, 2));
        }
    }

    @Test
    void aMultiplexedStreamWithoutAListCarriesWhatTheCallerMayRead() throws Exception {
        try (SseClient anonymous = SseClient.open(svc.client(), svc.uri("/api/events"))) {
            assertEquals(200, anonymous.status());
            assertEquals(Set.of("open"), snapshotIds(anonymous, 1));
            assertNoFurtherSnapshot(anonymous);
        }
        try (SseClient keyed =
                SseClient.open(svc.client(), svc.uri("/api/events"), "Cookie", "access_token=" + KEY_SECRET)) {
            assertEquals(Set.of("open", "secret"), snapshotIds(keyed, 2));
            assertNoFurtherSnapshot(keyed);
        }
        assertProblem(send("GET", "/api/events", "Authorization", "Bearer nope"), 401);
    }

    @Test
    void aStreamEndsWhenItsJwtExpires() throws Exception {
        String token = jwt(
                new MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8)),
                JWSAlgorithm.HS256,
                claims(List.of("secret"), Instant.now().plusSeconds(1), null));
        try (SseClient sse = SseClient.open(
                svc.client(), svc.uri("/api/sources/secret/events"), "Authorization", "Bearer " + token)) {
            assertEquals(200, sse.status());
            assertEquals("snapshot", firstEvent(sse).event());
            // the stream lasts while a poll with the same token would be accepted: exp plus the 2 s leeway
            List<String> comments = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!sse.ended() && System.nanoTime() < deadline) {
                SseClient.Frame f = sse.next(Duration.ofMillis(500));
                if (f != null) {
                    comments.addAll(f.comments());
                }
            }
            assertTrue(sse.ended(), "the stream ended once the token expired");
            assertTrue(comments.contains("access token expired"), comments.toString());
        }
    }

    // ---- the list and the admin token ------------------------------------------------------------------------------

    @Test
    void theListShowsOnlyWhatTheCallerMayRead() throws Exception {
        assertEquals(List.of("open"), listed(send("GET", "/api/sources")));
        assertEquals(
                List.of("open", "secret"),
                listed(send("GET", "/api/sources", "Authorization", "Bearer " + KEY_SECRET)));
        assertEquals(
                List.of("open", "secret", "other", "mix", "cold"),
                listed(send("GET", "/api/sources", "Cookie", "access_token=" + KEY_ALL)));
        String rs = jwt(new RSASSASigner(rsa.getPrivate()), JWSAlgorithm.RS256, claims(List.of("other"), null, null));
        assertEquals(List.of("open", "other"), listed(send("GET", "/api/sources?access_token=" + rs)));
        HttpResponse<String> keyed = send("GET", "/api/sources", "Authorization", "Bearer " + KEY_SECRET);
        assertEquals("private, no-cache", header(keyed, "Cache-Control"));
        assertProblem(send("GET", "/api/sources", "Authorization", "Bearer nope"), 401);
    }

    @Test
    void upstreamUrlsAreShownOnlyToTheAdminAndNeverWithTheirQuery() throws Exception {
        HttpResponse<String> anonymous = send("GET", "/api/sources");
        for (JsonNode s : Json.MAPPER.readTree(anonymous.body()).get("sources")) {
            assertFalse(s.has("url"), s.toString());
        }
        HttpResponse<String> keyed = send("GET", "/api/sources", "Authorization", "Bearer " + KEY_ALL);
        assertFalse(keyed.body().contains("\"url\""), keyed.body());

        HttpResponse<String> admin = send("GET", "/api/sources", "Authorization", "Bearer " + ADMIN);
        assertEquals(200, admin.statusCode());
        assertEquals(
                List.of("open", "secret", "other", "mix", "cold"),
                listed(admin),
                "the admin sees every source's status");
        JsonNode secret = Json.MAPPER.readTree(admin.body()).get("sources").get(1);
        assertEquals(upstream.url() + "/secret", secret.get("url").asText(), "no query string");
        assertFalse(admin.body().contains("apikey"), admin.body());
    }

    @Test
    void theAdminTokenReadsNoSource() throws Exception {
        for (HttpResponse<String> r : List.of(
                send("GET", "/api/sources/secret", "Authorization", "Bearer " + ADMIN),
                send("GET", "/api/sources/secret/events", "Authorization", "Bearer " + ADMIN),
                send("GET", "/api/events?sources=secret", "Authorization", "Bearer " + ADMIN))) {
            assertProblem(r, 403);
            assertTrue(r.body().contains("admin token reads no source"), r.body());
        }
        // a public source is public for the admin too
        assertEquals(
                200,
                send("GET", "/api/sources/open", "Authorization", "Bearer " + ADMIN)
                        .statusCode());
        // and in the query or cookie the admin token is just an unknown token
        assertProblem(send("GET", "/api/sources/secret?access_token=" + ADMIN), 401);
    }

    @Test
    void adminEndpointsRefuseSourceTokens() throws Exception {
        String jwt = jwt(
                new MACSigner(JWT_SECRET.getBytes(StandardCharsets.UTF_8)),
                JWSAlgorithm.HS256,
                claims(List.of("*"), null, null));
        for (String token : List.of(KEY_ALL, KEY_SECRET, jwt)) {
            HttpResponse<String> r = send("POST", "/api/refresh/open", "Authorization", "Bearer " + token);
            assertProblem(r, 401);
            assertProblem(send("POST", "/api/refresh?access_token=" + enc(token)), 401);
            assertProblem(send("POST", "/api/refresh", "Cookie", "access_token=" + token), 401);
        }
        assertEquals(
                200,
                send("POST", "/api/refresh/open", "Authorization", "Bearer " + ADMIN)
                        .statusCode());
    }

    @Test
    void aRefusedRequestWakesNoOnDemandSource() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertProblem(send("GET", "/api/sources/cold"), 401);
            assertEquals(
                    403,
                    send("HEAD", "/api/sources/cold", "Authorization", "Bearer " + KEY_SECRET)
                            .statusCode());
            assertProblem(send("GET", "/api/sources/cold/events", "Authorization", "Bearer " + KEY_SECRET), 403);
            assertProblem(send("GET", "/api/events?sources=open,cold"), 401);
        }
        assertEquals(0, hits("/cold"), "refused requests cost the upstream nothing");

        assertEquals(
                200,
                send("GET", "/api/sources/cold", "Authorization", "Bearer " + KEY_ALL)
                        .statusCode());
        assertEquals(1, hits("/cold"), "an admitted read wakes it");
    }

    private static long hits(String path) {
        return upstream.requests().stream()
                .filter(r -> r.uri().getPath().equals(path))
                .count();
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /** Sends {@code method path} with header name/value pairs; records the response for the secret check. */
    static HttpResponse<String> send(String method, String path, String... headers) throws Exception {
        HttpResponse<String> r = send(svc, method, path, headers);
        seen.add(r);
        return r;
    }

    static HttpResponse<String> send(Service svc, String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(svc.uri(path))
                .timeout(Duration.ofSeconds(30))
                .method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<java.io.InputStream> stream =
                svc.client().send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        // streams stay open: read what is there within a moment, not until the end
        String body = stream.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")
                ? ""
                : new String(stream.body().readAllBytes(), StandardCharsets.UTF_8);
        stream.body().close();
        return new StringResponse(stream, body);
    }

    private static HttpResponse<String> get(String path, String token) throws Exception {
        return send("GET", path, "Authorization", "Bearer " + token);
    }

    static JWTClaimsSet claims(Object sources, Instant exp, Instant nbf) {
        JWTClaimsSet.Builder c = new JWTClaimsSet.Builder().subject("widget").claim("sources", sources);
        if (exp != null) {
            c.expirationTime(Date.from(exp));
        }
        if (nbf != null) {
            c.notBeforeTime(Date.from(nbf));
        }
        return c.build();
    }

    static String jwt(JWSSigner signer, JWSAlgorithm alg, JWTClaimsSet claims) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader(alg), claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    static String pem(KeyPair rsa) {
        String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'})
                .encodeToString(rsa.getPublic().getEncoded());
        return ("-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----")
                .lines()
                .map(l -> "      " + l)
                .collect(Collectors.joining("\n"));
    }

    static String sha256Hex(String text) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    private static List<String> listed(HttpResponse<String> r) throws IOException {
        assertEquals(200, r.statusCode(), r.body());
        List<String> ids = new ArrayList<>();
        Json.MAPPER
                .readTree(r.body())
                .get("sources")
                .forEach(s -> ids.add(s.get("id").asText()));
        return ids;
    }

    /** The first event after the {@code retry:} frame. */
    static SseClient.Frame firstEvent(SseClient sse) throws Exception {
        SseClient.Frame retry = sse.nextEvent(WAIT);
        assertNotNull(retry, "no retry: frame");
        assertNotNull(retry.retry(), retry.toString());
        SseClient.Frame f = sse.nextEvent(WAIT);
        assertNotNull(f, "no event after retry:");
        return f;
    }

    static String detail(HttpResponse<String> r) throws IOException {
        return Json.MAPPER.readTree(r.body()).get("detail").asText();
    }

    private static Set<String> snapshotIds(SseClient sse, int n) throws Exception {
        Set<String> ids = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            SseClient.Frame f = i == 0 ? firstEvent(sse) : sse.nextEvent(WAIT);
            assertNotNull(f, "snapshot " + (i + 1) + " of " + n + " after " + ids);
            ids.add(Json.MAPPER.readTree(f.data()).get("id").asText());
        }
        return ids;
    }

    private static void assertNoFurtherSnapshot(SseClient sse) throws Exception {
        SseClient.Frame f = sse.nextEvent(Duration.ofMillis(500));
        assertNull(f, () -> "unexpected event " + f);
    }

    private static List<String> secrets() {
        return List.of(ADMIN, KEY_SECRET, KEY_ALL, JWT_SECRET, UPSTREAM_KEY, sha256Hex(KEY_ALL));
    }

    /** No secret, and no part of a JWT signature or key, in a response's headers or body. */
    static void assertNoSecret(HttpResponse<String> r, List<String> secrets) {
        String all = r.headers().map() + "\n" + r.body();
        for (String s : secrets) {
            assertFalse(all.contains(s), () -> r.uri() + " answered with a secret: " + all);
        }
    }

    private static void echoPath(com.sun.net.httpserver.HttpExchange ex) throws IOException {
        byte[] body = ("{\"path\":\"" + ex.getRequestURI().getPath() + "\"}").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        } catch (UncheckedIOException e) {
            // client left
        }
    }

    /** A response whose body was read as a string (empty for an event stream). */
    private record StringResponse(HttpResponse<?> raw, String body) implements HttpResponse<String> {
        @Override
        public int statusCode() {
            return raw.statusCode();
        }

        @Override
        public HttpRequest request() {
            return raw.request();
        }

        @Override
        public java.util.Optional<HttpResponse<String>> previousResponse() {
            return java.util.Optional.empty();
        }

        @Override
        public java.net.http.HttpHeaders headers() {
            return raw.headers();
        }

        @Override
        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() {
            return raw.sslSession();
        }

        @Override
        public java.net.URI uri() {
            return raw.uri();
        }

        @Override
        public java.net.http.HttpClient.Version version() {
            return raw.version();
        }
    }
}
