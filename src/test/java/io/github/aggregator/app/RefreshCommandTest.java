package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.MainProcess;
import io.github.aggregator.testing.RedisServer;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import io.github.aggregator.testing.Upstream.Reply;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code java -jar aggregator.jar refresh}: a real JVM, real upstreams, and a real redis-server when clustered. */
class RefreshCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, List<JsonNode> lines, String stderr) {}

    private Run refresh(String yaml, Map<String, String> env, String... args) throws Exception {
        Path config = dir.resolve("refresh.yaml");
        Files.writeString(config, yaml);
        ConfigSchema.check(config, env);
        List<String> cmd = new ArrayList<>(List.of("refresh"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--config", config.toString()));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        ProcessBuilder pb = MainProcess.builder(cmd.toArray(String[]::new))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("refresh did not exit within 60s");
        }
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            lines.add(Json.MAPPER.readTree(line));
        }
        String stderr = Files.readString(err);
        assertFalse(stderr.contains("\tat ") || stderr.contains("Exception"), stderr);
        return new Run(p.exitValue(), lines, stderr);
    }

    private static String sources(Upstream good, Upstream bad) {
        return """
                aggregator:
                  sources:
                    - id: good
                      url: %s/good?key=s3cret-query
                      interval: 1h
                    - id: bad
                      url: %s/bad
                      interval: 1h
                    - id: both
                      combine: [good, bad]
                """.formatted(good.url(), bad.url());
    }

    @Test
    void aloneItPrintsEachResultAndFailsWhenOneFetchFails() throws Exception {
        try (Upstream good = new Upstream().json("{\"price\":42}");
                Upstream bad = new Upstream().reply(Reply.status(500, "text/plain", "boom"))) {
            Run all = refresh(sources(good, bad), Map.of());
            assertEquals(1, all.exit(), all.stderr());
            assertEquals(2, all.lines().size(), all.lines().toString());
            JsonNode g = all.lines().get(0);
            assertEquals("good", g.get("id").asText());
            assertEquals("changed", g.get("result").asText());
            assertEquals(42, g.get("data").get("price").asInt());
            JsonNode b = all.lines().get(1);
            assertEquals("failed", b.get("result").asText());
            assertTrue(b.get("error").asText().contains("500"), b.toString());
            assertTrue(all.stderr().contains("2 source(s): 1 changed, 1 failed"), all.stderr());
            assertFalse(
                    all.stderr().contains("s3cret") || all.lines().toString().contains("s3cret"));
            assertEquals(1, good.hits());
            assertEquals(1, bad.hits());

            Run one = refresh(sources(good, bad), Map.of(), "--source", "good");
            assertEquals(0, one.exit(), one.stderr());
            assertEquals(1, one.lines().size());
            assertEquals(2, good.hits());
            assertEquals(1, bad.hits(), "only the named source is fetched");

            Run unknown = refresh(sources(good, bad), Map.of(), "--source", "nope");
            assertEquals(2, unknown.exit());
            assertTrue(unknown.stderr().contains("no enabled source with id \"nope\""), unknown.stderr());
            Run combined = refresh(sources(good, bad), Map.of(), "--source", "both");
            assertEquals(2, combined.exit());
            assertTrue(combined.stderr().contains("refresh its parts: good, bad"), combined.stderr());
        }
    }

    @Test
    void anInstanceIsRefreshedByItsParametersAndARefusedValueFetchesNothing() throws Exception {
        try (Upstream up = new Upstream().json("{\"price\":7}")) {
            String yaml = """
                    aggregator:
                      sources:
                        - id: quote
                          url: %s/quote?symbol={symbol}
                          interval: 1h
                          params:
                            symbol:
                              values: [ACME, INIT]
                    """.formatted(up.url());
            Run one = refresh(yaml, Map.of(), "--source", "quote", "--param", "symbol=INIT");
            assertEquals(0, one.exit(), one.stderr());
            assertEquals(1, one.lines().size(), one.lines().toString());
            assertEquals("quote(symbol=INIT)", one.lines().get(0).get("id").asText());
            assertEquals("changed", one.lines().get(0).get("result").asText());
            assertEquals(7, one.lines().get(0).get("data").get("price").asInt());
            assertEquals("symbol=INIT", up.requests().get(0).uri().getRawQuery());

            Run refused = refresh(yaml, Map.of(), "--source", "quote", "--param", "symbol=EVIL");
            assertEquals(2, refused.exit());
            assertTrue(
                    refused.stderr().contains("source \"quote\": parameter \"symbol\" must be one of ACME, INIT"),
                    refused.stderr());
            assertEquals(1, up.hits(), "a refused value fetches nothing");
        }
    }

    @Test
    void clusteredItWritesToRedisPublishesAndLeavesHeldSourcesAlone() throws Exception {
        try (RedisServer redis = RedisServer.start();
                Upstream good = new Upstream().json("{\"price\":42}");
                Upstream bad = new Upstream().json("{\"ok\":true}");
                Socket sub = new Socket()) {
            Map<String, String> env = Map.of("REDIS_URL", redis.url());
            sub.connect(new InetSocketAddress("127.0.0.1", redis.port()), 2000);
            sub.setSoTimeout(20_000);
            sub.getOutputStream().write("SUBSCRIBE aggregator:snapshots\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = sub.getInputStream();
            readUntil(in, "snapshots"); // the subscribe confirmation

            Run first = refresh(sources(good, bad), env, "--source", "good");
            assertEquals(0, first.exit(), first.stderr());
            assertEquals("changed", first.lines().get(0).get("result").asText());
            assertFalse(first.lines().get(0).has("data"), "clustered: the data goes to Redis, not stdout");
            assertTrue(first.stderr().contains("cluster ok"), first.stderr());
            assertEquals("1", redis.command("HGET", "aggregator:snap:good", "v"));
            readUntil(in, "\"price\":42"); // published for every instance

            good.json("{\"price\":43}");
            Run second = refresh(sources(good, bad), env, "--source", "good");
            assertEquals(0, second.exit(), second.stderr());
            assertEquals(2, second.lines().get(0).get("version").asInt(), "continues from the shared version");
            readUntil(in, "\"price\":43");

            // a running instance serves what the command wrote, then polls the sources itself and holds them
            try (Service svc = Service.start(sources(good, bad), env)) {
                JsonNode env2 =
                        Json.MAPPER.readTree(svc.get("/api/sources/good").body());
                assertEquals(2, env2.get("version").asInt());
                assertEquals(43, env2.get("data").get("price").asInt());
                Await.isTrue(
                        () -> !redis.command("GET", "aggregator:lease:bad").startsWith("$-1")
                                && !redis.command("GET", "aggregator:lease:good")
                                        .startsWith("$-1")
                                && good.hits() == 3
                                && bad.hits() == 1,
                        Duration.ofSeconds(10),
                        "the service holds its leases and made its first fetches");
                int hits = good.hits();
                Run third = refresh(sources(good, bad), env);
                assertEquals(0, third.exit(), third.stderr());
                for (JsonNode line : third.lines()) {
                    assertEquals("skipped", line.get("result").asText(), line.toString());
                }
                assertEquals(hits, good.hits(), "the command left the held source to the service");
                assertEquals(1, bad.hits());
            }
        }
    }

    private static void readUntil(InputStream in, String needle) throws IOException {
        StringBuilder seen = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            seen.append((char) c);
            if (seen.indexOf(needle) >= 0) {
                return;
            }
        }
        fail("Redis channel ended before " + needle + ": " + seen);
    }
}
