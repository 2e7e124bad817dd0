package io.github.aggregator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.AccessConfig;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.CorsConfig;
import io.github.aggregator.source.Scope;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceTemplate;
import io.github.aggregator.testing.ConfigSchema;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigFileTest {

    /** Lines 1-4 of most bad-config cases: one source "alpha"; a case appends its own lines from line 5 on. */
    private static final String ALPHA = """
            aggregator:
              sources:
                - id: alpha
                  url: http://127.0.0.1:9/x
            """;

    @TempDir
    Path dir;

    // ---- refused configs ------------------------------------------------------------------------------------------

    /**
     * One bad config: the line the message must point at (0: no line), the source id it must name (null: none), the
     * field it must name (null: no field applies) and a fragment of the reason.
     */
    private static Arguments bad(String name, int line, String id, String field, String reason, String yaml) {
        return Arguments.of(name, line, id, field, reason, yaml);
    }

    static Stream<Arguments> badConfigs() {
        return Stream.of(
                bad("malformed YAML", 4, null, null, "malformed YAML", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: http://h/x: y
                        """),
                bad("malformed YAML: unclosed flow sequence", 4, null, null, "malformed YAML", """
                        aggregator:
                          sources: [
                        server:
                          port: 0
                        """),
                bad("key given twice in a source", 6, "alpha", "interval", "more than once", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: /demo/clock
                              interval: 1s
                              interval: 2s
                        """),
                bad("key given twice at top level", 4, null, "aggregator", "more than once", """
                        aggregator:
                          sources: []
                        # a second section would silently replace the first
                        aggregator:
                          sources: []
                        """),
                bad("header given twice", 7, "alpha", "headers.x-api-key", "more than once", ALPHA + """
                              headers:
                                x-api-key: first
                                x-api-key: second
                        """),
                bad("server key given twice", 3, null, "server.port", "more than once", """
                        server:
                          port: 0
                          port: 8080
                        aggregator:
                          sources: []
                        """),
                bad("unknown field in a source", 5, "alpha", "intervall", "unknown field", ALPHA + """
                              intervall: 5s
                        """),
                bad("unknown field in aggregator", 3, null, "histroySize", "unknown field", """
                        aggregator:
                          sources: []
                          histroySize: 3
                        """),
                bad("unknown field at top level", 3, null, "sever", "unknown field", """
                        aggregator:
                          sources: []
                        sever:
                          port: 0
                        """),
                bad("duplicate id", 5, "alpha", "id", "duplicate", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: /demo/clock
                            - id: alpha
                              url: /demo/ticker
                        """),
                bad("id in upper case", 3, "Alpha", "id", "[a-z0-9]", """
                        aggregator:
                          sources:
                            - id: Alpha
                              url: /demo/clock
                        """),
                bad("id with a leading dash", 3, "-alpha", "id", "[a-z0-9]", """
                        aggregator:
                          sources:
                            - id: -alpha
                              url: /demo/clock
                        """),
                bad("empty id", 3, "", "id", "[a-z0-9]", """
                        aggregator:
                          sources:
                            - id: ""
                              url: /demo/clock
                        """),
                bad("id longer than 64 characters", 3, "a".repeat(65), "id", "64", """
                        aggregator:
                          sources:
                            - id: %s
                              url: /demo/clock
                        """.formatted("a".repeat(65))),
                bad("missing id", 3, null, "id", "required", """
                        aggregator:
                          sources:
                            - url: /demo/clock
                        """),
                bad("ftp URL", 4, "alpha", "url", "\"ftp\"", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: ftp://example.com/file.json
                        """),
                bad("URL without a host", 4, "alpha", "url", "no host", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: http:///data.json
                        """),
                bad("unparseable URL", 4, "alpha", "url", "not a valid URL", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: http://exa mple.com/data
                        """),
                bad("relative URL that is not a path", 4, "alpha", "url", "absolute", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: example.com/data
                        """),
                bad("missing URL", 3, "alpha", "url", "required", """
                        aggregator:
                          sources:
                            - id: alpha
                              interval: 1s
                        """),
                bad("bad interval", 5, "alpha", "interval", "not a duration", ALPHA + """
                              interval: soon
                        """),
                bad("interval below 100ms", 5, "alpha", "interval", "at least 100ms", ALPHA + """
                              interval: 99ms
                        """),
                bad("interval too large for a Duration", 5, "alpha", "interval", "9223372036854775807h", ALPHA + """
                              interval: 9223372036854775807h
                        """),
                bad("bad timeout", 6, "alpha", "timeout", "not a duration", ALPHA + """
                              interval: 1s
                              timeout: forever
                        """),
                bad("zero timeout", 5, "alpha", "timeout", "positive", ALPHA + """
                              timeout: 0s
                        """),
                bad("unset variable in a header", 6, "alpha", "headers.x-api-key", "API_KEY", ALPHA + """
                              headers:
                                x-api-key: ${API_KEY}
                        """),
                bad("unset variable in the URL", 4, "alpha", "url", "BASE_URL", """
                        aggregator:
                          sources:
                            - id: alpha
                              url: ${BASE_URL}/data
                        """),
                bad("select not a JSON Pointer", 5, "alpha", "select", "\"/\"", ALPHA + """
                              select: data
                        """),
                bad("headers not a mapping", 5, "alpha", "headers", "mapping", ALPHA + """
                              headers: x-api-key
                        """),
                bad("header value a list", 7, "alpha", "headers.accept", "string", ALPHA + """
                              headers:
                                accept:
                                  - application/json
                        """),
                bad("header name with a space", 6, "alpha", "headers", "not a valid header name", ALPHA + """
                              headers:
                                "x api key": v
                        """),
                bad("enabled neither true nor false", 5, "alpha", "enabled", "maybe", ALPHA + """
                              enabled: maybe
                        """),
                bad("sources a scalar", 2, null, "sources", "list", """
                        aggregator:
                          sources: alpha
                        """),
                bad("sources a mapping", 3, null, "sources", "list", """
                        aggregator:
                          sources:
                            id: alpha
                            url: /demo/clock
                        """),
                bad("a source that is a scalar", 3, null, "sources", "mapping", """
                        aggregator:
                          sources:
                            - alpha
                        """),
                bad("empty file", 0, null, null, "empty", ""),
                bad("file with only comments", 0, null, null, "empty", """
                        # nothing configured yet
                        """),
                bad("missing aggregator section", 0, null, null, "\"aggregator\"", """
                        server:
                          port: 0
                        """),
                bad("aggregator not a mapping", 1, null, "aggregator", "mapping", """
                        aggregator: yes
                        """),
                bad("top level a list", 1, null, "top level", "mapping", """
                        - aggregator
                        """),
                bad("server.port not a number", 2, null, "server.port", "\"eighty\"", """
                        server:
                          port: eighty
                        aggregator:
                          sources: []
                        """),
                bad("server.port out of range", 2, null, "server.port", "\"70000\"", """
                        server:
                          port: 70000
                        aggregator:
                          sources: []
                        """),
                bad("server.port negative, after another key", 3, null, "server.port", "\"-1\"", """
                        server:
                          host: 127.0.0.1
                          port: -1
                        aggregator:
                          sources: []
                        """),
                bad("maxBodySize not a size", 5, "alpha", "maxBodySize", "\"lots\"", ALPHA + """
                              maxBodySize: lots
                        """),
                bad("maxBodySize zero", 5, "alpha", "maxBodySize", "positive", ALPHA + """
                              maxBodySize: 0
                        """),
                bad("maxBodySize that overflows a long", 6, "alpha", "maxBodySize", "17592186044417MiB", ALPHA + """
                              interval: 1s
                              maxBodySize: 17592186044417MiB
                        """),
                bad("historySize zero", 3, null, "historySize", "between", """
                        aggregator:
                          sources: []
                          historySize: 0
                        """),
                bad("historySize not a number", 3, null, "historySize", "whole number", """
                        aggregator:
                          sources: []
                          historySize: lots
                        """),
                bad("historyMaxAge not a duration", 3, null, "historyMaxAge", "not a duration", """
                        aggregator:
                          sources: []
                          historyMaxAge: forever
                        """),
                bad("historyMaxAge below 1s", 3, null, "historyMaxAge", "at least 1s", """
                        aggregator:
                          sources: []
                          historyMaxAge: 500ms
                        """),
                bad("coldWait not a duration", 3, null, "coldWait", "not a duration", """
                        aggregator:
                          sources: []
                          coldWait: later
                        """),
                bad("heartbeat below 100ms", 4, null, "heartbeat", "at least 100ms", """
                        aggregator:
                          sources: []
                          retry: 1s
                          heartbeat: 50ms
                        """),
                bad("subscriberQueue zero", 3, null, "subscriberQueue", "between", """
                        aggregator:
                          sources: []
                          subscriberQueue: 0
                        """),
                bad("userAgent empty", 3, null, "userAgent", "non-empty", """
                        aggregator:
                          sources: []
                          userAgent: ""
                        """),
                bad("poll not a choice", 5, "alpha", "poll", "always, on-demand", ALPHA + """
                              poll: sometimes
                        """),
                bad("format not a choice", 5, "alpha", "format", "json, text", ALPHA + """
                              format: xml
                        """),
                bad("select with format text", 5, "alpha", "select", "format json", ALPHA + """
                              select: /data
                              format: text
                        """),
                bad("interval below minInterval", 5, "alpha", "interval", "minInterval", ALPHA + """
                              interval: 1s
                              minInterval: 5s
                        """),
                bad("maxBackoff below interval", 6, "alpha", "maxBackoff", "interval", ALPHA + """
                              interval: 10s
                              maxBackoff: 5s
                        """),
                bad("idleAfter zero", 5, "alpha", "idleAfter", "positive", ALPHA + """
                              idleAfter: 0s
                        """),
                bad("transform does not compile", 5, "alpha", "transform", "does not compile", ALPHA + """
                              transform: '.a |||'
                        """),
                bad("combine with a url", 6, "both", "url", "unknown field", ALPHA + """
                            - id: both
                              url: http://127.0.0.1:9/y
                              combine: [alpha]
                        """),
                bad("combine unknown part", 5, "sum", "combine", "unknown source \"ghost\"", ALPHA + """
                            - id: sum
                              combine: [alpha, ghost]
                        """),
                bad("combine cycle", 5, "x", "combine", "cycle", ALPHA + """
                            - id: x
                              combine: [alpha, y]
                            - id: y
                              combine: [x]
                        """),
                bad("combine itself", 5, "me", "combine", "cycle", ALPHA + """
                            - id: me
                              combine: [me]
                        """),
                bad("combine a disabled source", 8, "sum", "combine", "disabled", ALPHA + """
                            - id: off
                              url: http://127.0.0.1:9/z
                              enabled: false
                            - id: sum
                              combine: [alpha, off]
                        """),
                bad("admin token too short", 2, null, "admin.token", "at least 16", """
                        admin:
                          token: short
                        aggregator:
                          sources: []
                        """),
                bad("combine empty", 6, "sum", "combine", "non-empty", ALPHA + """
                            - id: sum
                              combine: []
                        """));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badConfigs")
    void badConfigIsRefusedWithOneLineNamingFileSourceAndField(
            String name, int line, String id, String field, String reason, String yaml) throws IOException {
        Path file = write(yaml);

        String m = refused(file, Map.of());

        assertTrue(m.startsWith(file + (line > 0 ? ":" + line + ": " : ": ")), "file and line: " + m);
        if (id != null) {
            assertTrue(m.contains("source \"" + id + "\" "), "source id: " + m);
        } else {
            assertFalse(m.contains("source \""), "names no source: " + m);
        }
        if (field != null) {
            assertTrue(m.contains("field \"" + field + "\": "), "field: " + m);
        }
        assertTrue(m.contains(reason), "reason: " + m);
    }

    @Test
    void unsetVariableIsNamedButNoHeaderValueEverAppears() throws IOException {
        Path file = write("""
                aggregator:
                  sources:
                    - id: alpha
                      url: https://api.example.com/v1?token=${URL_TOKEN}
                      headers:
                        authorization: Bearer literal-s3cret-in-the-file
                        x-env-token: ${ENV_TOKEN}
                        x-api-key: ${API_KEY}
                        x-after: later-s3cret-in-the-file
                """);
        Map<String, String> env = Map.of("ENV_TOKEN", "env-t0ken-s3cret", "URL_TOKEN", "url-t0ken-s3cret");

        String m = refused(file, env);

        assertTrue(m.startsWith(file + ":8: source \"alpha\" field \"headers.x-api-key\": "), m);
        assertTrue(m.contains("API_KEY"), m);
        for (String secret : List.of(
                "literal-s3cret-in-the-file",
                "Bearer",
                "env-t0ken-s3cret",
                "url-t0ken-s3cret",
                "later-s3cret-in-the-file")) {
            assertFalse(m.contains(secret), "leaks " + secret + ": " + m);
        }
    }

    @Test
    void headerValueWithLineBreakIsRefusedWithoutEchoingIt() throws IOException {
        Path file = write(ALPHA + """
                      headers:
                        x-token: "abc-s3cret\\r\\nInjected: 1"
                """);

        String m = refused(file, Map.of());

        assertTrue(m.contains("source \"alpha\" field \"headers.x-token\": "), m);
        assertFalse(m.contains("abc-s3cret"), m);
        assertFalse(m.contains("Injected"), m);
    }

    @Test
    void badPortFromEnvIsRefusedAndBlamesTheEnvNotALineOfTheFile() throws IOException {
        Path file = write("""
                server:
                  port: 8080
                aggregator:
                  sources: []
                """);

        String m = refused(file, Map.of("PORT", "http"));

        assertTrue(m.startsWith(file + ": field \"server.port\": "), m);
        assertTrue(m.contains("PORT"), m);
        assertTrue(m.contains("\"http\""), m);
    }

    @Test
    void missingFileIsRefusedWithOneLineNamingIt() {
        Path file = dir.resolve("no-such-file.yaml");

        String m = refused(file, Map.of());

        assertTrue(m.startsWith(file + ": "), m);
    }

    @Test
    void binaryGarbageIsRefusedInWordsNamingTheByte() throws IOException {
        Path file = dir.resolve("garbage.yaml");
        byte[] bytes = "server:\n  port: 1\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] garbage = java.util.Arrays.copyOf(bytes, bytes.length + 3);
        garbage[bytes.length] = (byte) 0xff;
        garbage[bytes.length + 1] = (byte) 0xfe;
        garbage[bytes.length + 2] = 0x01;
        Files.write(file, garbage);

        String m = refused(file, Map.of());

        assertEquals(file + ": not UTF-8 text at byte " + bytes.length, m);
    }

    @Test
    void aMissingFileOrADirectoryIsRefusedInWords() throws IOException {
        assertEquals(
                dir.resolve("none.yaml") + ": cannot read config file: no such file",
                refused(dir.resolve("none.yaml"), Map.of()));
        Path sub = Files.createDirectories(dir.resolve("a-directory.yaml"));
        assertEquals(sub + ": cannot read config file: not a regular file", refused(sub, Map.of()));
    }

    // ---- accepted configs -----------------------------------------------------------------------------------------

    @Test
    void omittedFieldsTakeTheirDefaults() throws IOException {
        ConfigFile config = load("""
                aggregator:
                  sources:
                    - id: alpha
                      url: http://127.0.0.1:9/x
                """, Map.of());

        SourceConfig s = only(config);
        assertEquals("alpha", s.id());
        assertEquals(URI.create("http://127.0.0.1:9/x"), s.url());
        assertEquals(Duration.ofSeconds(60), s.interval());
        assertEquals(Duration.ofSeconds(10), s.timeout());
        assertTrue(s.enabled());
        assertEquals(5L * 1024 * 1024, s.maxBodySize());
        assertEquals(Map.of(), s.headers());
        assertNull(s.select());
        AggregatorConfig a = config.aggregator();
        assertEquals(64, a.historySize());
        assertEquals(Duration.ofSeconds(5), a.coldWait());
        assertEquals(Duration.ofSeconds(15), a.heartbeat());
        assertEquals(Duration.ofSeconds(3), a.retry());
        assertEquals(64, a.subscriberQueue());
        assertEquals(Duration.ofHours(24), a.historyMaxAge());
        assertEquals(Path.of("data"), a.dataDir());
        assertEquals(Map.of(), config.server());
    }

    @Test
    void theDataDirectoryComesFromTheFileOrTheEnvironmentAndEmptyTurnsTheStoreOff() throws IOException {
        String yaml = """
                aggregator:
                  historyMaxAge: 90m
                  dataDir: /var/lib/aggregator
                  sources: []
                """;
        AggregatorConfig fromFile = load(yaml, Map.of()).aggregator();
        assertEquals(Path.of("/var/lib/aggregator"), fromFile.dataDir());
        assertEquals(Duration.ofMinutes(90), fromFile.historyMaxAge());
        assertEquals(
                Path.of("elsewhere"),
                load(yaml, Map.of("AGGREGATOR_DATA_DIR", "elsewhere"))
                        .aggregator()
                        .dataDir(),
                "env wins");
        assertNull(load(yaml, Map.of("AGGREGATOR_DATA_DIR", "")).aggregator().dataDir(), "empty env: off");
        assertNull(
                load("aggregator:\n  dataDir: \"\"\n  sources: []\n", Map.of())
                        .aggregator()
                        .dataDir(),
                "empty field: off");
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        assertEquals(
                tmp.resolve("aggregator"),
                load(yaml, Map.of("AGGREGATOR_DATA_DIR", "${java.io.tmpdir}/aggregator"))
                        .aggregator()
                        .dataDir(),
                "the JVM's temporary directory, found at run time (the Lambda descriptor's setting)");
        assertEquals(
                tmp.resolve("store"),
                load("aggregator:\n  dataDir: ${java.io.tmpdir}/store\n  sources: []\n", Map.of())
                        .aggregator()
                        .dataDir(),
                "the same in the file");
    }

    @Test
    void everyFieldIsRead() throws IOException {
        ConfigFile config = load("""
                server:
                  port: 8181
                  host: 127.0.0.1
                aggregator:
                  historySize: 8
                  coldWait: 250ms
                  heartbeat: PT20S
                  retry: 2s
                  subscriberQueue: 16
                  sources:
                    - id: alpha-1
                      url: https://api.example.com/v1/data?q=1
                      interval: 5m
                      timeout: 1500ms
                      enabled: false
                      maxBodySize: 512KiB
                      select: /data/items
                      headers:
                        accept: application/json
                        x-api-key: k
                    - id: beta
                      url: /demo/clock
                """, Map.of());

        assertEquals(Map.of("server.port", "8181", "server.host", "127.0.0.1"), config.server());
        AggregatorConfig a = config.aggregator();
        assertEquals(8, a.historySize());
        assertEquals(Duration.ofMillis(250), a.coldWait());
        assertEquals(Duration.ofSeconds(20), a.heartbeat());
        assertEquals(Duration.ofSeconds(2), a.retry());
        assertEquals(16, a.subscriberQueue());
        assertEquals(List.of("alpha-1", "beta"), ids(a.sources()));
        SourceConfig s = a.sources().get(0);
        assertEquals(URI.create("https://api.example.com/v1/data?q=1"), s.url());
        assertEquals(Duration.ofMinutes(5), s.interval());
        assertEquals(Duration.ofMillis(1500), s.timeout());
        assertFalse(s.enabled());
        assertEquals(512L * 1024, s.maxBodySize());
        assertEquals("/data/items", s.select());
        assertEquals(Map.of("accept", "application/json", "x-api-key", "k"), s.headers());
        assertEquals(URI.create("/demo/clock"), a.sources().get(1).url());
        assertEquals(List.of("beta"), ids(a.enabledSources()));
    }

    @ParameterizedTest(name = "interval {0}")
    @CsvSource({"500ms, 500", "30s, 30000", "5m, 300000", "1h, 3600000", "PT60S, 60000", "pt1m, 60000", "100ms, 100"})
    void intervalAcceptsFriendlyAndIsoDurations(String text, long millis) throws IOException {
        SourceConfig s = only(load(ALPHA + "      interval: " + text + "\n      timeout: " + text + "\n", Map.of()));

        assertEquals(Duration.ofMillis(millis), s.interval());
        assertEquals(Duration.ofMillis(millis), s.timeout());
    }

    @ParameterizedTest(name = "maxBodySize {0}")
    @CsvSource({"512, 512", "1KB, 1000", "1KiB, 1024", "2MB, 2000000", "5MiB, 5242880", "64 KiB, 65536"})
    void maxBodySizeAcceptsBytesAndUnits(String text, long bytes) throws IOException {
        SourceConfig s = only(load(ALPHA + "      maxBodySize: " + text + "\n", Map.of()));

        assertEquals(bytes, s.maxBodySize());
    }

    @Test
    void variablesAreSubstitutedInUrlAndHeaders() throws IOException {
        SourceConfig s =
                only(load("""
                aggregator:
                  sources:
                    - id: alpha
                      url: ${BASE_URL}/v1/forecast?key=${API_KEY}
                      headers:
                        x-api-key: ${API_KEY}
                        authorization: Bearer ${TOKEN}
                        x-literal: $ not a ${ variable
                """, Map.of("BASE_URL", "https://api.example.com", "API_KEY", "k-123", "TOKEN", "a$1\\b")));

        assertEquals(URI.create("https://api.example.com/v1/forecast?key=k-123"), s.url());
        assertEquals("k-123", s.headers().get("x-api-key"));
        assertEquals("Bearer a$1\\b", s.headers().get("authorization"), "replacement text is taken literally");
        assertEquals("$ not a ${ variable", s.headers().get("x-literal"));
    }

    @ParameterizedTest(name = "{0} with env {1}")
    @CsvSource(
            delimiter = '|',
            nullValues = "UNSET",
            value = {
                "${REGION:-us-east}  | UNSET   | us-east",
                "${REGION:-us-east}  | ''      | us-east",
                "${REGION:-us-east}  | eu-west | eu-west",
                "${REGION:-}         | UNSET   | ''",
                "${REGION:+present}  | UNSET   | ''",
                "${REGION:+present}  | ''      | ''",
                "${REGION:+present}  | eu-west | present",
                "${REGION}           | ''      | ''",
                "a-${REGION:-x}-${REGION:+y}-b | eu-west | a-eu-west-y-b",
            })
    void defaultAndAlternativeForms(String template, String region, String expected) throws IOException {
        Map<String, String> env = region == null ? Map.of() : Map.of("REGION", region);

        SourceConfig s = only(load(ALPHA + "      headers:\n        x-region: \"" + template + "\"\n", env));

        assertEquals(expected, s.headers().get("x-region"));
    }

    @Test
    void disabledSourceWithUnsetVariablesLoads() throws IOException {
        ConfigFile config = load("""
                aggregator:
                  sources:
                    - id: weather
                      url: https://api.example.com/v1/forecast?key=${WEATHER_KEY}
                      enabled: false
                      headers:
                        x-api-key: ${WEATHER_KEY}
                    - id: clock
                      url: /demo/clock
                """, Map.of());

        SourceConfig weather = config.aggregator().sources().get(0);
        assertFalse(weather.enabled());
        assertEquals(Map.of(), weather.headers(), "nothing of a source that cannot be resolved is kept");
        assertEquals(List.of("clock"), ids(config.aggregator().enabledSources()));
    }

    @Test
    void disabledSourceWhoseWholeUrlAndIntervalAreUnsetVariablesLoads() throws IOException {
        SourceConfig s = only(load(ALPHA.replace("http://127.0.0.1:9/x", "${BASE_URL}") + """
                      interval: ${POLL_EVERY}
                      enabled: false
                """, Map.of()));

        assertFalse(s.enabled());
    }

    @Test
    void disabledSourceWithoutVariablesIsStillValidated() throws IOException {
        String m = refused(write(ALPHA + "      interval: 5x\n      enabled: false\n"), Map.of());

        assertTrue(m.contains("field \"interval\""), m);
    }

    @Test
    void unsetPlainVariableInEnabledIsAnErrorNotASilentDisable() throws IOException {
        String m = refused(write(ALPHA + "      enabled: ${TYPO_ENABLED}\n"), Map.of());

        assertTrue(m.contains("field \"enabled\""), m);
        assertTrue(m.contains("TYPO_ENABLED"), m);
    }

    @Test
    void headerNamesDifferingOnlyInCaseAreDuplicates() throws IOException {
        String m = refused(write(ALPHA + "      headers:\n        X-Api-Key: one\n        x-api-key: two\n"), Map.of());

        assertTrue(m.contains(":7:"), m);
        assertTrue(m.contains("more than once"), m);
        assertFalse(m.contains("one") && m.contains("two\""), m);
    }

    @ParameterizedTest(name = "KEY={0} -> enabled {1}")
    @CsvSource(
            nullValues = "UNSET",
            value = {"UNSET, false", "'', false", "k-123, true"})
    void enabledByTheAlternativeFormFollowsTheVariable(String key, boolean enabled) throws IOException {
        Map<String, String> env = key == null ? Map.of() : Map.of("KEY", key);

        SourceConfig s = only(load(ALPHA + """
                      enabled: ${KEY:+true}
                      headers:
                        x-api-key: ${KEY}
                """, env));

        assertEquals(enabled, s.enabled());
        // unset: a disabled placeholder that keeps nothing; set (even empty): the value itself
        assertEquals(key, s.headers().get("x-api-key"));
    }

    @Test
    void adminTokenFromFileOrEnvAndNeverInToString() throws IOException {
        String yaml = "admin:\n  token: ${T}\naggregator:\n  sources: []\n";
        ConfigFile fromFile = load(yaml, Map.of("T", "file-token-0123456789"));
        assertEquals("file-token-0123456789", fromFile.adminToken());
        assertFalse(fromFile.toString().contains("file-token"), fromFile.toString());
        ConfigFile fromEnv =
                load(yaml, Map.of("T", "file-token-0123456789", "AGGREGATOR_ADMIN_TOKEN", "env-token-0123456789"));
        assertEquals("env-token-0123456789", fromEnv.adminToken());
        assertNull(load("aggregator:\n  sources: []\n", Map.of()).adminToken());
    }

    @Test
    void portEnvOverridesServerPort() throws IOException {
        ConfigFile config = load("""
                server:
                  port: 8080
                  host: 127.0.0.1
                aggregator:
                  sources: []
                """, Map.of("PORT", "9191"));

        assertEquals("9191", config.server().get("server.port"));
        assertEquals("127.0.0.1", config.server().get("server.host"));
    }

    @Test
    void portEnvAppliesWithoutServerSection() throws IOException {
        ConfigFile config = load("aggregator:\n  sources: []\n", Map.of("PORT", "9191"));

        assertEquals(Map.of("server.port", "9191"), config.server());
    }

    @ParameterizedTest
    @ValueSource(strings = {"sources:", "sources: []"})
    void aggregatorWithNoSourcesLoads(String sources) throws IOException {
        ConfigFile config = load("aggregator:\n  " + sources + "\n", Map.of());

        assertEquals(List.of(), config.aggregator().sources());
    }

    @Test
    void shippedConfigWithoutApiKeyEnablesOnlyTheDemoSources() {
        ConfigFile config = ConfigSchema.load(shippedConfig(), Map.of());

        assertEquals(
                List.of("demo-ticker", "demo-clock", "demo-board", "weather"),
                ids(config.aggregator().sources()));
        assertEquals(
                List.of("demo-ticker", "demo-clock", "demo-board"),
                ids(config.aggregator().enabledSources()));
        assertEquals(
                List.of("demo-quote"),
                config.aggregator().templates().stream().map(t -> t.id()).toList());
        assertEquals("8080", config.server().get("server.port"));
    }

    @Test
    void shippedConfigWithApiKeyEnablesTheWeatherSource() {
        ConfigFile config = ConfigSchema.load(shippedConfig(), Map.of("APIVERVE_API_KEY", "k-123", "PORT", "0"));

        assertEquals(
                List.of("demo-ticker", "demo-clock", "demo-board"),
                ids(config.aggregator().enabledSources()));
        SourceTemplate template = config.aggregator().templates().get(1);
        assertEquals("weather", template.id());
        SourceConfig weather = ((SourceTemplate.Instance) template.resolve(Map.of("city", "London"))).config();
        assertEquals("weather(city=London)", weather.id());
        assertEquals(Map.of("x-api-key", "k-123"), weather.headers());
        assertEquals(URI.create("https://api.apiverve.com/v1/weatherforecast?city=London"), weather.url());
        assertEquals("/data", weather.select());
        assertEquals("0", config.server().get("server.port"));
    }

    // ---- access and cors ------------------------------------------------------------------------------------------

    private static final String KEY = "abcdefghijklmnop0123";

    /** Lines 1-4: ALPHA; line 5 {@code access:}, line 6 {@code keys:}; a case appends its key from line 7 on. */
    private static final String KEYS = ALPHA + "access:\n  keys:\n";

    /** Lines 1-4: ALPHA; line 5 {@code access:}, line 6 {@code jwt:}; a case appends its fields from line 7 on. */
    private static final String JWT = ALPHA + "access:\n  jwt:\n";

    static Stream<Arguments> badAccessConfigs() throws Exception {
        return Stream.of(
                bad(
                        "source access neither public nor token",
                        5,
                        "alpha",
                        "access",
                        "not one of public, token",
                        ALPHA + """
                              access: private
                        """),
                bad("token source but no keys and no jwt", 5, "alpha", "access", "no keys and no jwt", ALPHA + """
                              access: token
                        """),
                bad(
                        "public combination of a token source",
                        6,
                        "sum",
                        "access",
                        "part \"alpha\" needs a token",
                        ALPHA + """
                              access: token
                            - id: sum
                              combine: [alpha]
                        access:
                          keys:
                            - key: %s
                              sources: "*"
                        """.formatted(KEY)),
                bad("unknown field in access", 6, null, "secret", "unknown field in access", ALPHA + """
                        access:
                          secret: x
                        """),
                bad("keys not a list", 6, null, "access.keys", "must be a list", ALPHA + """
                        access:
                          keys: abc
                        """),
                bad("key too short", 7, null, "access.keys[0].key", "at least 16", KEYS + """
                            - key: short
                              sources: [alpha]
                        """),
                bad("key with a space", 7, null, "access.keys[0].key", "without spaces", KEYS + """
                            - key: "abcdefgh ijklmnop0123"
                              sources: [alpha]
                        """),
                bad("sha256 key with too few digits", 7, null, "access.keys[0].key", "64 hex digits", KEYS + """
                            - key: sha256:abc123
                              sources: [alpha]
                        """),
                bad(
                        "sha256 key that is not hex",
                        7,
                        null,
                        "access.keys[0].key",
                        "64 hex digits",
                        KEYS + """
                            - key: sha256:%s
                              sources: [alpha]
                        """.formatted("z".repeat(64))),
                bad("key without sources", 7, null, "access.keys[0].sources", "is required", KEYS + """
                            - key: %s
                        """.formatted(KEY)),
                bad("key without key", 7, null, "access.keys[0].key", "is required", KEYS + """
                            - sources: [alpha]
                        """),
                bad(
                        "key for an unknown source",
                        8,
                        null,
                        "access.keys[0].sources",
                        "\"ghost\" is not a configured",
                        KEYS + """
                            - key: %s
                              sources: [alpha, ghost]
                        """.formatted(KEY)),
                bad(
                        "key with empty sources",
                        8,
                        null,
                        "access.keys[0].sources",
                        "source ids",
                        KEYS + """
                            - key: %s
                              sources: []
                        """.formatted(KEY)),
                bad(
                        "key with an unknown field",
                        9,
                        null,
                        "scope",
                        "unknown field in access.keys[0]",
                        KEYS + """
                            - key: %s
                              sources: [alpha]
                              scope: all
                        """.formatted(KEY)),
                bad(
                        "the same key twice, plain and hashed",
                        9,
                        null,
                        "access.keys[1].key",
                        "same key as access.keys[0]",
                        KEYS + """
                            - key: %s
                              sources: [alpha]
                            - key: sha256:%s
                              sources: "*"
                        """.formatted(KEY, hex(KEY))),
                bad(
                        "key equal to the admin token",
                        9,
                        null,
                        "access.keys[0].key",
                        "admin token",
                        """
                        admin:
                          token: %s
                        """.formatted(KEY) + KEYS.replace("access:", "access:") + """
                            - key: %s
                              sources: "*"
                        """.formatted(KEY)),
                bad("unset variable in a key", 7, null, "access.keys[0].key", "KIOSK_KEY is not set", KEYS + """
                            - key: ${KIOSK_KEY}
                              sources: [alpha]
                        """),
                bad("jwt without a key", 7, null, "access.jwt", "needs hs256Secret or rs256PublicKey", JWT + """
                            claim: grants
                        """),
                bad("jwt secret too short", 7, null, "access.jwt.hs256Secret", "at least 32 bytes", JWT + """
                            hs256Secret: short-s3cret
                        """),
                bad(
                        "jwt public key that is not PEM",
                        7,
                        null,
                        "access.jwt.rs256PublicKey",
                        "not a PEM public key",
                        JWT + """
                            rs256PublicKey: not-a-key
                        """),
                bad(
                        "jwt public key with broken base64",
                        7,
                        null,
                        "access.jwt.rs256PublicKey",
                        "not a valid RSA",
                        JWT + """
                            rs256PublicKey: |
                              -----BEGIN PUBLIC KEY-----
                              !!!!
                              -----END PUBLIC KEY-----
                        """),
                bad(
                        "jwt private key instead of public",
                        7,
                        null,
                        "access.jwt.rs256PublicKey",
                        "private key",
                        JWT
                                + """
                            rs256PublicKey: |
                        %s""".formatted(indent(
                                        pem(
                                                "PRIVATE KEY",
                                                rsa(2048).getPrivate().getEncoded()),
                                        6))),
                bad(
                        "jwt RSA key under 2048 bits",
                        7,
                        null,
                        "access.jwt.rs256PublicKey",
                        "at least 2048 bits",
                        JWT
                                + """
                            rs256PublicKey: |
                        %s""".formatted(indent(
                                        pem("PUBLIC KEY", rsa(1024).getPublic().getEncoded()), 6))),
                bad(
                        "jwt leeway too long",
                        8,
                        null,
                        "access.jwt.leeway",
                        "between 0s and 10m",
                        JWT + """
                            hs256Secret: %s
                            leeway: 1h
                        """.formatted("s".repeat(32))),
                bad("jwt unknown field", 7, null, "secret", "unknown field in access.jwt", JWT + """
                            secret: x
                        """),
                bad("cookie name with a space", 6, null, "access.cookie", "not a cookie name", ALPHA + """
                        access:
                          cookie: "my token"
                        """),
                bad(
                        "query parameter name with a slash",
                        6,
                        null,
                        "access.queryParameter",
                        "not a parameter name",
                        ALPHA + """
                        access:
                          queryParameter: a/b
                        """),
                bad("cors origin with a path", 8, null, "cors.allowedOrigins", "not an origin", ALPHA + """
                        cors:
                          allowedOrigins:
                            - https://ok.example.com
                            - https://dash.example.com/app
                        """),
                bad("cors origin null", 6, null, "cors.allowedOrigins", "not an origin", ALPHA + """
                        cors:
                          allowedOrigins: ["null"]
                        """),
                bad(
                        "cors credentials with only *",
                        7,
                        null,
                        "cors.allowCredentials",
                        "never allowed for \"*\"",
                        ALPHA + """
                        cors:
                          allowedOrigins: ["*"]
                          allowCredentials: true
                        """),
                bad(
                        "cors allowCredentials not a boolean",
                        7,
                        null,
                        "cors.allowCredentials",
                        "not true or false",
                        ALPHA + """
                        cors:
                          allowedOrigins: [https://dash.example.com]
                          allowCredentials: sometimes
                        """),
                bad("cors maxAge too long", 7, null, "cors.maxAge", "between 0s and 1d", ALPHA + """
                        cors:
                          allowedOrigins: [https://dash.example.com]
                          maxAge: 2d
                        """),
                bad("cors maxAge not a duration", 7, null, "cors.maxAge", "not a duration", ALPHA + """
                        cors:
                          allowedOrigins: [https://dash.example.com]
                          maxAge: soon
                        """),
                bad("cors unknown field", 6, null, "origins", "unknown field in cors", ALPHA + """
                        cors:
                          origins: [https://dash.example.com]
                        """));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badAccessConfigs")
    void badAccessOrCorsConfigIsRefusedWithOneLineNamingFileAndField(
            String name, int line, String id, String field, String reason, String yaml) throws IOException {
        badConfigIsRefusedWithOneLineNamingFileSourceAndField(name, line, id, field, reason, yaml);
    }

    @Test
    void refusedKeysAndSecretsAreNeverEchoed() throws Exception {
        String privatePem = pem("PRIVATE KEY", rsa(2048).getPrivate().getEncoded());
        String privateBody = privatePem.lines().skip(1).findFirst().orElseThrow();
        for (String[] c : List.of(
                new String[] {"short-s3cret", KEYS + "    - key: short-s3cret\n      sources: [alpha]\n"},
                new String[] {"spaced s3cret value", KEYS + "    - key: \"spaced s3cret value\"\n      sources: \"*\"\n"
                },
                new String[] {
                    KEY, "admin:\n  token: " + KEY + "\n" + KEYS + "    - key: " + KEY + "\n      sources: \"*\"\n"
                },
                new String[] {"tiny-hs-s3cret", JWT + "    hs256Secret: tiny-hs-s3cret\n"},
                new String[] {privateBody, JWT + "    rs256PublicKey: |\n" + indent(privatePem, 6)})) {
            String m = refused(write(c[1]), Map.of());
            assertFalse(m.contains(c[0]), "echoes a secret: " + m);
        }
    }

    @Test
    void accessAndCorsSectionsAreRead() throws Exception {
        KeyPair rsa = rsa(2048);
        ConfigFile config = load(
                """
                aggregator:
                  sources:
                    - id: alpha
                      url: http://127.0.0.1:9/a
                      access: token
                    - id: beta
                      url: http://127.0.0.1:9/b
                    - id: both
                      combine: [alpha, beta]
                      access: TOKEN
                access:
                  keys:
                    - key: ${KIOSK_KEY}
                      sources: [alpha, both]
                    - key: sha256:%s
                      sources: "*"
                  jwt:
                    hs256Secret: ${JWT_SECRET}
                    rs256PublicKey: |
                %s
                    claim: grants
                    issuer: https://issuer.example.com
                    audience: aggregator
                    leeway: 5s
                  cookie: tok
                  queryParameter: ""
                cors:
                  allowedOrigins: [https://Dash.Example.com, "*", "http://localhost:3000"]
                  allowCredentials: true
                  maxAge: 1m
                """.formatted(
                                hex("second-key-0123456789"),
                                indent(pem("PUBLIC KEY", rsa.getPublic().getEncoded()), 8)),
                Map.of("KIOSK_KEY", KEY, "JWT_SECRET", "j".repeat(40)));

        List<SourceConfig> sources = config.aggregator().sources();
        assertEquals(SourceConfig.Access.TOKEN, sources.get(0).access());
        assertEquals(SourceConfig.Access.PUBLIC, sources.get(1).access(), "public is the default");
        assertEquals(SourceConfig.Access.TOKEN, sources.get(2).access());
        AccessConfig access = config.access();
        assertTrue(access.enabled());
        assertEquals(2, access.keys().size());
        assertTrue(MessageDigest.isEqual(sha256(KEY), access.keys().get(0).sha256()), "plain keys are kept hashed");
        assertEquals(
                new Scope(false, Set.of("alpha", "both")), access.keys().get(0).scope());
        assertTrue(MessageDigest.isEqual(
                sha256("second-key-0123456789"), access.keys().get(1).sha256()));
        assertTrue(access.keys().get(1).scope().covers("anything"));
        AccessConfig.Jwt jwt = access.jwt();
        assertEquals("j".repeat(40), new String(jwt.hs256Secret(), StandardCharsets.UTF_8));
        assertEquals(rsa.getPublic(), jwt.rs256PublicKey());
        assertEquals("grants", jwt.claim());
        assertEquals("https://issuer.example.com", jwt.issuer());
        assertEquals("aggregator", jwt.audience());
        assertEquals(Duration.ofSeconds(5), jwt.leeway());
        assertEquals("tok", access.cookie());
        assertNull(access.queryParameter(), "an empty name turns the query form off");
        for (String secret : List.of(KEY, "j".repeat(40))) {
            assertFalse(access.toString().contains(secret), access.toString());
            assertFalse(config.toString().contains(secret), config.toString());
        }
        CorsConfig cors = config.cors();
        assertEquals(List.of("https://dash.example.com", "*", "http://localhost:3000"), cors.allowedOrigins());
        assertTrue(cors.listed("https://DASH.example.com"));
        assertFalse(cors.listed("https://other.example.com"));
        assertTrue(cors.anyOrigin());
        assertTrue(cors.allowCredentials());
        assertEquals(Duration.ofMinutes(1), cors.maxAge());
    }

    @Test
    void withoutSectionsEverySourceIsPublicAndNoOriginIsAllowed() throws IOException {
        ConfigFile config = load(ALPHA, Map.of());

        assertEquals(SourceConfig.Access.PUBLIC, only(config).access());
        assertFalse(config.access().enabled());
        assertEquals("access_token", config.access().cookie());
        assertEquals("access_token", config.access().queryParameter());
        assertFalse(config.cors().enabled());
        assertFalse(config.cors().allowCredentials());
        assertEquals(Duration.ofMinutes(10), config.cors().maxAge());
    }

    private static KeyPair rsa(int bits) throws NoSuchAlgorithmException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(bits);
        return g.generateKeyPair();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static String indent(String text, int spaces) {
        return text.lines().map(l -> " ".repeat(spaces) + l + "\n").collect(Collectors.joining());
    }

    private static byte[] sha256(String text) throws NoSuchAlgorithmException {
        return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String hex(String text) {
        try {
            return HexFormat.of().formatHex(sha256(text));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /** The parts of a refusal are typed, so a caller needs no message parsing: a record's check and a reader's. */
    @Test
    void refusalsCarryFileLineSourceFieldAndReason() throws IOException {
        Path file = write("""
                aggregator:
                  historySize: 0
                  sources: []
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of()));
        assertEquals(file.toString(), e.file());
        assertEquals(2, e.line());
        assertNull(e.source());
        assertEquals("historySize", e.field());
        assertEquals("must be between 1 and 10000", e.reason());
        Path headers = write("""
                aggregator:
                  sources:
                    - id: a
                      url: https://example.com/
                      headers:
                        "bad name": x
                """);
        e = assertThrows(ConfigException.class, () -> ConfigSchema.load(headers, Map.of()));
        assertEquals(6, e.line());
        assertEquals("a", e.source());
        assertEquals("headers", e.field());
        assertTrue(e.reason().contains("is not a valid header name"), e.reason());
    }

    private Path write(String yaml) throws IOException {
        Path file = dir.resolve("aggregator-under-test.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private ConfigFile load(String yaml, Map<String, String> env) throws IOException {
        return ConfigSchema.load(write(yaml), env);
    }

    /** Loads {@code file} expecting refusal; asserts the message is one line naming the file, and returns it. */
    static String refused(Path file, Map<String, String> env) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, env));
        String m = e.getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        assertTrue(m.startsWith(file.toString()), "names the file: " + m);
        return m;
    }

    private static SourceConfig only(ConfigFile config) {
        assertEquals(
                1, config.aggregator().sources().size(), config.aggregator().sources()::toString);
        return config.aggregator().sources().get(0);
    }

    private static List<String> ids(List<SourceConfig> sources) {
        return sources.stream().map(SourceConfig::id).toList();
    }

    private static Path shippedConfig() {
        Path file = Path.of(System.getProperty("basedir", "."), "config", "application.yaml");
        assertTrue(Files.isRegularFile(file), "shipped config not found at " + file.toAbsolutePath());
        return file;
    }
}
