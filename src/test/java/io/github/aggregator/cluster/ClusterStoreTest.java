package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.RedisServer;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The cluster mode's choice about the local durable store: it is not used. Redis holds the shared snapshots and
 * history; a local copy could only hold versions the cluster has moved past, so a clustered instance writes nothing to
 * its data directory and says "off" in its health.
 */
class ClusterStoreTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @Test
    void aClusteredInstanceKeepsNoLocalStore() throws Exception {
        Path data = Files.createTempDirectory("aggregator-cluster-data").resolve("data");
        try (RedisServer redis = RedisServer.start();
                Upstream upstream = new Upstream().json("{\"v\":1}");
                Service svc = Service.start(
                        """
                        aggregator:
                          sources:
                            - id: price
                              url: %s/price
                              interval: 200ms
                        """.formatted(upstream.url()),
                        Map.of("REDIS_URL", redis.url(), "AGGREGATOR_DATA_DIR", data.toString()))) {
            Await.isTrue(() -> svc.get("/api/sources/price").statusCode() == 200, WAIT, "data");
            upstream.json("{\"v\":2}");
            Await.isTrue(
                    () -> Json.MAPPER
                                    .readTree(svc.get("/api/sources/price").body())
                                    .get("version")
                                    .asLong()
                            == 2,
                    WAIT,
                    "version 2");
            JsonNode store = null;
            for (JsonNode c :
                    Json.MAPPER.readTree(svc.get("/observe/health").body()).get("checks")) {
                if (c.get("name").asText().equals("store")) {
                    store = c;
                }
            }
            assertEquals("off", store.get("details").get("state").asText(), String.valueOf(store));
            assertFalse(Files.exists(data), "nothing written to the data directory");
            assertFalse(
                    svc.get("/observe/metrics").body().contains("aggregator_store_up"),
                    "no store metrics when there is no store");
        }
    }
}
