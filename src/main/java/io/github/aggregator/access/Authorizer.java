package io.github.aggregator.access;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import io.github.aggregator.source.AccessConfig;
import io.github.aggregator.source.Scope;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks access tokens: static API keys (compared as SHA-256 digests in constant time, every key every time, so
 * neither a key nor how much of it matched leaks through timing) and JSON Web Tokens (HS256 with a shared secret or
 * RS256 with a public key, verified with Nimbus JOSE+JWT; the algorithm must be the one of a configured key, so
 * {@code none} and algorithm confusion are refused; {@code exp} and {@code nbf} are checked with the configured leeway
 * against the injected clock). Thread-safe; never logs.
 */
public final class Authorizer {
    /** Longer tokens are refused unread: no configured key or sane JWT is this long. */
    static final int MAX_TOKEN_LENGTH = 8192;

    private static final Verdict.Invalid INVALID = new Verdict.Invalid("the token is not valid");

    private final List<AccessConfig.Key> keys;
    private final AccessConfig.Jwt jwt;
    private final JWSVerifier hs256;
    private final JWSVerifier rs256;
    private final DefaultJWTClaimsVerifier<?> claims;

    public Authorizer(AccessConfig config, Clock clock) {
        this.keys = config.keys();
        this.jwt = config.jwt();
        try {
            this.hs256 = jwt == null || jwt.hs256Secret() == null ? null : new MACVerifier(jwt.hs256Secret());
            this.rs256 = jwt == null || jwt.rs256PublicKey() == null ? null : new RSASSAVerifier(jwt.rs256PublicKey());
        } catch (JOSEException e) {
            // the config checks the secret's length; any other refusal is a bug, not bad input
            throw new IllegalStateException("JWT key refused: " + e.getClass().getSimpleName());
        }
        this.claims = jwt == null ? null : claimsVerifier(jwt, clock);
    }

    private static DefaultJWTClaimsVerifier<?> claimsVerifier(AccessConfig.Jwt jwt, Clock clock) {
        JWTClaimsSet.Builder exact = new JWTClaimsSet.Builder();
        if (jwt.issuer() != null) {
            exact.issuer(jwt.issuer());
        }
        Set<String> audience = jwt.audience() == null ? null : Set.of(jwt.audience());
        DefaultJWTClaimsVerifier<?> v = new DefaultJWTClaimsVerifier<>(audience, exact.build(), Set.of(), Set.of()) {
            @Override
            protected Date currentTime() {
                return Date.from(clock.instant());
            }
        };
        v.setMaxClockSkew((int) jwt.leeway().toSeconds());
        return v;
    }

    /** True when any token could be valid; false when the config has no keys and no JWT key. */
    public boolean enabled() {
        return !keys.isEmpty() || jwt != null;
    }

    /** Checks {@code token} (the credential alone, without a {@code Bearer} prefix). */
    public Verdict verify(String token) {
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
            return INVALID;
        }
        byte[] digest = sha256(token);
        Scope matched = null;
        for (AccessConfig.Key key : keys) {
            if (MessageDigest.isEqual(key.sha256(), digest) && matched == null) {
                matched = key.scope();
            }
        }
        if (matched != null) {
            return new Verdict.Valid(matched, null);
        }
        return jwt == null ? INVALID : verifyJwt(token);
    }

    private Verdict verifyJwt(String token) {
        try {
            SignedJWT signed = SignedJWT.parse(token);
            JWSAlgorithm alg = signed.getHeader().getAlgorithm();
            JWSVerifier verifier =
                    JWSAlgorithm.HS256.equals(alg) ? hs256 : JWSAlgorithm.RS256.equals(alg) ? rs256 : null;
            if (verifier == null || !signed.verify(verifier)) {
                return INVALID;
            }
            JWTClaimsSet set = signed.getJWTClaimsSet();
            claims.verify(set, null);
            Date exp = set.getExpirationTime();
            // accepted until exp plus the leeway: a stream it opens lasts as long as a poll would be accepted
            return new Verdict.Valid(
                    scope(set.getClaim(jwt.claim())),
                    exp == null ? null : exp.toInstant().plus(jwt.leeway()));
        } catch (ExpiredJWTException e) {
            return new Verdict.Invalid("the token has expired");
        } catch (BadJWTException e) {
            return new Verdict.Invalid(
                    e.getMessage() != null && e.getMessage().contains("before use time")
                            ? "the token is not valid yet"
                            : "the token's claims are not accepted");
        } catch (ParseException | JOSEException | RuntimeException e) {
            // malformed base64, JSON or key material: all the same to the caller, and never echoed
            return INVALID;
        }
    }

    /** The grant in a JWT's claim: an array of ids, or one string of ids separated by spaces or commas. */
    private static Scope scope(Object claim) {
        Set<String> ids = new HashSet<>();
        if (claim instanceof String s) {
            for (String id : s.split("[\\s,]+")) {
                if (!id.isEmpty()) {
                    ids.add(id);
                }
            }
        } else if (claim instanceof Collection<?> list) {
            for (Object o : list) {
                if (o instanceof String id) {
                    ids.add(id.trim());
                }
            }
        }
        return ids.contains("*") ? Scope.everything() : new Scope(false, ids);
    }

    static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
