package io.github.aggregator.http;

import static io.github.aggregator.http.PollingTest.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The static files behind the dashboard and the widget, over plain HTTP (the browser tests drive them). */
class PagesTest {
    private static Upstream upstream;
    private static Service svc;

    @BeforeAll
    static void start() {
        upstream = new Upstream().json("{\"v\":1}");
        svc = Service.start("""
                aggregator:
                  sources:
                    - id: one
                      url: %s/
                      interval: 1s
                """.formatted(upstream.url()));
    }

    @AfterAll
    static void stop() {
        svc.close();
        upstream.close();
    }

    @ParameterizedTest
    @CsvSource({
        "/, text/html; charset=UTF-8, <div id=\"cards\"",
        "/index.html, text/html; charset=UTF-8, <div id=\"cards\"",
        "/app.css, text/css; charset=UTF-8, .card",
        "/app.js, text/javascript; charset=UTF-8, new EventSource(",
        "/widget.js, text/javascript; charset=UTF-8, data-source",
    })
    void servesEachFileWithItsTypeAndAValidator(String path, String type, String content) {
        HttpResponse<String> r = svc.get(path);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(type, header(r, "Content-Type"));
        assertTrue(r.body().contains(content), r.body());
        assertEquals("no-cache", header(r, "Cache-Control"));
        assertEquals("nosniff", header(r, "X-Content-Type-Options"));
        String etag = header(r, "ETag");
        assertTrue(etag.matches("\"[0-9a-f]{16}\""), etag);

        HttpResponse<String> again = svc.get(path, "If-None-Match", "\"other\", W/" + etag);
        assertEquals(304, again.statusCode());
        assertEquals("", again.body());
        assertEquals(etag, header(again, "ETag"));
        assertEquals(200, svc.get(path, "If-None-Match", "\"other\"").statusCode());
    }

    @Test
    void thePageMayLoadOnlyItsOwnFiles() {
        HttpResponse<String> r = svc.get("/");
        String csp = header(r, "Content-Security-Policy");
        assertTrue(csp.startsWith("default-src 'self'"), csp);
        assertTrue(svc.get("/widget.js")
                .headers()
                .firstValue("Content-Security-Policy")
                .isEmpty());
    }

    @Test
    void rootGivesTheJsonIndexToClientsThatAskForJson() throws IOException {
        HttpResponse<String> json = svc.get("/", "Accept", "application/json");
        assertEquals(200, json.statusCode());
        assertEquals("application/json", header(json, "Content-Type"));
        assertEquals(
                "/api/sources", Json.MAPPER.readTree(json.body()).get("sources").asText());
        assertTrue(header(json, "Vary").contains("Accept"));

        String browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        HttpResponse<String> page = svc.get("/", "Accept", browser);
        assertTrue(header(page, "Content-Type").startsWith("text/html"));
        assertTrue(header(page, "Vary").contains("Accept"));
        assertTrue(
                header(svc.get("/", "Accept", "*/*"), "Content-Type").startsWith("text/html"),
                "curl's default gets the page");
    }

    @Test
    void gzipWhenTheClientAcceptsIt() throws Exception {
        HttpResponse<byte[]> r = svc.client()
                .send(
                        HttpRequest.newBuilder(svc.uri("/widget.js"))
                                .header("Accept-Encoding", "gzip")
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        assertEquals("gzip", r.headers().firstValue("Content-Encoding").orElse(""));
        assertTrue(r.headers().firstValue("Vary").orElse("").contains("Accept-Encoding"));
        String unzipped;
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(r.body()))) {
            unzipped = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertEquals(svc.get("/widget.js").body(), unzipped);
        String etag = r.headers().firstValue("ETag").orElseThrow();
        assertNotEquals(header(svc.get("/widget.js"), "ETag"), etag, "each coding has its own strong ETag");
        HttpResponse<String> again = svc.get("/widget.js", "Accept-Encoding", "gzip", "If-None-Match", etag);
        assertEquals(304, again.statusCode());
    }

    @Test
    void headAnswersLikeGetWithoutTheBody() throws Exception {
        HttpResponse<String> r = svc.client()
                .send(
                        HttpRequest.newBuilder(svc.uri("/app.js"))
                                .method("HEAD", HttpRequest.BodyPublishers.noBody())
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertEquals("text/javascript; charset=UTF-8", header(r, "Content-Type"));
        HttpResponse<String> get = svc.get("/app.js");
        assertEquals(header(get, "ETag"), header(r, "ETag"));
        assertEquals(Integer.toString(get.body().getBytes(StandardCharsets.UTF_8).length), header(r, "Content-Length"));
        assertEquals("", r.body());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/nope.js",
                "/web/index.html",
                "/index.htm",
                "/app.js/",
                "/app.js/x",
                "/%2e%2e/pom.xml",
                "/..%2fpom.xml",
                "/web%2fapp.js",
                "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "/logging.properties",
                "/io/github/aggregator/http/PagesService.class",
                "/META-INF/MANIFEST.MF",
            })
    void anythingElseIsAProblemJson404(String path) {
        HttpResponse<String> r = svc.get(path);
        assertTrue(r.statusCode() == 404 || r.statusCode() == 400, path + " → " + r.statusCode() + " " + r.body());
        assertEquals("application/problem+json", header(r, "Content-Type"), path);
        assertFalse(r.body().contains("<"), r.body());
    }
}
