package io.github.aggregator.config;

import static io.github.aggregator.config.ConfigFileTest.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.testing.ConfigSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code cluster} section and REDIS_URL: parsed parts, defaults, refusals that never show the password. */
class ClusterConfigTest {
    private static final String SOURCES = "aggregator:\n  sources: []\n";

    @TempDir
    Path dir;

    @Test
    void offUnlessAUrlIsGiven() throws IOException {
        assertNull(load(SOURCES, Map.of()).cluster());
        assertNull(load("cluster:\n  redis:\n    url: ${REDIS_URL:-}\n" + SOURCES, Map.of())
                .cluster());
        assertNull(load("cluster:\n" + SOURCES, Map.of()).cluster());
    }

    @Test
    void urlPartsAndDefaults() throws IOException {
        ClusterConfig c = load(
                        "cluster:\n  redis:\n    url: redis://app:s%40cret@cache.internal:6380/3\n" + SOURCES, Map.of())
                .cluster();
        assertEquals("cache.internal", c.host());
        assertEquals(6380, c.port());
        assertEquals(3, c.database());
        assertEquals("app", c.user());
        assertEquals("s@cret", c.password());
        assertFalse(c.tls());
        assertEquals("aggregator:", c.keyPrefix());
        assertEquals(Duration.ofHours(24), c.ttl());
        assertEquals(Duration.ofSeconds(2), c.timeout());
        assertEquals(List.of(), c.nodes());
        assertEquals("redis://cache.internal:6380/3", c.where());
        assertFalse(c.toString().contains("cret"), c.toString());
    }

    @Test
    void passwordOnlyTlsAndDefaultPort() throws IOException {
        ClusterConfig c = load(SOURCES, Map.of("REDIS_URL", "rediss://:pw-123@redis.example"))
                .cluster();
        assertTrue(c.tls());
        assertEquals(6379, c.port());
        assertEquals(0, c.database());
        assertNull(c.user());
        assertEquals("pw-123", c.password());
        // a bare userinfo is a password, as redis-cli reads it
        assertEquals(
                "pw-456",
                load(SOURCES, Map.of("REDIS_URL", "redis://pw-456@h")).cluster().password());
    }

    @Test
    void envWinsOverTheFileAndOtherFieldsStay() throws IOException {
        ClusterConfig c = load("""
                        cluster:
                          redis:
                            url: redis://file-host:6379
                            keyPrefix: "shop:"
                            ttl: 10m
                            timeout: 500ms
                        """ + SOURCES, Map.of("REDIS_URL", "redis://env-host:7000"))
                .cluster();
        assertEquals("env-host", c.host());
        assertEquals("shop:", c.keyPrefix());
        assertEquals(Duration.ofMinutes(10), c.ttl());
        assertEquals(Duration.ofMillis(500), c.timeout());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "http://user:hunter2-secret@host:6379 | must start with redis:// or rediss://",
                "redis://user:hunter2-secret@:6379 | has no host",
                "redis://user:hunter2-secret@host:6379/abc | the path must be a database number",
                "redis://user:hunter2-secret@host:6379/0?x=hunter2-secret | query strings",
                "redis://user:hunter2-secret@ho st | not a valid URL",
            })
    void badUrlsAreRefusedInOneLineWithoutThePassword(String url, String reason) throws IOException {
        String fromFile = refused(write("cluster:\n  redis:\n    url: \"" + url + "\"\n" + SOURCES), Map.of());
        assertTrue(fromFile.contains(":3: field \"cluster.redis.url\": "), fromFile);
        assertTrue(fromFile.contains(reason), fromFile);
        assertFalse(fromFile.contains("hunter2"), fromFile);
        String fromEnv = refused(write(SOURCES), Map.of("REDIS_URL", url));
        assertTrue(fromEnv.contains("env REDIS_URL"), fromEnv);
        assertFalse(fromEnv.contains("hunter2"), fromEnv);
    }

    @Test
    void badFieldsAreRefused() throws IOException {
        String m = refused(write("cluster:\n  redis:\n    url: redis://h\n    ttl: 0s\n" + SOURCES), Map.of());
        assertTrue(m.contains("\"cluster.redis.ttl\": must be at least 1s"), m);
        m = refused(write("cluster:\n  redis:\n    url: redis://h\n    port: 1\n" + SOURCES), Map.of());
        assertTrue(m.contains("unknown field in cluster.redis"), m);
        m = refused(write("cluster:\n  redis:\n    keyPrefix: x\n" + SOURCES), Map.of());
        assertTrue(m.contains("\"cluster.redis.url\": is required"), m);
        m = refused(write("cluster:\n  nodes: 3\n" + SOURCES), Map.of());
        assertTrue(m.contains("unknown field in cluster"), m);
    }

    @Test
    void seedNodesAsAListOrOneCommaSeparatedValue() throws IOException {
        ClusterConfig c = load(
                        "cluster:\n  redis:\n    url: redis://n1:7000\n    nodes:\n      - n2:7001\n      - \"10.0.0.3:7002\"\n"
                                + SOURCES,
                        Map.of())
                .cluster();
        assertEquals(List.of("n2:7001", "10.0.0.3:7002"), c.nodes());
        c = load(
                        "cluster:\n  redis:\n    url: redis://n1:7000\n    nodes: ${REDIS_NODES:-}\n" + SOURCES,
                        Map.of("REDIS_NODES", "n2:7001, n3:7002"))
                .cluster();
        assertEquals(List.of("n2:7001", "n3:7002"), c.nodes());
        assertEquals(
                List.of(),
                load("cluster:\n  redis:\n    url: redis://n1\n    nodes: ${REDIS_NODES:-}\n" + SOURCES, Map.of())
                        .cluster()
                        .nodes());
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {"n2 | is not host:port", "n2:0 | is not host:port", "n2:70000 | is not host:port", "a b:1 | is not"
            })
    void badSeedNodesAreRefused(String node, String reason) throws IOException {
        String m = refused(
                write("cluster:\n  redis:\n    url: redis://n1\n    nodes: [\"" + node + "\"]\n" + SOURCES), Map.of());
        assertTrue(m.contains("\"cluster.redis.nodes\": "), m);
        assertTrue(m.contains(reason), m);
        m = refused(write("cluster:\n  redis:\n    url: redis://n1\n    nodes: [[n2]]\n" + SOURCES), Map.of());
        assertTrue(m.contains("\"cluster.redis.nodes\": must list host:port values"), m);
    }

    @Test
    void aKeyPrefixWithBracesIsRefusedSinceHashTagsAreOurs() throws IOException {
        String m = refused(
                write("cluster:\n  redis:\n    url: redis://n1\n    keyPrefix: \"{app}:\"\n" + SOURCES), Map.of());
        assertTrue(m.contains("\"cluster.redis.keyPrefix\": "), m);
        assertTrue(m.contains("without spaces or braces"), m);
    }

    private Path write(String yaml) throws IOException {
        Path file = dir.resolve("cluster-under-test.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private ConfigFile load(String yaml, Map<String, String> env) throws IOException {
        return ConfigSchema.load(write(yaml), env);
    }
}
