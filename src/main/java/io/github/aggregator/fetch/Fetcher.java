package io.github.aggregator.fetch;

import io.github.aggregator.fetch.auth.Tokens;
import io.github.aggregator.fetch.auth.UpstreamAuth;
import io.github.aggregator.fetch.budget.Budgets;
import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.SourceConfig;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webclient.api.HttpClientRequest;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.TcpClientConnection;
import io.helidon.webclient.api.WebClient;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Makes one upstream call for one source and turns whatever happens into a {@link FetchResult}. Never throws.
 *
 * <p>The whole call, connect to last body byte, is bounded by the source's {@code timeout}; bodies larger than {@code
 * maxBodySize} are refused without reading them fully. Thread-safe, but the poller never calls one fetcher
 * concurrently.
 */
public final class Fetcher {
    private static final int MAX_REDIRECTS = 5;
    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    private final SourceConfig source;
    private final String userAgent;
    private final Supplier<URI> selfBase;
    private final InstantSource clock;
    private final boolean self; // a path URL: this service itself
    private final UpstreamAuth auth;
    private final Budgets.Gate gate;
    // when the upstream's rate-limit headers last said none remain: no request before this; null when they did not
    private volatile Instant quietUntil;
    private final Validators validators = new Validators();

    /**
     * @param source the source to fetch
     * @param userAgent sent unless the source's headers set their own
     * @param selfBase this service's own base URI, used to resolve a source URL that is only a path
     * @param clock turns a Retry-After delay into a time
     */
    public Fetcher(SourceConfig source, String userAgent, Supplier<URI> selfBase, InstantSource clock) {
        this(source, userAgent, selfBase, clock, new Tokens(clock));
    }

    /**
     * A fetcher whose source's OAuth2 tokens come from {@code tokens}, shared with the service's other sources.
     *
     * @param tokens the service's OAuth2 tokens
     */
    public Fetcher(SourceConfig source, String userAgent, Supplier<URI> selfBase, InstantSource clock, Tokens tokens) {
        this(source, userAgent, selfBase, clock, tokens, Budgets.Gate.OPEN);
    }

    /**
     * A fetcher that asks {@code gate} before every request it sends (the first, each redirect, the retry after a
     * renewed token, and a token request to the API's own host): when the source's budget allows none, the fetch ends
     * as {@link FetchResult.Deferred} without sending it.
     *
     * @param gate the source's request budget
     */
    public Fetcher(
            SourceConfig source,
            String userAgent,
            Supplier<URI> selfBase,
            InstantSource clock,
            Tokens tokens,
            Budgets.Gate gate) {
        this.source = source;
        this.gate = gate;
        this.auth = UpstreamAuth.of(source.auth(), tokens);
        this.userAgent = userAgent;
        this.selfBase = selfBase;
        this.clock = clock;
        // a path URL means this service itself, which may serve TLS with a certificate made for other names
        this.self = source.url().getScheme() == null;
    }

    /**
     * Builds the web clients the first fetches of {@code sources} will use (with the web client machinery: protocol
     * discovery, default config), which the first fetch would otherwise pay for within its timeout; the service calls
     * it on a background thread while it starts. When a source or its OAuth2 token endpoint is {@code https}, that
     * includes reading the JDK's trust store. A source given by a path is this service itself, taken to be {@code
     * http} (over TLS its client is built at its first fetch). Idempotent; thread-safe.
     */
    public static void preload(List<SourceConfig> sources) {
        for (SourceConfig s : sources) {
            if (s.url() != null) {
                boolean self = s.url().getScheme() == null;
                UpstreamClients.client(
                        s.timeout(),
                        self,
                        !self && "https".equalsIgnoreCase(s.url().getScheme()));
            }
            if (s.auth() instanceof AuthConfig.OAuth2 grant
                    && "https".equalsIgnoreCase(grant.tokenUrl().getScheme())) {
                UpstreamClients.client(s.timeout(), false, true); // the trust store, read once per JVM
            }
        }
    }

    /**
     * When the upstream's last answer said through its rate-limit headers that no request remains: the time before
     * which it wants none; null otherwise.
     */
    public Instant quietUntil() {
        return quietUntil;
    }

    /** The source this fetcher calls. */
    public SourceConfig source() {
        return source;
    }

    /**
     * Calls the upstream once. Blocks for at most about the source's timeout: on a virtual thread (as the poller calls
     * it) the whole call is cut off then, even a response whose headers trickle in; on a platform thread, each read is.
     */
    public FetchResult fetch() {
        try (Watchdog watchdog = new Watchdog(source.timeout())) {
            FetchResult result = call();
            return watchdog.fired() && result instanceof FetchResult.Failure ? timedOut() : result;
        }
    }

    private FetchResult call() {
        long deadline = System.nanoTime() + source.timeout().toNanos();
        URI first = target();
        URI target = first;
        Validators.Known known = validators.known();
        // a token request to the API's own host spends the same budget
        boolean tokenCounts = auth.tokenEndpoint() != null && UpstreamUris.sameHost(auth.tokenEndpoint(), first);
        if (tokenCounts && auth.wouldRequestToken()) {
            FetchResult deferred = spend(true);
            if (deferred != null) {
                return deferred;
            }
        }
        UpstreamAuth.Header credential;
        try {
            credential = auth.header(source.timeout());
        } finally {
            gate.answered(); // a token request counted above, if any, was answered
        }
        if (credential instanceof UpstreamAuth.Header.Unavailable u) {
            return new FetchResult.Failure(u.reason(), u.retryAfter());
        }
        String authorization = ((UpstreamAuth.Header.Value) credential).authorization();
        boolean renewed = false;
        int sent = 0;
        for (int hop = 0; ; hop++) {
            // the source's headers (keys, tokens) and validators go only to the origin the admin configured
            boolean sameOrigin = UpstreamUris.sameOrigin(first, target);
            WebClient client = UpstreamClients.client(source.timeout(), self, target);
            HttpClientRequest request = client.get()
                    .uri(UpstreamUris.verbatim(target))
                    .skipUriEncoding(true)
                    .readTimeout(source.timeout());
            request.keepAlive(false); // see UpstreamClients: no idle connection is left to the upstream
            request.header(HeaderNames.USER_AGENT, userAgent); // a User-Agent in the source's headers replaces it
            request.header(
                    HeaderNames.ACCEPT,
                    source.format() == SourceConfig.Format.TEXT ? "*/*" : "application/json, */*;q=0.5");
            if (sameOrigin) {
                known.addTo(request);
                for (Map.Entry<String, String> h : source.headers().entrySet()) {
                    request.header(HeaderNames.create(h.getKey()), h.getValue());
                }
                if (authorization != null) {
                    request.header(HeaderNames.AUTHORIZATION, authorization);
                }
            }
            // the connection is this fetch's own and closed when it ends, whatever happened: Helidon's client leaves a
            // socket open (until a garbage collection) when a response fails before its status was read
            // every request counts against the source's budget: the first, each redirect, the retry after a renewal
            FetchResult deferred = spend(sent > 0);
            if (deferred != null) {
                return deferred;
            }
            sent++;
            TcpClientConnection connection;
            try {
                connection = UpstreamClients.connect(client, target);
            } catch (RuntimeException e) {
                gate.answered();
                return fail(describe(e));
            }
            request.connection(connection);
            try (HttpClientResponse response = request.request()) {
                gate.answered(); // the upstream has had the request by the time its answer begins
                Status status = response.status();
                quietUntil = RateLimits.quietUntil(
                                name -> response.headers().first(HeaderNames.create(name)), clock.instant())
                        .orElse(null);
                if (REDIRECTS.contains(status.code())) {
                    Optional<String> location = response.headers().first(HeaderNames.LOCATION);
                    if (location.isEmpty()) {
                        return fail("redirect without a Location header");
                    }
                    if (hop >= MAX_REDIRECTS) {
                        return fail("too many redirects (more than " + MAX_REDIRECTS + ")");
                    }
                    Optional<URI> next = UpstreamUris.resolve(target, location.get());
                    if (next.isEmpty()) {
                        return fail("redirect to an invalid or unsupported Location");
                    }
                    target = next.get();
                    continue;
                }
                if (status.code() == Status.UNAUTHORIZED_401.code() && sameOrigin && auth.renewable()) {
                    if (renewed) {
                        return fail("HTTP 401 after a fresh token");
                    }
                    // the cached token was refused (revoked, or expired early): one renewal, one retry
                    renewed = true;
                    FetchResult unsent = tokenCounts ? spend(true) : null;
                    if (unsent != null) {
                        return unsent;
                    }
                    try {
                        credential = auth.renewed(authorization, source.timeout());
                    } finally {
                        gate.answered();
                    }
                    if (credential instanceof UpstreamAuth.Header.Unavailable u) {
                        return new FetchResult.Failure(u.reason(), u.retryAfter());
                    }
                    authorization = ((UpstreamAuth.Header.Value) credential).authorization();
                    continue;
                }
                if (status.code() == Status.NOT_MODIFIED_304.code()) {
                    if (!sameOrigin || !known.conditional()) {
                        return fail("HTTP 304 to a request that was not conditional");
                    }
                    validators.notModified(response.headers());
                    return new FetchResult.NotModified();
                }
                if (status.family() != Status.Family.SUCCESSFUL) {
                    Instant notBefore = status.code() == 429 || status.code() == 503
                            ? RateLimits.retryAfter(
                                    response.headers()
                                            .first(HeaderNames.RETRY_AFTER)
                                            .orElse(null),
                                    clock.instant())
                            : null;
                    return new FetchResult.Failure("HTTP " + status.code() + reasonOf(status), notBefore);
                }
                long declared = response.headers().contentLength().orElse(-1);
                if (declared > source.maxBodySize()) {
                    return tooLarge();
                }
                byte[] body = BodyReader.read(response.inputStream(), deadline, source.maxBodySize());
                if (body == null) {
                    return tooLarge();
                }
                FetchResult result =
                        Transform.interpret(source, body, response.headers().contentType());
                if (result instanceof FetchResult.Success) {
                    validators.succeeded(response.headers(), sameOrigin);
                }
                return result;
            } catch (BodyReader.Deadline e) {
                return timedOut();
            } catch (RuntimeException | IOException e) {
                return fail(describe(e));
            } finally {
                gate.answered(); // after a failure too (no-op when already told)
                connection.closeResource();
            }
        }
    }

    /** Counts one request against the budget: null to send it, else the result that ends the fetch unsent. */
    private FetchResult spend(boolean extra) {
        long wait = gate.acquire(extra);
        return wait <= 0 ? null : new FetchResult.Deferred(clock.instant().plusMillis(wait));
    }

    private URI target() {
        URI url = source.url();
        return url.getScheme() == null ? selfBase.get().resolve(url) : url;
    }

    private FetchResult timedOut() {
        return fail("timed out after " + describe(source.timeout()));
    }

    private FetchResult tooLarge() {
        return fail("response too large (over " + source.maxBodySize() + " bytes)");
    }

    private static FetchResult fail(String reason) {
        return new FetchResult.Failure(reason);
    }

    private String describe(Throwable e) {
        return FetchErrors.describe(e, target().getHost(), source.timeout());
    }

    private static String reasonOf(Status status) {
        String reason = status.reasonPhrase();
        return reason == null || reason.isBlank() ? "" : " " + reason;
    }

    private static String describe(Duration d) {
        return io.github.aggregator.source.Durations.format(d);
    }
}
