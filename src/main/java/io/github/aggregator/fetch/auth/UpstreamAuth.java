package io.github.aggregator.fetch.auth;

import io.github.aggregator.source.AuthConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * The {@code Authorization} header one source sends upstream, from its {@code auth} config. Thread-safe; {@link
 * #header} may block on a token request (OAuth2) or a file read (bearerFile).
 */
public final class UpstreamAuth {
    private static final int MAX_TOKEN_FILE = 16 * 1024;
    private static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7e]+");
    private static final UpstreamAuth NONE = new UpstreamAuth(null, null);

    /** What to send, or why nothing can be sent. */
    public sealed interface Header {
        /** The {@code Authorization} value, null when the source has no auth. */
        record Value(String authorization) implements Header {
            @Override
            public String toString() {
                return authorization == null ? "Value[none]" : "Value[***]";
            }
        }

        /** No credential now (a stale reason that names no secret); no fetch before {@code retryAfter} when set. */
        record Unavailable(String reason, Instant retryAfter) implements Header {}
    }

    private final AuthConfig config;
    private final Tokens tokens;

    private UpstreamAuth(AuthConfig config, Tokens tokens) {
        this.config = config;
        this.tokens = tokens;
    }

    /** The auth of a source with {@code config} (null: none), drawing OAuth2 tokens from the shared {@code tokens}. */
    public static UpstreamAuth of(AuthConfig config, Tokens tokens) {
        return config == null ? NONE : new UpstreamAuth(config, tokens);
    }

    /** Whether a 401 may be answered by renewing the credential ({@link #renewed}) and trying once more. */
    public boolean renewable() {
        return config instanceof AuthConfig.OAuth2;
    }

    /** The OAuth2 token endpoint this source's tokens come from; null for the other kinds. */
    public java.net.URI tokenEndpoint() {
        return config instanceof AuthConfig.OAuth2 o ? o.tokenUrl() : null;
    }

    /** Whether {@link #header} would send a token request now (OAuth2 without a fresh token, and no backoff). */
    public boolean wouldRequestToken() {
        return config instanceof AuthConfig.OAuth2 o && tokens.wouldRequest(o);
    }

    /** The header to send now. */
    public Header header(Duration timeout) {
        return switch (config) {
            case null -> new Header.Value(null);
            case AuthConfig.Basic b ->
                new Header.Value("Basic "
                        + Base64.getEncoder()
                                .encodeToString((b.user() + ":" + b.password()).getBytes(StandardCharsets.UTF_8)));
            case AuthConfig.BearerFile f -> fromFile(f.file());
            case AuthConfig.OAuth2 o -> bearer(tokens.token(o, timeout));
        };
    }

    /** After an upstream refused {@code rejected} (a value {@link #header} gave): a renewed header. */
    public Header renewed(String rejected, Duration timeout) {
        if (!(config instanceof AuthConfig.OAuth2 o)) {
            return header(timeout);
        }
        String token = rejected != null && rejected.startsWith("Bearer ") ? rejected.substring(7) : rejected;
        return bearer(tokens.renew(o, token, timeout));
    }

    private static Header bearer(Tokens.Result r) {
        return switch (r) {
            case Tokens.Result.Granted g -> new Header.Value("Bearer " + g.token());
            case Tokens.Result.Refused f -> new Header.Unavailable(f.reason(), f.retryAfter());
        };
    }

    /** The file read now, so a rotated file counts from the next fetch on. */
    private static Header fromFile(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_TOKEN_FILE) {
                return unavailable(file, "is larger than " + MAX_TOKEN_FILE + " bytes");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return unavailable(file, "does not exist");
        } catch (IOException | SecurityException e) {
            return unavailable(
                    file, "cannot be read (" + e.getClass().getSimpleName().replace("Exception", "") + ")");
        }
        String token = new String(bytes, StandardCharsets.UTF_8).strip();
        if (token.isEmpty()) {
            return unavailable(file, "is empty");
        }
        if (!TOKEN.matcher(token).matches()) {
            return unavailable(file, "holds more than one printable token");
        }
        return new Header.Value("Bearer " + token);
    }

    private static Header unavailable(Path file, String why) {
        return new Header.Unavailable("auth.bearerFile " + file + " " + why, null);
    }
}
