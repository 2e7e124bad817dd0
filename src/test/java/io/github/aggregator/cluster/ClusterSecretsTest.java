package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.RedisServer;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A Redis that requires a password: it works, and the password shows up in no log line and no response. */
class ClusterSecretsTest {
    private static final String PASSWORD = "pw-7f3a9c-never-shown";
    private static final Duration WAIT = Duration.ofSeconds(15);

    private LogCapture logs;

    @BeforeEach
    void capture() {
        logs = LogCapture.start();
    }

    @AfterEach
    void release() {
        logs.close();
    }

    private static String yaml(Upstream upstream) {
        return """
                aggregator:
                  sources:
                    - id: price
                      url: %s/price
                      interval: 500ms
                """.formatted(upstream.url());
    }

    @Test
    void thePasswordIsUsedButNeverShown() throws Exception {
        try (RedisServer redis = RedisServer.start(PASSWORD);
                Upstream upstream = new Upstream().json("{\"v\":1}");
                Service svc = Service.start(yaml(upstream), Map.of("REDIS_URL", redis.url()))) {
            Await.isTrue(() -> status(svc).get("cluster").asText().equals("ok"), WAIT, "joined");
            Await.isTrue(() -> svc.get("/api/sources/price").statusCode() == 200, WAIT, "data");
            Await.isTrue(
                    () -> !redis.command("HGET", "aggregator:snap:price", "v").isEmpty(), WAIT, "shared");
            redis.stop();
            Await.isTrue(() -> status(svc).get("cluster").asText().equals("degraded"), WAIT, "degraded");
            assertEquals(200, svc.get("/api/sources/price").statusCode(), "still serving");
            for (String path : List.of("/api/sources", "/api/sources/price", "/nope")) {
                assertFalse(svc.get(path).body().contains(PASSWORD), path);
            }
        }
        assertTrue(logs.records().stream().anyMatch(l -> l.contains("unreachable")), logs.records()::toString);
        logs.assertNoneContain(List.of(PASSWORD));
    }

    @Test
    void aWrongPasswordDegradesWithAClearLineAndNoPassword() throws Exception {
        try (RedisServer redis = RedisServer.start(PASSWORD);
                Upstream upstream = new Upstream().json("{\"v\":1}");
                Service svc = Service.start(
                        yaml(upstream),
                        Map.of("REDIS_URL", "redis://:wrong-" + PASSWORD + "@127.0.0.1:" + redis.port()))) {
            Await.isTrue(() -> status(svc).get("cluster").asText().equals("degraded"), WAIT, "degraded");
            Await.isTrue(() -> svc.get("/api/sources/price").statusCode() == 200, WAIT, "polls alone");
        }
        List<String> warnings =
                logs.records().stream().filter(l -> l.contains("unreachable")).toList();
        assertEquals(1, warnings.size(), "one warning: " + warnings);
        logs.assertNoneContain(List.of(PASSWORD));
    }

    private static JsonNode status(Service s) throws Exception {
        return Json.MAPPER.readTree(s.get("/api/sources").body());
    }
}
