package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.IntNode;
import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.RedisCluster;
import io.github.aggregator.testing.RedisServer;
import io.github.aggregator.testing.TestClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Leases and fencing against a real standalone redis-server and a real Redis Cluster. Expiry in Redis is played by
 * removing the lease key (what Redis does when its ttl runs out); this instance's own retry timing runs on a clock
 * the test advances.
 */
class LeasesTest {
    private static final List<String> IDS = List.of("alpha", "bravo", "charlie", "delta", "echo");

    private final TestClock clock = new TestClock();
    private final String prefix = "t" + UUID.randomUUID().toString().substring(0, 8) + ":";

    @Test
    void onAStandaloneRedis() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            claimRenewExpireAndFence(redis.url(), false);
        }
    }

    @Test
    void onARedisClusterWithSourcesInSeveralSlots() throws Exception {
        try (RedisCluster redis = RedisCluster.start()) {
            Keys keys = new Keys(prefix, true);
            Set<Integer> primaries =
                    IDS.stream().map(id -> redis.primaryOf(keys.lease(id))).collect(Collectors.toSet());
            assertTrue(primaries.size() > 1, "the sources' keys are spread over several primaries: " + primaries);
            claimRenewExpireAndFence(redis.url(), true);
        }
    }

    private void claimRenewExpireAndFence(String url, boolean cluster) throws Exception {
        Map<String, SourceConfig> sources = sources();
        ClusterConfig config = new ClusterConfig(
                ClusterConfig.parseUrl(url), prefix, Duration.ofMinutes(1), Duration.ofSeconds(2), List.of());
        try (Connector connector = new Connector(config, "test")) {
            Link link = connector.link();
            assertEquals(cluster, link.cluster(), "detected mode");
            Leases a = new Leases("a", clock);
            Leases b = new Leases("b", clock);
            for (SourceConfig s : sources.values()) {
                assertTrue(a.claim(link, s), "a claims " + s.id());
                assertFalse(b.claim(link, s), "b is refused " + s.id() + " while a holds it");
            }
            assertEquals(List.of(), a.renew(link, sources, id -> true), "a renews every lease, slot by slot");

            // alpha's lease runs out in Redis (a was paused): b's retry waits a quarter ttl on b's clock
            String alpha = link.keys().lease("alpha");
            link.client().del(alpha);
            assertFalse(b.claim(link, sources.get("alpha")), "a refused claim is not retried at once");
            clock.advance(Leases.ttl(sources.get("alpha")).dividedBy(4));
            assertTrue(b.claim(link, sources.get("alpha")), "b claims the expired lease once its retry is due");
            String bToken = b.token("alpha");
            assertEquals(bToken, link.client().get(alpha));

            // the paused holder finds out on its next renewal, and cannot write over its successor
            String stale = a.token("alpha");
            assertEquals(List.of("alpha"), a.renew(link, sources, id -> true));
            assertNull(a.token("alpha"));
            SharedSnapshots shared = new SharedSnapshots("a", 8, Duration.ofMinutes(1));
            assertEquals(0, shared.write(link, snapshot("alpha", 7), stale), "a stale token is fenced off");
            assertEquals(1, shared.write(link, snapshot("alpha", 7), bToken));
            assertEquals(-1, shared.write(link, snapshot("alpha", 6), bToken), "a version never goes back");
            a.release(link, "alpha");
            assertEquals(bToken, link.client().get(alpha), "releasing a lost lease leaves the successor's");

            a.releaseAll(link);
            for (String id : IDS) {
                if (!id.equals("alpha")) {
                    assertNull(link.client().get(link.keys().lease(id)), "released " + id);
                }
            }
        }
    }

    private Map<String, SourceConfig> sources() throws Exception {
        StringBuilder yaml = new StringBuilder("aggregator:\n  sources:\n");
        for (String id : IDS) {
            yaml.append("    - id: ")
                    .append(id)
                    .append("\n      url: http://127.0.0.1:9/")
                    .append(id);
            yaml.append("\n      interval: 4s\n");
        }
        Path file = Files.createTempDirectory("leases-test").resolve("application.yaml");
        Files.writeString(file, yaml);
        Map<String, SourceConfig> byId = new LinkedHashMap<>();
        ConfigSchema.load(file, Map.of()).aggregator().sources().forEach(s -> byId.put(s.id(), s));
        return byId;
    }

    private Snapshot snapshot(String id, long version) {
        Instant at = clock.instant();
        return new Snapshot(id, version, at, at, false, null, IntNode.valueOf((int) version), "h" + version);
    }
}
