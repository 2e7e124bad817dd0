package io.github.aggregator.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * {@code POST /api/refresh} and {@code POST /api/refresh/{id}}: fetch now, for platforms that freeze the CPU between
 * requests and trigger work from a scheduler. Protected by the admin token ({@code Authorization: Bearer ...},
 * compared in constant time); registered only when a token is configured. A refresh goes through the poller, so it
 * never runs two fetches of a source at once and never undercuts {@code minInterval} (such a source is reported as
 * {@code deferred} with the time it will be fetched).
 */
public final class AdminService implements HttpService {
    private static final Duration GRACE = Duration.ofSeconds(2);

    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Poller poller;
    private final Predicate<String> mayFetch;
    private final byte[] tokenDigest;

    public AdminService(SourceRegistry registry, SnapshotStore store, Poller poller, String adminToken) {
        this(registry, store, poller, id -> true, adminToken);
    }

    /**
     * @param mayFetch whether this instance fetches a source now; in a cluster the refresh of a source another
     *     instance polls is answered "deferred" (that instance fetches it on its schedule)
     */
    public AdminService(
            SourceRegistry registry,
            SnapshotStore store,
            Poller poller,
            Predicate<String> mayFetch,
            String adminToken) {
        this.mayFetch = mayFetch;
        this.registry = registry;
        this.store = store;
        this.poller = poller;
        this.tokenDigest = digest(adminToken);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/", (req, res) -> refresh(req, res, null))
                .post(
                        "/{id}",
                        (req, res) ->
                                refresh(req, res, req.path().pathParameters().get("id")));
    }

    private void refresh(ServerRequest req, ServerResponse res, String only) throws InterruptedException {
        if (!authorized(req)) {
            res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer");
            Problem.send(req, res, Status.UNAUTHORIZED_401, "a valid admin token is required (Authorization: Bearer)");
            return;
        }
        List<SourceConfig> targets = new ArrayList<>();
        if (only == null) {
            targets.addAll(registry.upstreams());
        } else {
            Optional<SourceConfig> s = registry.find(only);
            if (s.isEmpty()) {
                Problem.send(req, res, Status.NOT_FOUND_404, "no source with id \"" + Problem.echo(only) + "\"");
                return;
            }
            if (s.get().combined()) {
                Problem.send(
                        req,
                        res,
                        Status.BAD_REQUEST_400,
                        "\"" + only + "\" is combined; refresh its parts: "
                                + String.join(", ", s.get().combine()));
                return;
            }
            targets.add(s.get());
        }
        Map<String, Long> before = new LinkedHashMap<>();
        Map<String, CompletableFuture<Void>> fetches = new LinkedHashMap<>();
        Set<String> elsewhere = new HashSet<>();
        for (SourceConfig s : targets) {
            before.put(s.id(), store.latest(s.id()).map(Snapshot::version).orElse(0L));
            if (mayFetch.test(s.id())) {
                poller.fetchNow(s.id()).ifPresent(f -> fetches.put(s.id(), f));
            } else {
                elsewhere.add(s.id());
            }
        }
        ArrayNode results = Json.MAPPER.createArrayNode();
        for (SourceConfig s : targets) {
            ObjectNode r = results.addObject();
            r.put("id", s.id());
            CompletableFuture<Void> f = fetches.get(s.id());
            boolean done = f != null && await(f, s.timeout().plus(GRACE));
            Optional<Snapshot> now = store.latest(s.id());
            if (elsewhere.contains(s.id())) {
                r.put("result", "deferred");
                r.put("reason", "another instance of the cluster polls this source");
            } else if (!done) {
                r.put("result", "deferred");
                poller.state(s.id())
                        .map(Poller.State::nextFetchAt)
                        .map(Instant::toString)
                        .ifPresent(t -> r.put("nextFetchAt", t));
            } else if (now.isEmpty() || now.get().stale()) {
                r.put("result", "failed");
                r.put("error", now.map(Snapshot::error).orElse("no result"));
            } else {
                r.put("result", now.get().version() > before.get(s.id()) ? "changed" : "unchanged");
            }
            r.put("version", now.map(Snapshot::version).orElse(0L));
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.set("results", results);
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        JsonBody.send(req, res, Json.bytes(body));
    }

    private static boolean await(CompletableFuture<Void> f, Duration within) throws InterruptedException {
        try {
            f.get(within.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | ExecutionException e) {
            return false;
        }
    }

    private boolean authorized(ServerRequest req) {
        Optional<String> auth = req.headers().first(HeaderNames.AUTHORIZATION);
        if (auth.isEmpty() || !auth.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        // digests of equal length, compared in constant time: neither the token nor its length leaks
        return MessageDigest.isEqual(tokenDigest, digest(auth.get().substring(7).trim()));
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
