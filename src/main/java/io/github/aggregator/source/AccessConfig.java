package io.github.aggregator.source;

import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code access} section: which credentials may read sources marked {@code access: token}. Immutable; {@link
 * #toString()} never shows a key or secret.
 *
 * @param keys static API keys, each kept only as its SHA-256 digest
 * @param jwt JSON Web Token verification, or null when JWTs are not accepted
 * @param cookie name of the cookie that may carry a token (default {@code access_token}); null disables cookies
 * @param queryParameter name of the query parameter that may carry a token (default {@code access_token}), for
 *     EventSource, which cannot set headers; null disables it
 */
public record AccessConfig(List<Key> keys, Jwt jwt, String cookie, String queryParameter) {
    private static final Pattern TOKEN_CHARS = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    public static final String DEFAULT_COOKIE = "access_token";
    public static final String DEFAULT_QUERY_PARAMETER = "access_token";
    public static final String DEFAULT_CLAIM = "sources";
    public static final Duration DEFAULT_LEEWAY = Duration.ofSeconds(30);
    /** Plain keys shorter than this are refused: they could be guessed. */
    public static final int MIN_KEY_LENGTH = 16;
    /** HS256 secrets shorter than this are refused (RFC 7518: at least the hash size, 256 bits). */
    public static final int MIN_HS256_SECRET_BYTES = 32;
    /** RS256 keys shorter than this are refused. */
    public static final int MIN_RSA_BITS = 2048;

    /** No keys, no JWT: every token is ignored and only public sources can be read. */
    public static final AccessConfig NONE = new AccessConfig(List.of(), null, DEFAULT_COOKIE, DEFAULT_QUERY_PARAMETER);

    public AccessConfig {
        keys = List.copyOf(keys);
        if (cookie != null && (cookie.isEmpty() || !TOKEN_CHARS.matcher(cookie).matches())) {
            throw new InvalidField("access.cookie", "\"" + cookie + "\" is not a cookie name");
        }
        if (queryParameter != null && (queryParameter.isEmpty() || !queryParameter.matches("[A-Za-z0-9_.-]+"))) {
            throw new InvalidField(
                    "access.queryParameter", "\"" + queryParameter + "\" is not a parameter name ([A-Za-z0-9_.-]+)");
        }
    }

    /** True when any credential can be verified (there are keys or a JWT key). */
    public boolean enabled() {
        return !keys.isEmpty() || jwt != null;
    }

    @Override
    public String toString() {
        return "AccessConfig[keys=" + keys.size() + ", jwt=" + jwt + ", cookie=" + cookie + ", queryParameter="
                + queryParameter + "]";
    }

    /**
     * One static API key.
     *
     * @param sha256 SHA-256 digest of the key's UTF-8 bytes (the key itself is not kept)
     * @param scope the sources it grants
     */
    public record Key(byte[] sha256, Scope scope) {
        public Key {
            if (sha256 == null || sha256.length != 32) {
                throw new InvalidField("key", "a SHA-256 digest has 32 bytes");
            }
            sha256 = sha256.clone();
        }

        @Override
        public byte[] sha256() {
            return sha256.clone();
        }

        @Override
        public String toString() {
            return "Key[scope=" + scope + "]";
        }

        /** By content (a record compares arrays by identity), so a config reload can tell what changed. */
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && java.util.Arrays.equals(k.sha256, sha256) && k.scope.equals(scope);
        }

        @Override
        public int hashCode() {
            return 31 * java.util.Arrays.hashCode(sha256) + scope.hashCode();
        }
    }

    /**
     * JWT verification. At least one key is set; a token's {@code alg} must be the one of a configured key.
     *
     * @param hs256Secret shared secret for HS256, at least 32 bytes, or null
     * @param rs256PublicKey RSA public key (at least 2048 bits) for RS256, or null
     * @param claim the claim listing the source ids a token grants (default {@code sources}): an array of ids, or one
     *     string of ids separated by spaces or commas; {@code "*"} grants every source
     * @param issuer when set, the {@code iss} a token must carry
     * @param audience when set, a value the token's {@code aud} must contain
     * @param leeway clock skew allowed when checking {@code exp} and {@code nbf} (default 30s)
     */
    public record Jwt(
            byte[] hs256Secret,
            RSAPublicKey rs256PublicKey,
            String claim,
            String issuer,
            String audience,
            Duration leeway) {
        public Jwt {
            if (hs256Secret == null && rs256PublicKey == null) {
                throw new InvalidField("access.jwt", "needs hs256Secret or rs256PublicKey");
            }
            if (hs256Secret != null && hs256Secret.length < MIN_HS256_SECRET_BYTES) {
                // never echo the secret
                throw new InvalidField(
                        "access.jwt.hs256Secret", "must be at least " + MIN_HS256_SECRET_BYTES + " bytes");
            }
            hs256Secret = hs256Secret == null ? null : hs256Secret.clone();
            if (rs256PublicKey != null && rs256PublicKey.getModulus().bitLength() < MIN_RSA_BITS) {
                throw new InvalidField(
                        "access.jwt.rs256PublicKey",
                        "must be at least " + MIN_RSA_BITS + " bits, got "
                                + rs256PublicKey.getModulus().bitLength());
            }
            claim = claim == null ? DEFAULT_CLAIM : claim.trim();
            if (claim.isEmpty()) {
                throw new InvalidField("access.jwt.claim", "must not be empty");
            }
            issuer = issuer == null || issuer.isBlank() ? null : issuer;
            audience = audience == null || audience.isBlank() ? null : audience;
            leeway = leeway == null ? DEFAULT_LEEWAY : leeway;
            if (leeway.isNegative() || leeway.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidField("access.jwt.leeway", "must be between 0s and 10m");
            }
        }

        @Override
        public byte[] hs256Secret() {
            return hs256Secret == null ? null : hs256Secret.clone();
        }

        /** By content (a record compares arrays by identity), so a config reload can tell what changed. */
        @Override
        public boolean equals(Object o) {
            return o instanceof Jwt j
                    && java.util.Arrays.equals(j.hs256Secret, hs256Secret)
                    && java.util.Objects.equals(j.rs256PublicKey, rs256PublicKey)
                    && j.claim.equals(claim)
                    && java.util.Objects.equals(j.issuer, issuer)
                    && java.util.Objects.equals(j.audience, audience)
                    && j.leeway.equals(leeway);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(
                    java.util.Arrays.hashCode(hs256Secret), rs256PublicKey, claim, issuer, audience);
        }

        @Override
        public String toString() {
            return "Jwt[hs256=" + (hs256Secret != null) + ", rs256=" + (rs256PublicKey != null) + ", claim=" + claim
                    + ", issuer=" + issuer + ", audience=" + audience + ", leeway=" + leeway + "]";
        }
    }
}
