package io.github.aggregator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.testing.LogCapture;
import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.RedisCluster;
import io.github.aggregator.testing.RedisServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/** Which kind of Redis the URL (or a seed) leads to, against real servers. */
class ConnectorTest {

    private static Connector connector(String url, List<String> nodes) {
        return new Connector(
                new ClusterConfig(
                        ClusterConfig.parseUrl(url), "c:", Duration.ofMinutes(1), Duration.ofSeconds(2), nodes),
                "test");
    }

    @Test
    void aStandaloneServerWhoseAclDeniesInfoIsStillUsedAsBefore() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            assertEquals("+OK", redis.command("ACL", "SETUSER", "app", "on", ">pw-1", "~*", "&*", "+@all", "-info"));
            try (Connector c = connector("redis://app:pw-1@127.0.0.1:" + redis.port(), List.of())) {
                assertFalse(c.link().cluster());
                assertEquals("OK", c.link().client().set("c:k", "v"));
                assertEquals("c:snap:x", c.link().keys().snapshot("x"), "plain key names on a standalone Redis");
            }
        }
    }

    @Test
    void aWrongPasswordIsAFailureNotAMode() throws Exception {
        try (RedisServer redis = RedisServer.start("right-pw");
                Connector c = connector("redis://:wrong-pw@127.0.0.1:" + redis.port(), List.of())) {
            RuntimeException e = assertThrows(RuntimeException.class, c::link);
            assertFalse(c.safe(e).contains("wrong-pw"), c.safe(e));
        }
    }

    @Test
    void seedNodesBesideAStandaloneUrlAreIgnoredWithOneWarning() throws Exception {
        try (RedisServer redis = RedisServer.start();
                LogCapture logs = LogCapture.start();
                Connector c = connector(redis.url(), List.of("127.0.0.1:" + Ports.free()))) {
            assertFalse(c.link().cluster());
            assertEquals(
                    1,
                    logs.records().stream()
                            .filter(l -> l.contains("cluster.redis.nodes is ignored"))
                            .count(),
                    String.join("\n", logs.records()));
        }
    }

    @Test
    void aClusterIsDetectedAlsoWhereTheAclDeniesInfo() throws Exception {
        try (RedisCluster redis = RedisCluster.start()) {
            for (int port : redis.ports()) {
                try (Jedis j = new Jedis("127.0.0.1", port)) {
                    j.aclSetUser("app", "on", ">pw-2", "~*", "&*", "+@all", "-info");
                }
            }
            try (Connector c =
                    connector("redis://app:pw-2@127.0.0.1:" + redis.ports().get(4), List.of())) {
                assertTrue(c.link().cluster());
                assertEquals("c:snap:{x}", c.link().keys().snapshot("x"), "hash-tagged key names in a cluster");
                for (String id : List.of("a", "b", "c", "d", "e", "f")) {
                    assertEquals("OK", c.link().client().set(c.link().keys().lease(id), id), "written to its slot");
                }
            }
        }
    }
}
