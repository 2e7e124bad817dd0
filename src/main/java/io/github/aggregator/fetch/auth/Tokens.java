package io.github.aggregator.fetch.auth;

import io.github.aggregator.source.AuthConfig;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The OAuth2 tokens of one service, shared by every source with the same token endpoint and credentials.
 *
 * <ul>
 *   <li>One token request at a time per endpoint and credentials: fetches that need a token while it runs wait for
 *       it, and all use the token it brings.
 *   <li>A token is reused until shortly before its {@code expires_in} runs out (a tenth of its lifetime, at most one
 *       minute), then renewed by the next fetch. A token without {@code expires_in} is kept until an upstream refuses
 *       it.
 *   <li>After a failed token request, no new one before a backoff (1s, doubling per consecutive failure, at most
 *       10 minutes); meanwhile fetches get the failure at once, with the time to wait.
 * </ul>
 *
 * <p>Time comes from the clock given. Thread-safe; {@link #token} blocks while a token request runs.
 */
public final class Tokens {
    private static final System.Logger LOG = System.getLogger(Tokens.class.getName());
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(10);
    static final Duration MAX_EARLY = Duration.ofMinutes(1);

    /** The outcome of asking for a token. */
    public sealed interface Result {
        /** A token to send as {@code Authorization: Bearer <token>}. */
        record Granted(String token) implements Result {
            @Override
            public String toString() {
                return "Granted[***]";
            }
        }

        /** No token now: a reason starting with {@code token endpoint:}, and no new request before {@code retryAfter}. */
        record Refused(String reason, Instant retryAfter) implements Result {}
    }

    private final InstantSource clock;
    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

    public Tokens(InstantSource clock) {
        this.clock = clock;
    }

    /**
     * A token for {@code grant}: the cached one while it is fresh, else the one a (shared) token request brings.
     *
     * @param timeout bound on the token request, and on waiting for another fetch's request
     */
    public Result token(AuthConfig.OAuth2 grant, Duration timeout) {
        return entry(grant).get(grant, timeout, null);
    }

    /**
     * A token other than {@code rejected}, which an upstream just refused: the one another fetch has renewed meanwhile,
     * or a new one (subject to the backoff).
     */
    public Result renew(AuthConfig.OAuth2 grant, String rejected, Duration timeout) {
        return entry(grant).get(grant, timeout, rejected);
    }

    /**
     * Whether {@link #token} would ask the endpoint now (no fresh token, no backoff running): a source whose budget
     * also covers the token endpoint counts that request first.
     */
    public boolean wouldRequest(AuthConfig.OAuth2 grant) {
        return entry(grant).wouldRequest();
    }

    /** Token requests made so far for {@code grant}'s endpoint and credentials. */
    long requests(AuthConfig.OAuth2 grant) {
        return entry(grant).requests;
    }

    private Entry entry(AuthConfig.OAuth2 grant) {
        return entries.computeIfAbsent(key(grant), k -> new Entry());
    }

    /** A digest of everything that decides which token the endpoint gives: the key never holds a secret in clear. */
    private static String key(AuthConfig.OAuth2 g) {
        String joined = String.join(
                "\n",
                g.tokenUrl().toString(),
                g.clientId(),
                g.clientSecret(),
                String.valueOf(g.scope()),
                String.valueOf(g.audience()),
                g.clientAuth().name());
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(joined.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /** The token state of one endpoint and credentials. */
    private final class Entry {
        private String token; // guarded by this
        private Instant expiresAt; // guarded by this; null: no stated lifetime
        private Instant renewAt; // guarded by this; null: no stated lifetime
        private CompletableFuture<Result> inFlight; // guarded by this
        private int failures; // guarded by this
        private Result.Refused refusal; // guarded by this; the last failure, while its backoff runs
        private volatile long requests;

        synchronized boolean wouldRequest() {
            Instant now = clock.instant();
            boolean usable = token != null && (expiresAt == null || now.isBefore(expiresAt));
            if (usable && (renewAt == null || now.isBefore(renewAt))) {
                return false;
            }
            return refusal == null || !now.isBefore(refusal.retryAfter());
        }

        Result get(AuthConfig.OAuth2 grant, Duration timeout, String rejected) {
            CompletableFuture<Result> wait;
            boolean lead = false;
            synchronized (this) {
                Instant now = clock.instant();
                if (rejected != null && rejected.equals(token)) {
                    token = null; // refused upstream: never sent again
                }
                boolean usable = token != null && (expiresAt == null || now.isBefore(expiresAt));
                if (usable && (renewAt == null || now.isBefore(renewAt))) {
                    return new Result.Granted(token);
                }
                if (refusal != null && now.isBefore(refusal.retryAfter())) {
                    // renewal is backing off: a token that has not expired yet still serves
                    return usable ? new Result.Granted(token) : refusal;
                }
                if (inFlight == null) {
                    inFlight = new CompletableFuture<>();
                    lead = true;
                }
                wait = inFlight;
            }
            if (lead) {
                Result r;
                try {
                    r = fetch(grant, timeout);
                } catch (RuntimeException e) {
                    r = refuse(new Result.Refused("token endpoint: request failed", null), grant);
                }
                wait.complete(r);
                return r;
            }
            try {
                return wait.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                return new Result.Refused("token endpoint: timed out", null);
            } catch (ExecutionException e) {
                return new Result.Refused("token endpoint: request failed", null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Result.Refused("token endpoint: interrupted", null);
            }
        }

        private Result fetch(AuthConfig.OAuth2 grant, Duration timeout) {
            requests++;
            Instant asked = clock.instant();
            TokenEndpoint.Answer answer = new TokenEndpoint(timeout).request(grant);
            String host = grant.tokenUrl().getHost();
            synchronized (this) {
                inFlight = null;
                if (answer instanceof TokenEndpoint.Answer.Token t) {
                    failures = 0;
                    refusal = null;
                    token = t.accessToken();
                    if (t.lifetime() == null) {
                        expiresAt = null;
                        renewAt = null;
                    } else {
                        expiresAt = asked.plus(t.lifetime());
                        Duration early = t.lifetime().dividedBy(10);
                        renewAt = expiresAt.minus(early.compareTo(MAX_EARLY) > 0 ? MAX_EARLY : early);
                    }
                    LOG.log(
                            Level.DEBUG,
                            "token endpoint " + host + ": token obtained"
                                    + (t.lifetime() == null
                                            ? ""
                                            : ", expires in " + t.lifetime().toSeconds() + "s"));
                    return new Result.Granted(token);
                }
                String reason = ((TokenEndpoint.Answer.Refused) answer).reason();
                return refuse(new Result.Refused(reason, null), grant);
            }
        }

        /** Records a failed request and starts its backoff. */
        private synchronized Result.Refused refuse(Result.Refused failed, AuthConfig.OAuth2 grant) {
            inFlight = null;
            failures++;
            Duration backoff = FIRST_BACKOFF;
            for (int i = 1; i < failures && backoff.compareTo(MAX_BACKOFF) < 0; i++) {
                backoff = backoff.multipliedBy(2);
            }
            if (backoff.compareTo(MAX_BACKOFF) > 0) {
                backoff = MAX_BACKOFF;
            }
            Instant retry = clock.instant().plus(backoff);
            refusal = new Result.Refused(failed.reason(), retry);
            LOG.log(
                    Level.WARNING,
                    "token endpoint " + grant.tokenUrl().getHost()
                            + failed.reason().substring("token endpoint".length()) + " (failure " + failures
                            + "; next token request not before " + retry + ")");
            return refusal;
        }
    }
}
