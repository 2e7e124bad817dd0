package io.github.aggregator.fetch.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.source.Json;
import io.helidon.common.tls.Tls;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webclient.api.HttpClientRequest;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.api.WebClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One RFC 6749 client credentials request (section 4.4) to a token endpoint. The answer becomes a {@link Answer}
 * value; no secret (client secret, token, response body) ever appears in one of its reasons. Thread-safe.
 */
final class TokenEndpoint {
    private static final int MAX_ANSWER = 64 * 1024;
    // RFC 6749 section 5.2: error codes are printable ASCII; only short snake-case ones are repeated
    private static final Pattern ERROR_CODE = Pattern.compile("[a-z0-9_]{1,48}");
    private static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7e]+");

    /** The endpoint's answer. */
    sealed interface Answer {
        /** A bearer token valid for {@code lifetime}, or with no stated lifetime when null. */
        record Token(String accessToken, Duration lifetime) implements Answer {
            @Override
            public String toString() {
                return "Token[lifetime=" + lifetime + "]";
            }
        }

        /** No token: a short reason starting with {@code token endpoint:}. */
        record Refused(String reason) implements Answer {}
    }

    private static final Tls NO_TLS = Tls.builder().enabled(false).build();

    private final Duration timeout;

    TokenEndpoint(Duration timeout) {
        this.timeout = timeout;
    }

    /** A client for {@code url}: with TLS only for {@code https} (a TLS context reads the JDK's trust store). */
    private WebClient client(java.net.URI url) {
        var builder =
                WebClient.builder().connectTimeout(timeout).readTimeout(timeout).followRedirects(false);
        if (!"https".equalsIgnoreCase(url.getScheme())) {
            builder.tls(NO_TLS);
        }
        return builder.build();
    }

    Answer request(AuthConfig.OAuth2 grant) {
        StringBuilder form = new StringBuilder("grant_type=client_credentials");
        if (grant.scope() != null) {
            form.append("&scope=").append(encode(grant.scope()));
        }
        if (grant.audience() != null) {
            form.append("&audience=").append(encode(grant.audience()));
        }
        HttpClientRequest request = client(grant.tokenUrl()).post().uri(grant.tokenUrl());
        request.header(HeaderNames.ACCEPT, "application/json");
        request.header(HeaderNames.CONTENT_TYPE, "application/x-www-form-urlencoded");
        if (grant.clientAuth() == AuthConfig.ClientAuth.BASIC) {
            // section 2.3.1: each part form-encoded before Basic encoding
            String pair = encode(grant.clientId()) + ":" + encode(grant.clientSecret());
            request.header(
                    HeaderNames.AUTHORIZATION,
                    "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
        } else {
            form.append("&client_id=").append(encode(grant.clientId()));
            form.append("&client_secret=").append(encode(grant.clientSecret()));
        }
        try (HttpClientResponse response = request.submit(form.toString())) {
            Status status = response.status();
            byte[] body = read(response.inputStream());
            JsonNode json = parse(body);
            if (status.family() != Status.Family.SUCCESSFUL) {
                String code = json == null ? null : json.path("error").asText(null);
                return refused("HTTP " + status.code()
                        + (code != null && ERROR_CODE.matcher(code).matches() ? " " + code : ""));
            }
            if (json == null || !json.path("access_token").isTextual()) {
                return refused("answer has no access_token");
            }
            String token = json.get("access_token").asText();
            if (!TOKEN.matcher(token).matches()) {
                return refused("access_token is not a printable token");
            }
            String type = json.path("token_type").asText("bearer");
            if (!type.toLowerCase(Locale.ROOT).equals("bearer")) {
                return refused("token_type is not bearer");
            }
            JsonNode expires = json.get("expires_in");
            Duration lifetime = null;
            if (expires != null && (expires.isNumber() || expires.isTextual())) {
                try {
                    long seconds = Long.parseLong(expires.asText().trim());
                    lifetime = seconds > 0 ? Duration.ofSeconds(seconds) : null;
                } catch (NumberFormatException e) {
                    lifetime = null; // no usable lifetime: the token is kept until an upstream refuses it
                }
            }
            return new Answer.Token(token, lifetime);
        } catch (RuntimeException | IOException e) {
            return refused(describe(e, grant));
        }
    }

    private static Answer refused(String reason) {
        return new Answer.Refused("token endpoint: " + reason);
    }

    private static JsonNode parse(byte[] body) {
        if (body == null || body.length == 0) {
            return null;
        }
        try {
            JsonNode n = Json.MAPPER.readTree(body);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] read(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int n; (n = in.read(buf)) >= 0; ) {
            if (out.size() + n > MAX_ANSWER) {
                return null;
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static String describe(Throwable e, AuthConfig.OAuth2 grant) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return "connection refused";
            }
            if (t instanceof SocketTimeoutException) {
                return "timed out";
            }
            if (t instanceof java.net.UnknownHostException
                    || (t.getMessage() != null && t.getMessage().startsWith("Failed to get address for host"))) {
                return "unknown host " + grant.tokenUrl().getHost();
            }
        }
        return "request failed (" + e.getClass().getSimpleName().replace("Exception", "") + ")";
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
