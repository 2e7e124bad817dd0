package io.github.aggregator.source;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How the service authenticates to one upstream ({@code auth} on a source). Every secret stays inside these records:
 * {@link #toString} never shows one, and {@link #describe} is what logs and the admin view may show.
 */
public sealed interface AuthConfig {

    /** {@code oauth2}, {@code bearerFile} or {@code basic}: the kind, as the admin view shows it. */
    String kind();

    /** What may be shown about this auth: its kind, and for OAuth2 the token endpoint's host. Never a secret. */
    default String describe() {
        return kind();
    }

    /** How the client authenticates to the token endpoint (RFC 6749 section 2.3.1). */
    enum ClientAuth {
        /** HTTP Basic with the URL-encoded client id and secret (default). */
        BASIC,
        /** {@code client_id} and {@code client_secret} in the form body. */
        POST
    }

    /**
     * The RFC 6749 client credentials grant: a bearer token from {@code tokenUrl}, renewed ahead of its expiry.
     *
     * @param tokenUrl absolute http(s) URL of the token endpoint
     * @param clientId the client id; a secret as far as logs go
     * @param clientSecret the client secret
     * @param scope optional {@code scope} parameter, null for none
     * @param audience optional {@code audience} parameter, null for none
     * @param clientAuth BASIC (default) or POST
     */
    record OAuth2(
            URI tokenUrl, String clientId, String clientSecret, String scope, String audience, ClientAuth clientAuth)
            implements AuthConfig {
        public OAuth2 {
            if (tokenUrl == null
                    || tokenUrl.getScheme() == null
                    || !(tokenUrl.getScheme().equalsIgnoreCase("http")
                            || tokenUrl.getScheme().equalsIgnoreCase("https"))
                    || tokenUrl.getHost() == null
                    || tokenUrl.getHost().isEmpty()) {
                throw new InvalidField("auth.oauth2.tokenUrl", "must be an absolute http(s) URL");
            }
            if (clientId == null || clientId.isEmpty()) {
                throw new InvalidField("auth.oauth2.clientId", "is required");
            }
            if (clientSecret == null || clientSecret.isEmpty()) {
                throw new InvalidField("auth.oauth2.clientSecret", "is required");
            }
            scope = scope == null || scope.isBlank() ? null : scope.trim();
            audience = audience == null || audience.isBlank() ? null : audience.trim();
            clientAuth = clientAuth == null ? ClientAuth.BASIC : clientAuth;
        }

        @Override
        public String kind() {
            return "oauth2";
        }

        @Override
        public String describe() {
            return "oauth2 via " + tokenUrl.getHost().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return "OAuth2[tokenHost=" + tokenUrl.getHost() + ", clientAuth=" + clientAuth + "]";
        }
    }

    /**
     * A bearer token kept in a file (a mounted secret that rotates): read again on every fetch, so a rotated file takes
     * effect on the next one. Leading and trailing whitespace is dropped.
     *
     * @param file the file holding the token
     */
    record BearerFile(Path file) implements AuthConfig {
        public BearerFile {
            if (file == null || file.toString().isBlank()) {
                throw new InvalidField("auth.bearerFile", "must name a file");
            }
        }

        @Override
        public String kind() {
            return "bearerFile";
        }
    }

    /**
     * HTTP Basic authentication (RFC 7617) with a fixed user and password.
     *
     * @param user the user name, without a colon
     * @param password the password
     */
    record Basic(String user, String password) implements AuthConfig {
        public Basic {
            if (user == null || user.isEmpty() || user.indexOf(':') >= 0) {
                throw new InvalidField("auth.basic.user", "is required and must not contain \":\"");
            }
            if (password == null) {
                throw new InvalidField("auth.basic.password", "is required");
            }
        }

        @Override
        public String kind() {
            return "basic";
        }

        @Override
        public String toString() {
            return "Basic[***]";
        }
    }
}
