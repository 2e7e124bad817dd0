package io.github.aggregator.fetch.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.TestClock;
import io.github.aggregator.testing.TestSources;
import io.github.aggregator.testing.Upstream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each auth kind through the real {@link Fetcher}, against a real token endpoint and a real API on loopback that count
 * what they receive; time moves on a {@link TestClock}.
 */
class UpstreamAuthTest {
    private static final String SECRET = "s3cr3t-client-secret";
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final TestClock clock = new TestClock();
    private final Upstream tokenEndpoint = new Upstream();
    private final Upstream api = new Upstream();
    /** The tokens the endpoint has issued, in order; the API accepts only those not revoked. */
    private final List<String> issued = new CopyOnWriteArrayList<>();
    /** The request bodies the token endpoint received. */
    private final List<String> forms = new CopyOnWriteArrayList<>();

    private final AtomicInteger revokedUpTo = new AtomicInteger(); // tokens issued[0..n) are refused
    private final AtomicReference<Long> lifetime = new AtomicReference<>(100L);
    private final Tokens tokens = new Tokens(clock);

    @TempDir
    Path dir;

    UpstreamAuthTest() {
        issueTokens(null);
        api.reply(Upstream.Reply.custom(ex -> {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            int at = auth == null ? -1 : issued.indexOf(auth.replaceFirst("^Bearer ", ""));
            boolean ok = at >= revokedUpTo.get();
            byte[] body = (ok ? "{\"n\":" + at + "}" : "{\"error\":\"unauthorized\"}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(ok ? 200 : 401, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }));
    }

    /** Makes the token endpoint issue t1, t2, ... (waiting for {@code gate} first when set). */
    private void issueTokens(CountDownLatch gate) {
        tokenEndpoint.reply(Upstream.Reply.custom(ex -> {
            forms.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            if (gate != null) {
                gate.await();
            }
            String token = "t" + (issued.size() + 1) + "-" + SECRET.hashCode();
            issued.add(token);
            Long life = lifetime.get();
            byte[] body = ("{\"access_token\":\"" + token + "\",\"token_type\":\"Bearer\""
                            + (life == null ? "" : ",\"expires_in\":" + life) + "}")
                    .getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }));
    }

    @AfterEach
    void stop() {
        tokenEndpoint.close();
        api.close();
    }

    private AuthConfig.OAuth2 grant(AuthConfig.ClientAuth clientAuth) {
        return new AuthConfig.OAuth2(
                URI.create(tokenEndpoint.url() + "/oauth2/token"), "client-1", SECRET, "orders.read", null, clientAuth);
    }

    private Fetcher fetcher(String id, AuthConfig auth) {
        SourceConfig s = TestSources.of(
                        id,
                        URI.create(api.url() + "/v2/orders"),
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(10),
                        null,
                        null,
                        null,
                        null)
                .with(auth, null);
        return new Fetcher(s, "test", () -> null, clock, tokens);
    }

    private List<String> apiAuthorizations() {
        return api.requests().stream()
                .map(r -> r.headers().getFirst("Authorization"))
                .toList();
    }

    @Test
    void oneTokenServesEveryFetchUntilShortlyBeforeItExpiresThenItIsRenewedAhead() {
        Fetcher a = fetcher("a", grant(null));
        Fetcher b = fetcher("b", grant(null)); // same endpoint and credentials: the same token
        for (int i = 0; i < 3; i++) {
            assertInstanceOf(FetchResult.Success.class, a.fetch());
            assertInstanceOf(FetchResult.Success.class, b.fetch());
        }
        assertEquals(1, tokenEndpoint.hits());
        assertEquals(6, api.hits());
        assertTrue(
                apiAuthorizations().stream().allMatch(("Bearer " + issued.get(0))::equals),
                apiAuthorizations().toString());

        clock.advance(Duration.ofSeconds(89)); // expires_in 100: renewed a tenth of the lifetime early, at 90s
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        assertEquals(1, tokenEndpoint.hits());
        clock.advance(Duration.ofSeconds(2));
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        assertInstanceOf(FetchResult.Success.class, b.fetch());
        assertEquals(2, tokenEndpoint.hits(), "renewed before expiry, once for both sources");
        List<String> seen = apiAuthorizations();
        assertEquals("Bearer " + issued.get(1), seen.get(seen.size() - 1));
        assertEquals("Bearer " + issued.get(1), seen.get(seen.size() - 2));

        // the grant as RFC 6749 4.4 sends it, client authenticated with HTTP Basic (2.3.1)
        assertEquals("grant_type=client_credentials&scope=orders.read", forms.get(0));
        String basic = tokenEndpoint.requests().get(0).headers().getFirst("Authorization");
        assertEquals(
                "Basic " + Base64.getEncoder().encodeToString(("client-1:" + SECRET).getBytes(StandardCharsets.UTF_8)),
                basic);
        assertEquals("POST", tokenEndpoint.requests().get(0).method());
    }

    @Test
    void clientAuthPostSendsTheCredentialsInTheFormBody() {
        assertInstanceOf(
                FetchResult.Success.class,
                fetcher("a", grant(AuthConfig.ClientAuth.POST)).fetch());
        assertEquals(
                "grant_type=client_credentials&scope=orders.read&client_id=client-1&client_secret=" + SECRET,
                forms.get(0));
        assertNull(tokenEndpoint.requests().get(0).headers().getFirst("Authorization"));
    }

    @Test
    void aTokenWithoutExpiresInIsKeptUntilRefused() {
        lifetime.set(null);
        Fetcher a = fetcher("a", grant(null));
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        clock.advance(Duration.ofDays(2));
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        assertEquals(1, tokenEndpoint.hits());
    }

    @Test
    void a401RenewsTheTokenOnceAndRetriesOnce() {
        Fetcher a = fetcher("a", grant(null));
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        revokedUpTo.set(1); // the upstream revokes t1 early
        FetchResult r = a.fetch();
        assertInstanceOf(FetchResult.Success.class, r, r.toString());
        assertEquals(2, tokenEndpoint.hits());
        assertEquals(
                List.of("Bearer " + issued.get(0), "Bearer " + issued.get(0), "Bearer " + issued.get(1)),
                apiAuthorizations());

        revokedUpTo.set(Integer.MAX_VALUE); // now every token is refused
        r = a.fetch();
        assertEquals(new FetchResult.Failure("HTTP 401 after a fresh token"), r);
        assertEquals(3, tokenEndpoint.hits(), "one renewal");
        assertEquals(5, api.hits(), "one retry");
    }

    @Test
    void aFailingTokenEndpointGivesItsErrorCodeAndBacksOff() {
        tokenEndpoint.reply(Upstream.Reply.status(
                400,
                "application/json",
                "{\"error\":\"invalid_client\",\"error_description\":\"bad secret " + SECRET + "\"}"));
        Fetcher a = fetcher("a", grant(null));
        Fetcher b = fetcher("b", grant(null));
        Instant start = clock.instant();
        try (LogCapture logs = LogCapture.start()) {
            FetchResult r = a.fetch();
            assertEquals(new FetchResult.Failure("token endpoint: HTTP 400 invalid_client", start.plusSeconds(1)), r);
            // within the backoff nobody asks again, whichever source fetches
            assertEquals(r, a.fetch());
            assertEquals(r, b.fetch());
            assertEquals(1, tokenEndpoint.hits());
            clock.advance(Duration.ofSeconds(1));
            assertEquals(
                    new FetchResult.Failure("token endpoint: HTTP 400 invalid_client", start.plusSeconds(3)),
                    b.fetch());
            assertEquals(2, tokenEndpoint.hits());
            clock.advance(Duration.ofSeconds(1));
            a.fetch();
            assertEquals(2, tokenEndpoint.hits(), "second backoff is 2s");
            clock.advance(Duration.ofSeconds(1));
            a.fetch();
            assertEquals(3, tokenEndpoint.hits());
            assertEquals(0, api.hits(), "no upstream request without a token");
            assertTrue(
                    logs.records().stream().anyMatch(l -> l.contains("HTTP 400 invalid_client")),
                    logs.records().toString());
            logs.assertNoneContain(List.of(SECRET));
        }
        // recovered: the next fetch after the backoff gets a token
        issueTokens(null);
        clock.advance(Duration.ofSeconds(4));
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        assertEquals(4, tokenEndpoint.hits());
    }

    @Test
    void anUnreachableTokenEndpointIsAShortStaleReason() {
        tokenEndpoint.close();
        FetchResult r = fetcher("a", grant(null)).fetch();
        assertEquals("token endpoint: connection refused", ((FetchResult.Failure) r).reason());
    }

    @Test
    void manyConcurrentFetchesWaitForOneTokenRequest() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        issueTokens(gate);
        int n = 20;
        List<Thread> threads = new ArrayList<>();
        List<FetchResult> results = new CopyOnWriteArrayList<>();
        for (int i = 0; i < n; i++) {
            Fetcher f = fetcher("s" + i, grant(null));
            threads.add(Thread.ofPlatform().start(() -> results.add(f.fetch())));
        }
        // every fetch but the one making the request waits for it (a timed wait on the shared request)
        Await.isTrue(
                () -> tokenEndpoint.hits() == 1
                        && threads.stream()
                                        .filter(t -> t.getState() == Thread.State.TIMED_WAITING)
                                        .count()
                                >= n - 1,
                WAIT,
                "19 fetches waiting on one token request");
        gate.countDown();
        for (Thread t : threads) {
            t.join(WAIT.toMillis());
        }
        assertEquals(n, results.size());
        assertTrue(results.stream().allMatch(r -> r instanceof FetchResult.Success), results.toString());
        assertEquals(1, tokenEndpoint.hits());
        assertEquals(n, api.hits());
    }

    @Test
    void aBearerFileIsReadOnEveryFetchAndAMissingOrEmptyOneIsAStaleReasonNamingIt() throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, "first-token\n");
        issued.add("first-token");
        issued.add("second-token");
        Fetcher a = fetcher("a", new AuthConfig.BearerFile(file));
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        Files.writeString(file, "second-token"); // rotated
        assertInstanceOf(FetchResult.Success.class, a.fetch());
        assertEquals(List.of("Bearer first-token", "Bearer second-token"), apiAuthorizations());

        Files.writeString(file, "  \n");
        assertEquals(new FetchResult.Failure("auth.bearerFile " + file + " is empty"), a.fetch());
        Files.delete(file);
        assertEquals(new FetchResult.Failure("auth.bearerFile " + file + " does not exist"), a.fetch());
        Files.writeString(file, "two\ntokens");
        assertEquals(
                new FetchResult.Failure("auth.bearerFile " + file + " holds more than one printable token"), a.fetch());
        assertEquals(2, api.hits(), "no request without a credential");
        assertEquals(0, tokenEndpoint.hits());
    }

    @Test
    void basicSendsUserAndPassword() {
        api.json("{}");
        assertInstanceOf(
                FetchResult.Success.class,
                fetcher("a", new AuthConfig.Basic("user", "pa:ss")).fetch());
        assertEquals(
                List.of("Basic " + Base64.getEncoder().encodeToString("user:pa:ss".getBytes(StandardCharsets.UTF_8))),
                apiAuthorizations());
        assertEquals("Basic[***]", new AuthConfig.Basic("user", "pa:ss").toString());
        assertTrue(!grant(null).toString().contains(SECRET));
    }
}
