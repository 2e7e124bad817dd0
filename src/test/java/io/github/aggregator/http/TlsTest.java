package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.Upstream;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With a keystore under server.tls, the same port serves HTTPS (HTTP/1.1 and, through ALPN, HTTP/2). */
class TlsTest {
    @TempDir
    Path dir;

    @Test
    void http2OverTlsServesPollingAndStreams() throws Exception {
        Path keystore = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "keytool")
                                .toString(),
                        "-genkeypair",
                        "-alias",
                        "server",
                        "-keyalg",
                        "RSA",
                        "-keysize",
                        "2048",
                        "-dname",
                        "CN=localhost",
                        "-ext",
                        "SAN=dns:localhost,ip:127.0.0.1",
                        "-validity",
                        "2",
                        "-keystore",
                        keystore.toString(),
                        "-storetype",
                        "PKCS12",
                        "-storepass",
                        "test-pass",
                        "-keypass",
                        "test-pass")
                .redirectErrorStream(true)
                .start();
        keytool.getInputStream().readAllBytes();
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, keytool.exitValue());

        try (Upstream up = new Upstream().json("{\"n\":1}");
                Service svc = Service.start("""
                        server:
                          port: 0
                          host: 127.0.0.1
                          tls:
                            private-key:
                              keystore:
                                passphrase: test-pass
                                key:
                                  alias: server
                                resource:
                                  path: %s
                        aggregator:
                          sources:
                            - id: up
                              url: %s/data
                              interval: 200ms
                            - id: self
                              url: /demo/clock
                              interval: 1s
                        """.formatted(keystore, up.url()))) {
            HttpClient client = HttpClient.newBuilder()
                    .sslContext(trusting(keystore))
                    .version(HttpClient.Version.HTTP_2)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
            String base = "https://localhost:" + svc.port();
            HttpResponse<String> poll = client.send(
                    HttpRequest.newBuilder(java.net.URI.create(base + "/api/sources/up"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, poll.statusCode(), poll.body());
            assertEquals(HttpClient.Version.HTTP_2, poll.version(), "ALPN chose h2");
            assertTrue(poll.body().contains("\"n\":1"));

            // the demo source is fetched from the service itself, over its own TLS port
            HttpResponse<String> self = client.send(
                    HttpRequest.newBuilder(java.net.URI.create(base + "/api/sources/self"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, self.statusCode(), self.body());

            try (SseClient sse = SseClient.open(client, java.net.URI.create(base + "/api/sources/up/events"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(Duration.ofSeconds(5)).retry());
                assertEquals("snapshot", sse.nextEvent(Duration.ofSeconds(5)).event());
                up.json("{\"n\":2}");
                SseClient.Frame update = sse.nextEvent(Duration.ofSeconds(5));
                assertNotNull(update, "an update over HTTP/2 + TLS");
                assertTrue(update.data().contains("\"n\":2"), update.data());
            }
            client.close();

            // over HTTP/1.1 + TLS the fan-out workers write each change as a ready-made chunk to the connection, which
            // encrypts it like the response's own writes
            HttpClient http1 = HttpClient.newBuilder()
                    .sslContext(trusting(keystore))
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
            try (SseClient sse = SseClient.open(http1, java.net.URI.create(base + "/api/sources/up/events"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(Duration.ofSeconds(5)).retry());
                assertEquals("snapshot", sse.nextEvent(Duration.ofSeconds(5)).event());
                for (int n = 3; n <= 5; n++) {
                    up.json("{\"n\":" + n + "}");
                    SseClient.Frame update = sse.nextEvent(Duration.ofSeconds(5));
                    assertNotNull(update, "an update over HTTP/1.1 + TLS");
                    assertEquals("update", update.event());
                    assertTrue(update.data().contains("\"n\":" + n), update.data());
                }
            }
            http1.close();
        }
    }

    private static SSLContext trusting(Path keystore) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, "test-pass".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
