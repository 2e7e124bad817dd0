package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ProcessConfig;
import io.github.aggregator.testing.ServiceProcess;
import io.github.aggregator.testing.Upstream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A poller across {@code kill -9} of a real service process: the restored snapshot takes a number above every one the
 * killed process may have handed out, so its entity tag changes; a poller holding the tag from before the crash
 * still gets {@code 304} (with the current tag) while the content is the same, and a {@code 200} once it changes.
 */
class PollAcrossKillTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String TOKEN = "poll-across-kill-token";

    private static long version(String etag) {
        return Long.parseLong(etag.substring(1, etag.indexOf('-')));
    }

    private static HttpResponse<String> refresh(ServiceProcess svc) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(svc.uri("/api/refresh/s"))
                .header("Authorization", "Bearer " + TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody())
                .timeout(WAIT)
                .build();
        return svc.client().send(r, HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode envelope(ServiceProcess svc) throws Exception {
        return Json.MAPPER.readTree(svc.get("/api/sources/s").body());
    }

    @Test
    void aPollerKeepsGetting304AcrossKill9UntilTheDataChanges() throws Exception {
        try (Upstream up = new Upstream().json("{\"n\":1}")) {
            Path file = ProcessConfig.write("aggregator-poll-kill", """
                    admin:
                      token: %s
                    aggregator:
                      sources:
                        - id: s
                          url: %s/s
                          interval: 1h
                    """.formatted(TOKEN, up.url()));
            try (ServiceProcess svc = new ServiceProcess(file, file.resolveSibling("data"))) {
                svc.start().awaitData("s");
                String before =
                        svc.get("/api/sources/s").headers().firstValue("ETag").orElseThrow();
                Await.isTrue(() -> RestartTest.pending(svc) == 0, WAIT, "the store has written the version");
                svc.kill();

                svc.start().awaitListening();
                HttpResponse<String> r = svc.get("/api/sources/s", "If-None-Match", before);
                assertEquals(304, r.statusCode(), r.body());
                assertEquals("", r.body());
                String restored = r.headers().firstValue("ETag").orElseThrow();
                assertTrue(
                        version(restored) > version(before),
                        "after kill -9 the restored content takes a higher number: " + before + " -> " + restored);
                assertTrue(envelope(svc).get("restored").asBoolean());
                // in a list, weak, or as the current tag: all the same content
                assertEquals(
                        304,
                        svc.get("/api/sources/s", "If-None-Match", "\"1-000000000000\", W/" + before)
                                .statusCode());
                assertEquals(
                        304,
                        svc.get("/api/sources/s", "If-None-Match", restored).statusCode());
                // the old number with other content, or a number above the current one, is not the content held
                String otherContent = "\"" + version(before) + "-000000000000\"";
                assertEquals(
                        200,
                        svc.get("/api/sources/s", "If-None-Match", otherContent).statusCode());
                String above = "\"" + (version(restored) + 1) + before.substring(before.indexOf('-'));
                assertEquals(
                        200, svc.get("/api/sources/s", "If-None-Match", above).statusCode());

                // a second kill -9 before anything changed: both tags from before still name what is held
                Await.isTrue(() -> RestartTest.pending(svc) == 0, WAIT, "the store has written the renumbering");
                svc.kill();
                svc.start().awaitListening();
                for (String tag : new String[] {before, restored}) {
                    r = svc.get("/api/sources/s", "If-None-Match", tag);
                    assertEquals(304, r.statusCode(), tag + ": " + r.body());
                    assertTrue(version(r.headers().firstValue("ETag").orElseThrow()) > version(restored));
                }

                // fetched again with the same content: the version stays, and so does the 304
                assertEquals(200, refresh(svc).statusCode());
                Await.isTrue(() -> !envelope(svc).path("restored").asBoolean(), WAIT, "the refresh fetched the source");
                assertEquals(
                        304, svc.get("/api/sources/s", "If-None-Match", before).statusCode());

                // the upstream changes: every tag from before gets the new data
                long now = envelope(svc).get("version").asLong();
                up.json("{\"n\":2}");
                assertEquals(200, refresh(svc).statusCode());
                svc.awaitVersion("s", now + 1);
                for (String tag : new String[] {before, restored}) {
                    r = svc.get("/api/sources/s", "If-None-Match", tag);
                    assertEquals(200, r.statusCode(), tag);
                    assertEquals(
                            2,
                            Json.MAPPER.readTree(r.body()).get("data").get("n").asInt(),
                            r.body());
                }
                assertFalse(svc.output().contains("\tat "), svc.output());
            }
        }
    }
}
