package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three auth kinds in a running service: data arrives, a refused credential makes the source stale with a short
 * reason, the admin view names the kind and token host only, and no secret reaches a log line or any answer.
 */
class UpstreamAuthServiceTest {
    private static final String ADMIN = "admin-token-0123456789";
    private static final String CLIENT_ID = "orders-client-id-77";
    private static final String CLIENT_SECRET = "orders-client-secret-88";
    private static final String WRONG_SECRET = "wrong-client-secret-99";
    private static final String TOKEN = "issued-access-token-42";
    private static final String FILE_TOKEN = "file-bearer-token-55";
    private static final String PASSWORD = "basic-password-66";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void everyKindAuthenticatesAndNoSecretLeaks() throws Exception {
        Path tokenFile = dir.resolve("token");
        Files.writeString(tokenFile, FILE_TOKEN + "\n");
        String goodBasic = "Basic "
                + Base64.getEncoder()
                        .encodeToString((CLIENT_ID + ":" + CLIENT_SECRET).getBytes(StandardCharsets.UTF_8));
        AtomicInteger tokenRequests = new AtomicInteger();
        AtomicInteger refusedTokenRequests = new AtomicInteger();
        try (LogCapture logs = LogCapture.start();
                Upstream auth = new Upstream();
                Upstream api = new Upstream()) {
            auth.reply(Upstream.Reply.custom(ex -> {
                boolean ok = goodBasic.equals(ex.getRequestHeaders().getFirst("Authorization"));
                (ok ? tokenRequests : refusedTokenRequests).incrementAndGet();
                byte[] body = (ok
                                ? "{\"access_token\":\"" + TOKEN + "\",\"token_type\":\"bearer\",\"expires_in\":3600}"
                                : "{\"error\":\"invalid_client\",\"error_description\":\"secret mismatch\"}")
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(ok ? 200 : 401, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }));
            List<String> accepted = List.of(
                    "Bearer " + TOKEN,
                    "Bearer " + FILE_TOKEN,
                    "Basic "
                            + Base64.getEncoder()
                                    .encodeToString(("reader:" + PASSWORD).getBytes(StandardCharsets.UTF_8)));
            api.reply(Upstream.Reply.custom(ex -> {
                String a = ex.getRequestHeaders().getFirst("Authorization");
                boolean ok = accepted.contains(a);
                byte[] body = (ok ? "{\"kind\":" + accepted.indexOf(a) + "}" : "{}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(ok ? 200 : 401, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }));
            String yaml = "admin:\n  token: ${ADMIN}\naggregator:\n  sources:\n"
                    + source(
                            "orders",
                            api.url(),
                            "oauth2:\n          tokenUrl: " + auth.url()
                                    + "/oauth2/token\n          clientId: ${CLIENT_ID}\n          clientSecret: ${CLIENT_SECRET}\n"
                                    + "          scope: orders.read")
                    + source(
                            "orders-eu",
                            api.url(),
                            "oauth2:\n          tokenUrl: " + auth.url()
                                    + "/oauth2/token\n          clientId: ${CLIENT_ID}\n          clientSecret: ${CLIENT_SECRET}\n"
                                    + "          scope: orders.read")
                    + source(
                            "broken",
                            api.url(),
                            "oauth2:\n          tokenUrl: " + auth.url()
                                    + "/oauth2/token\n          clientId: ${CLIENT_ID}\n          clientSecret: ${WRONG_SECRET}")
                    + source("mounted", api.url(), "bearerFile: " + tokenFile)
                    + source("legacy", api.url(), "basic:\n          user: reader\n          password: ${PASSWORD}");
            Map<String, String> env = Map.of(
                    "ADMIN", ADMIN,
                    "CLIENT_ID", CLIENT_ID,
                    "CLIENT_SECRET", CLIENT_SECRET,
                    "WRONG_SECRET", WRONG_SECRET,
                    "PASSWORD", PASSWORD);
            List<String> answers = new ArrayList<>();
            try (Service svc = Service.start(yaml, env)) {
                assertEquals(0, data(svc, "orders", answers));
                assertEquals(0, data(svc, "orders-eu", answers));
                assertEquals(1, data(svc, "mounted", answers));
                assertEquals(2, data(svc, "legacy", answers));
                // never fetched: no data, and the stale reason in the status list
                String error = Await.until(() -> lastError(svc, "broken", answers), e -> !e.isEmpty(), WAIT);
                assertEquals("token endpoint: HTTP 401 invalid_client", error);
                // one token for the two sources with the same endpoint and credentials, however often they poll
                assertEquals(1, tokenRequests.get());
                assertTrue(refusedTokenRequests.get() >= 1);

                HttpResponse<String> admin = svc.get("/api/sources", "Authorization", "Bearer " + ADMIN);
                answers.add(admin.body());
                Map<String, String> kinds = new java.util.TreeMap<>();
                for (JsonNode s : Json.MAPPER.readTree(admin.body()).get("sources")) {
                    kinds.put(s.get("id").asText(), s.path("auth").asText());
                }
                assertEquals(
                        Map.of(
                                "orders", "oauth2 via 127.0.0.1",
                                "orders-eu", "oauth2 via 127.0.0.1",
                                "broken", "oauth2 via 127.0.0.1",
                                "mounted", "bearerFile",
                                "legacy", "basic"),
                        kinds);
                HttpResponse<String> anonymous = svc.get("/api/sources");
                answers.add(anonymous.body());
                assertFalse(anonymous.body().contains("\"auth\""), "only the admin view names the auth kind");
                answers.add(svc.get("/observe/metrics").body());
                answers.add(svc.get("/observe/health").body());

                Files.delete(tokenFile);
                JsonNode mounted = Await.until(
                        () -> envelope(svc, "mounted", answers),
                        n -> n != null && n.path("stale").asBoolean(),
                        WAIT);
                assertEquals(
                        "auth.bearerFile " + tokenFile + " does not exist",
                        mounted.path("error").asText());
                assertEquals(1, mounted.path("data").path("kind").asInt(), "the last good data stays served");
            }
            List<String> secrets = List.of(CLIENT_SECRET, WRONG_SECRET, TOKEN, FILE_TOKEN, PASSWORD, CLIENT_ID, ADMIN);
            for (String answer : answers) {
                for (String secret : secrets) {
                    assertFalse(answer.contains(secret), "an answer contains a secret: " + answer);
                }
            }
            assertTrue(logs.records().stream().anyMatch(l -> l.contains("invalid_client")), "the refusal is logged");
            logs.assertNoneContain(secrets);
        }
    }

    private static String source(String id, String api, String auth) {
        return "    - id: " + id + "\n      url: " + api + "/v1/" + id + "?key=1\n      interval: 200ms\n"
                + "      auth:\n        " + auth + "\n";
    }

    private static String lastError(Service svc, String id, List<String> answers) {
        HttpResponse<String> r = svc.get("/api/sources");
        answers.add(r.body());
        try {
            for (JsonNode s : Json.MAPPER.readTree(r.body()).get("sources")) {
                if (s.get("id").asText().equals(id)) {
                    return s.path("lastError").asText("");
                }
            }
        } catch (java.io.IOException e) {
            return "";
        }
        return "";
    }

    private static int data(Service svc, String id, List<String> answers) throws InterruptedException {
        JsonNode n = Await.until(
                () -> envelope(svc, id, answers),
                e -> e != null && e.path("data").has("kind"),
                WAIT);
        return n.path("data").path("kind").asInt();
    }

    private static JsonNode envelope(Service svc, String id, List<String> answers) {
        HttpResponse<String> r = svc.get("/api/sources/" + id);
        answers.add(r.body());
        try {
            return r.statusCode() == 200 ? Json.MAPPER.readTree(r.body()) : null;
        } catch (java.io.IOException e) {
            return null;
        }
    }
}
