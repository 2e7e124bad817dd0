package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.MainProcess;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code check-config --fetch}: a real JVM running the command line against real upstreams on loopback. */
class ConfigPreviewTest {
    private static final String HEADER_SECRET = "s3cret-header-value";
    private static final String QUERY_SECRET = "s3cret-query-value";

    @TempDir
    Path dir;

    private record Run(int exit, Map<String, JsonNode> lines, String stdout, String stderr) {}

    private Run preview(String yaml, Map<String, String> env, String... args) throws Exception {
        Path config = dir.resolve("preview.yaml");
        Files.writeString(config, yaml);
        ConfigSchema.check(config, env);
        List<String> cmd = new ArrayList<>(List.of("check-config", "--config", config.toString(), "--fetch"));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        ProcessBuilder pb = MainProcess.builder(cmd.toArray(String[]::new))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("check-config --fetch did not exit within 60s");
        }
        Map<String, JsonNode> lines = new LinkedHashMap<>();
        for (String line : Files.readAllLines(out)) {
            JsonNode n = Json.MAPPER.readTree(line);
            lines.put(n.get("id").asText(), n);
        }
        String stderr = Files.readString(err);
        assertFalse(stderr.contains("\tat ") || stderr.contains("Exception"), stderr);
        return new Run(p.exitValue(), lines, Files.readString(out), stderr);
    }

    private static String config(Upstream quotes, Upstream down, Upstream unused) {
        return """
                aggregator:
                  sources:
                    - id: quote
                      url: %s/quote?key=%s
                      headers:
                        x-api-key: ${QUOTE_KEY}
                      select: /data
                      transform: '{price: .price, currency: "EUR"}'
                    - id: down
                      url: %s/down
                    - id: missing
                      url: %s/quote
                      select: /nothing/here
                    - id: board
                      combine: [quote, down]
                    - id: later
                      url: %s/later
                      enabled: false
                """.formatted(quotes.url(), QUERY_SECRET, down.url(), quotes.url(), unused.url());
    }

    @Test
    void printsTheEnvelopeEachSourceWouldServeOrItsErrorAndNoSecret() throws Exception {
        try (Upstream quotes = new Upstream().json("{\"data\": {\"price\": 12.5, \"volume\": 7}, \"ok\": true}");
                Upstream down = new Upstream().reply(Upstream.Reply.status(500, "text/plain", "boom"));
                Upstream unused = new Upstream()) {
            Run run = preview(config(quotes, down, unused), Map.of("QUOTE_KEY", HEADER_SECRET));

            assertEquals(1, run.exit(), "a source failed: " + run.stdout() + run.stderr());
            assertEquals(
                    List.of("quote", "down", "missing", "board"),
                    List.copyOf(run.lines().keySet()));

            JsonNode quote = run.lines().get("quote");
            assertEquals("ok", quote.get("result").asText());
            assertEquals(quotes.url() + "/quote", quote.get("url").asText(), "no query string");
            JsonNode envelope = quote.get("envelope");
            assertEquals("quote", envelope.get("id").asText());
            assertEquals(1, envelope.get("version").asLong());
            assertFalse(envelope.get("stale").asBoolean());
            assertEquals(Json.MAPPER.readTree("{\"price\": 12.5, \"currency\": \"EUR\"}"), envelope.get("data"));
            assertEquals(Json.hash(envelope.get("data")), quote.get("hash").asText());
            assertEquals(
                    Json.text(envelope).getBytes(StandardCharsets.UTF_8).length,
                    quote.get("size").asInt());

            JsonNode failed = run.lines().get("down");
            assertEquals("failed", failed.get("result").asText());
            assertEquals("HTTP 500 Internal Server Error", failed.get("error").asText());
            assertNull(failed.get("envelope"));
            assertEquals(
                    "select /nothing/here matched nothing in the response",
                    run.lines().get("missing").get("error").asText());

            JsonNode board = run.lines().get("board");
            assertEquals("stale", board.get("result").asText(), board.toString());
            assertEquals(
                    Json.MAPPER.readTree("{\"quote\": {\"price\": 12.5, \"currency\": \"EUR\"}, \"down\": null}"),
                    board.get("envelope").get("data"));
            assertTrue(board.get("envelope").get("error").asText().contains("down: HTTP 500"), board.toString());

            // each upstream once, with the source's headers and query; the disabled source not at all
            assertEquals(2, quotes.hits(), "quote and missing, each once (board reuses quote)");
            assertEquals(1, down.hits());
            assertEquals(0, unused.hits());
            Upstream.Request q = quotes.requests().stream()
                    .filter(r -> r.uri().getPath().equals("/quote") && r.uri().getQuery() != null)
                    .findFirst()
                    .orElseThrow();
            assertEquals(HEADER_SECRET, q.headers().getFirst("x-api-key"));
            assertEquals("key=" + QUERY_SECRET, q.uri().getQuery());

            String all = run.stdout() + run.stderr();
            assertFalse(all.contains(HEADER_SECRET) || all.contains(QUERY_SECRET), all);
            assertTrue(run.stderr().contains("previewed 4 source(s): 1 ok, 3 failed"), run.stderr());
        }
    }

    @Test
    void upstreamAuthAppliesToThePreviewAndOneTokenServesBothSources() throws Exception {
        String secret = "preview-client-secret";
        String token = "preview-access-token";
        try (Upstream auth = new Upstream()
                        .json("{\"access_token\":\"" + token + "\",\"token_type\":\"Bearer\",\"expires_in\":60}");
                Upstream api = new Upstream()) {
            api.reply(Upstream.Reply.custom(ex -> {
                boolean ok = ("Bearer " + token).equals(ex.getRequestHeaders().getFirst("Authorization"));
                byte[] body = (ok ? "{\"ok\":true}" : "{}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(ok ? 200 : 401, body.length);
                ex.getResponseBody().write(body);
            }));
            String grant = "      auth:\n        oauth2:\n          tokenUrl: " + auth.url() + "/token\n"
                    + "          clientId: preview\n          clientSecret: ${SECRET}\n";
            String yaml = "aggregator:\n  sources:\n    - id: a\n      url: " + api.url() + "/a\n" + grant
                    + "    - id: b\n      url: " + api.url() + "/b\n" + grant;
            Run run = preview(yaml, Map.of("SECRET", secret));
            assertEquals(0, run.exit(), run.stdout() + run.stderr());
            assertEquals("ok", run.lines().get("a").get("result").asText());
            assertEquals("ok", run.lines().get("b").get("result").asText());
            assertEquals(1, auth.hits(), "one token for both sources");
            String all = run.stdout() + run.stderr();
            assertFalse(all.contains(secret) || all.contains(token), all);
        }
    }

    @Test
    void oneSourceByIdExitsZeroWhenItSucceedsAndTwoWhenItIsNotThere() throws Exception {
        try (Upstream quotes = new Upstream().json("{\"data\": {\"price\": 3}}");
                Upstream down = new Upstream().reply(Upstream.Reply.status(503, "text/plain", ""));
                Upstream unused = new Upstream()) {
            String yaml = config(quotes, down, unused);
            Map<String, String> env = Map.of("QUOTE_KEY", HEADER_SECRET);

            Run one = preview(yaml, env, "--source", "quote");
            assertEquals(0, one.exit(), one.stdout() + one.stderr());
            assertEquals(List.of("quote"), List.copyOf(one.lines().keySet()));
            assertEquals(0, down.hits());

            Run combined = preview(yaml, env, "--source", "board");
            assertEquals(1, combined.exit(), "its part down fails");
            assertEquals(List.of("board"), List.copyOf(combined.lines().keySet()));
            assertEquals(1, down.hits(), "its parts are fetched");

            Run unknown = preview(yaml, env, "--source", "later");
            assertEquals(2, unknown.exit());
            assertEquals(Map.of(), unknown.lines());
            assertEquals(
                    "aggregator: check-config: no enabled source with id \"later\"",
                    unknown.stderr().strip());
        }
    }

    /** The length of an envelope's {@code fetchedAt} and {@code changedAt} texts. */
    private static int timesLength(JsonNode envelope) {
        return envelope.path("fetchedAt").asText().length()
                + envelope.path("changedAt").asText().length();
    }

    /** The preview is what the service serves: the same data, and the content hash its ETag is made of. */
    @Test
    void previewMatchesWhatTheRunningServiceServes() throws Exception {
        try (Upstream quotes = new Upstream().json("{\"data\": {\"price\": 12.5, \"volume\": 7}}");
                Upstream down = new Upstream().json("{}");
                Upstream unused = new Upstream()) {
            String yaml = config(quotes, down, unused);
            Map<String, String> env = Map.of("QUOTE_KEY", HEADER_SECRET);
            JsonNode preview = preview(yaml, env, "--source", "quote").lines().get("quote");
            try (Service service = Service.start(yaml, env)) {
                HttpResponse<String> served = service.get("/api/sources/quote");
                assertEquals(200, served.statusCode(), served.body());
                JsonNode body = Json.MAPPER.readTree(served.body());
                assertEquals(body.get("data"), preview.get("envelope").get("data"));
                String hash = preview.get("hash").asText();
                assertEquals(
                        "\"1-" + hash.substring(0, 12) + "\"",
                        served.headers().firstValue("ETag").orElse(""));
                // the same envelope but for its times: Instant's text has 3, 6 or 9 fraction digits, so the two
                // fetches' times may differ in length; the sizes are compared without them
                JsonNode previewed = preview.get("envelope");
                assertEquals(
                        served.body().getBytes(StandardCharsets.UTF_8).length - timesLength(body),
                        preview.get("size").asInt() - timesLength(previewed));
            }
        }
    }

    /** A path URL names the running service: the preview asks it on server.port, as the demo sources do. */
    @Test
    void pathSourcesAreFetchedFromTheRunningService() throws Exception {
        try (Service running = Service.start("""
                aggregator:
                  sources:
                    - id: any
                      url: /demo/clock
                """)) {
            String yaml = """
                    server:
                      port: %d
                    aggregator:
                      sources:
                        - id: clock
                          url: /demo/clock
                          select: /utc
                    """.formatted(running.port());
            JsonNode clock = preview(yaml, Map.of()).lines().get("clock");
            assertEquals("ok", clock.get("result").asText(), clock.toString());
            assertTrue(clock.get("envelope").get("data").isTextual(), clock.toString());

            Run unknownPort = preview(yaml.replace("port: " + running.port(), "port: 0"), Map.of());
            assertEquals(1, unknownPort.exit());
            assertTrue(
                    unknownPort.lines().get("clock").get("error").asText().contains("server.port 0"),
                    unknownPort.stdout());
        }
    }

    /** An upstream that answers with the query it was asked for. */
    /**
     * Budgets: clustered, the preview's requests count in the cluster's Redis (test-owned), so a second preview
     * finds the budget spent and sends nothing; without a cluster each preview counts only its own requests.
     */
    @Test
    void previewRequestsCountAgainstTheBudgetInRedisWhenClusteredAndOnlyLocallyOtherwise() throws Exception {
        String prefix = "p" + java.util.UUID.randomUUID().toString().substring(0, 8) + ":";
        try (io.github.aggregator.testing.RedisServer redis = io.github.aggregator.testing.RedisServer.start();
                Upstream up = new Upstream().json("{\"v\":1}")) {
            String sources = """
                    aggregator:
                      budgets:
                        - id: plan
                          limits: [2/1m]
                      sources:
                        - id: a
                          url: %1$s/a
                          budget: plan
                        - id: b
                          url: %1$s/b
                          budget: plan
                    """.formatted(up.url());
            String clustered = """
                    cluster:
                      redis:
                        url: ${REDIS_URL}
                        keyPrefix: "%s"
                    """.formatted(prefix) + sources;
            Map<String, String> env = Map.of("REDIS_URL", redis.url());

            Run first = preview(clustered, env);
            assertEquals(0, first.exit(), first.stdout() + first.stderr());
            assertEquals("ok", first.lines().get("a").get("result").asText());
            assertEquals("ok", first.lines().get("b").get("result").asText());
            assertEquals(2, up.hits());
            assertEquals(":2", redis.command("ZCARD", prefix + "budget:{plan}:60000ms"), "counted in Redis");

            Run second = preview(clustered, env);
            assertEquals(1, second.exit(), second.stdout() + second.stderr());
            assertTrue(second.stderr().contains("0 ok, 0 failed, 2 deferred by their budget"), second.stderr());
            for (String id : List.of("a", "b")) {
                JsonNode line = second.lines().get(id);
                assertEquals("deferred", line.get("result").asText(), line.toString());
                assertTrue(
                        line.get("error").asText().startsWith("the request budget plan allows none before "),
                        line.toString());
            }
            assertEquals(2, up.hits(), "nothing sent beyond the budget");

            // without a cluster a preview has no shared count: each one sends its request per source
            Run local = preview(sources, Map.of());
            assertEquals(0, local.exit(), local.stdout() + local.stderr());
            assertEquals(4, up.hits());
        }
    }

    private static Upstream echo() {
        return new Upstream().reply(Upstream.Reply.custom(exchange -> {
            byte[] body = Json.MAPPER
                    .createObjectNode()
                    .put("query", exchange.getRequestURI().getRawQuery())
                    .toString()
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        }));
    }

    private static long asked(Upstream up, String query) {
        return up.requests().stream()
                .filter(r -> query.equals(r.uri().getRawQuery()))
                .count();
    }

    @Test
    void aParametrisedSourceIsPreviewedOneInstanceAtATime() throws Exception {
        try (Upstream up = echo()) {
            String yaml = """
                    aggregator:
                      sources:
                        - id: plain
                          url: %1$s/plain
                        - id: weather
                          url: %1$s/forecast?city={city}&units={units}
                          params:
                            city:
                              values: [NYC, London]
                            units:
                              values: [metric, imperial]
                              default: metric
                        - id: zone
                          url: %1$s/zone?tz={tz}
                          params:
                            tz:
                              pattern: "[A-Za-z/]{1,30}"
                              default: UTC
                        - id: board
                          combine: ["weather(city=London)", plain]
                    """.formatted(up.url());

            Run nyc = preview(yaml, Map.of(), "--source", "weather", "--param", "city=NYC");
            assertEquals(0, nyc.exit(), nyc.stdout() + nyc.stderr());
            JsonNode line = nyc.lines().get("weather(city=NYC;units=metric)");
            assertEquals("ok", line.get("result").asText(), nyc.stdout());
            assertEquals("weather", line.get("envelope").get("id").asText(), nyc.stdout());
            assertEquals("NYC", line.get("envelope").get("params").get("city").asText(), nyc.stdout());
            assertEquals(
                    "city=NYC&units=metric",
                    line.get("envelope").get("data").get("query").asText());
            assertEquals(1, nyc.lines().size(), nyc.stdout());
            assertEquals(1, asked(up, "city=NYC&units=metric"));
            assertEquals(1, up.hits(), "only the instance named is fetched");

            Run canonical = preview(yaml, Map.of(), "--source", "weather(city=London;units=imperial)");
            assertEquals(0, canonical.exit(), canonical.stderr());
            assertEquals(
                    List.of("weather(city=London;units=imperial)"),
                    List.copyOf(canonical.lines().keySet()));

            Run byDefault = preview(yaml, Map.of(), "--source", "zone");
            assertEquals(0, byDefault.exit(), byDefault.stderr());
            assertEquals(List.of("zone(tz=UTC)"), List.copyOf(byDefault.lines().keySet()));

            Run combined = preview(yaml, Map.of(), "--source", "board");
            assertEquals(0, combined.exit(), combined.stderr());
            JsonNode board = combined.lines().get("board").get("envelope").get("data");
            assertEquals(
                    "city=London&units=metric",
                    board.get("weather(city=London;units=metric)").get("query").asText());

            int before = up.hits();
            Run paris = preview(yaml, Map.of(), "--source", "weather", "--param", "city=Paris");
            assertEquals(2, paris.exit());
            assertEquals(
                    "aggregator: check-config: source \"weather\": parameter \"city\" must be one of NYC, London",
                    paris.stderr().strip());
            Run missing = preview(yaml, Map.of(), "--source", "weather");
            assertEquals(2, missing.exit());
            assertEquals(
                    "aggregator: check-config: source \"weather\": parameter \"city\" is required; add --param"
                            + " city=VALUE (one of NYC, London) --param units=VALUE (one of metric, imperial,"
                            + " default metric)",
                    missing.stderr().strip());
            Run unknown = preview(yaml, Map.of(), "--source", "weather", "--param", "city=NYC", "--param", "zone=1");
            assertEquals(2, unknown.exit());
            assertEquals(
                    "aggregator: check-config: source \"weather\": unknown parameter \"zone\" for source \"weather\"",
                    unknown.stderr().strip());
            Run plainWithParam = preview(yaml, Map.of(), "--source", "plain", "--param", "city=NYC");
            assertEquals(2, plainWithParam.exit());
            assertTrue(plainWithParam.stderr().contains("takes no parameters"), plainWithParam.stderr());
            assertEquals(before, up.hits(), "a refused preview fetches nothing");

            // every source: the templates are left out, each with a line saying how to name an instance
            Run all = preview(yaml, Map.of());
            assertEquals(0, all.exit(), all.stderr());
            assertEquals(List.of("plain", "board"), List.copyOf(all.lines().keySet()));
            assertTrue(
                    all.stderr()
                            .contains("aggregator: check-config: \"weather\" has params: name one instance with"
                                    + " --source weather --param city=VALUE"),
                    all.stderr());
            assertTrue(all.stderr().contains("\"zone\" has params"), all.stderr());
        }
    }

    @Test
    void fetchAndSourceGoOnlyWithTheirCommands() {
        for (String[] args : List.of(
                new String[] {"--fetch"},
                new String[] {"refresh", "--fetch"},
                new String[] {"check-config", "--source", "quote"},
                new String[] {"check-config", "--fetch", "--param", "city=NYC"},
                new String[] {"check-config", "--fetch", "--source", "weather", "--param", "city"},
                new String[] {"check-config", "--fetch", "--source", "weather", "--param", "=NYC"},
                new String[] {"check-config", "--fetch", "--source", "weather", "--param", "c=1", "--param", "c=2"},
                new String[] {"check-config", "--fetch", "--source", "weather", "--param"},
                new String[] {"--source", "quote", "check-config"})) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Main.Started started = Main.start(args, Map.of(), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertNull(started.app());
            assertEquals(2, started.exitCode(), String.join(" ", args));
            String line = err.toString(StandardCharsets.UTF_8).strip();
            assertTrue(line.startsWith("aggregator: ") && !line.contains("\n"), line);
        }
    }
}
