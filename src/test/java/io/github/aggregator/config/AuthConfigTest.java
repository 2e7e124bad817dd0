package io.github.aggregator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.testing.ConfigSchema;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a source's {@code auth}: each kind, its defaults, and one-line refusals that never echo a secret. */
class AuthConfigTest {
    private static final String HEAD =
            "aggregator:\n  sources:\n    - id: orders\n      url: https://api.example.com/v2\n";

    @TempDir
    Path dir;

    private ConfigFile load(String yaml, Map<String, String> env) throws IOException {
        Path file = dir.resolve("application.yaml");
        Files.writeString(file, yaml);
        return ConfigSchema.load(file, env);
    }

    private String refused(String yaml) {
        Path file = dir.resolve("application.yaml");
        try {
            Files.writeString(file, yaml);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of("S", "hush-secret")))
                .getMessage();
    }

    @Test
    void eachKindIsRead() throws IOException {
        ConfigFile c = load(
                HEAD + "      auth:\n        oauth2:\n          tokenUrl: https://auth.example.com/oauth2/token\n"
                        + "          clientId: ${ID}\n          clientSecret: ${SECRET}\n          scope: orders.read\n",
                Map.of("ID", "id-1", "SECRET", "secret-1"));
        assertEquals(
                new AuthConfig.OAuth2(
                        URI.create("https://auth.example.com/oauth2/token"),
                        "id-1",
                        "secret-1",
                        "orders.read",
                        null,
                        AuthConfig.ClientAuth.BASIC),
                c.aggregator().sources().get(0).auth());
        assertEquals(
                "oauth2 via auth.example.com",
                c.aggregator().sources().get(0).auth().describe());
        c = load(HEAD + "      auth:\n        bearerFile: /var/run/secrets/orders/token\n", Map.of());
        assertEquals(
                new AuthConfig.BearerFile(Path.of("/var/run/secrets/orders/token")),
                c.aggregator().sources().get(0).auth());
        c = load(HEAD + "      auth:\n        basic: { user: u, password: \"${P}\" }\n", Map.of("P", "pw"));
        assertEquals(
                new AuthConfig.Basic("u", "pw"), c.aggregator().sources().get(0).auth());
        c = load(HEAD, Map.of());
        assertEquals(null, c.aggregator().sources().get(0).auth());
    }

    @Test
    void badAuthIsRefusedInOneLineWithoutTheSecret() {
        String both =
                refused(HEAD + "      auth:\n        bearerFile: /x\n        basic: { user: u, password: \"${S}\" }\n");
        assertEquals(
                "application.yaml:6: source \"orders\" field \"auth\": must have exactly one of basic, bearerFile,"
                        + " oauth2",
                both.substring(both.lastIndexOf('/') + 1));
        String header = refused(
                HEAD + "      headers:\n        authorization: \"${S}\"\n      auth:\n        bearerFile: /x\n");
        assertEquals(
                true, header.endsWith("field \"auth\": cannot be used together with an Authorization header"), header);
        String noSecret = refused(
                HEAD + "      auth:\n        oauth2:\n          tokenUrl: https://a/t\n          clientId: i\n");
        assertEquals(true, noSecret.endsWith("field \"auth.oauth2.clientSecret\": is required"), noSecret);
        String url =
                refused(HEAD + "      auth:\n        oauth2:\n          tokenUrl: ftp://a/t\n          clientId: i\n"
                        + "          clientSecret: \"${S}\"\n");
        assertEquals(true, url.endsWith("field \"auth.oauth2.tokenUrl\": must be an absolute http(s) URL"), url);
        String clientAuth = refused(HEAD + "      auth:\n        oauth2:\n          tokenUrl: https://a/t\n"
                + "          clientId: i\n          clientSecret: \"${S}\"\n          clientAuth: jwt\n");
        assertEquals(true, clientAuth.endsWith("\"jwt\" is not one of basic, post"), clientAuth);
        String colon = refused(HEAD + "      auth:\n        basic: { user: \"a:b\", password: \"${S}\" }\n");
        assertEquals(true, colon.contains("auth.basic.user"), colon);
        for (String m : new String[] {both, header, noSecret, url, clientAuth, colon}) {
            assertFalse(m.contains("hush-secret"), m);
            assertFalse(m.contains("\n"), m);
        }
    }
}
