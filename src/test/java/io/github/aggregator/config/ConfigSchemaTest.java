package io.github.aggregator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.ConfigSchema;
import java.io.IOException;
import java.lang.reflect.Array;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code config/aggregator.schema.json} stays true to the config reader: the same fields per section (taken from the
 * reader's own sets), {@code additionalProperties: false} wherever the reader refuses unknown fields, defaults that
 * load to the reader's defaults, and refusals of unknown fields and bad enum values in every section. Every config
 * the other tests load is checked against the schema too (they load through {@link ConfigSchema#load}).
 */
class ConfigSchemaTest {
    /**
     * Where a section's fields go in a minimal valid file: the text before them and their indentation. Only contexts
     * live here, no field names: a new section of the reader needs one, and the test below says so.
     */
    private static final String SOURCE = "aggregator:\n  sources:\n    - id: a\n      url: http://127.0.0.1:9/x\n";

    private static final Map<String, Context> CONTEXTS = Map.ofEntries(
            Map.entry("config", new Context("aggregator:\n  sources: []\n", 0)),
            Map.entry("aggregator", new Context("aggregator:\n  sources: []\n", 2)),
            Map.entry(
                    "source",
                    new Context("aggregator:\n  sources:\n    - id: a\n      url: http://127.0.0.1:9/x\n", 6)),
            Map.entry(
                    "combinedSource",
                    new Context(
                            "aggregator:\n  sources:\n    - id: a\n      url: http://127.0.0.1:9/x\n"
                                    + "    - id: b\n      combine: [a]\n",
                            6)),
            Map.entry(
                    "param",
                    new Context(
                            "aggregator:\n  sources:\n    - id: a\n      url: http://127.0.0.1:9/x?c={c}\n"
                                    + "      params:\n        c:\n          pattern: \"[a-z]+\"\n",
                            10)),
            Map.entry("admin", new Context("aggregator:\n  sources: []\nadmin:\n  token: abcdefghijklmnop0123\n", 2)),
            Map.entry(
                    "cluster", new Context("aggregator:\n  sources: []\ncluster:\n  redis:\n    url: redis://h\n", 2)),
            Map.entry("redis", new Context("aggregator:\n  sources: []\ncluster:\n  redis:\n    url: redis://h\n", 4)),
            Map.entry("access", new Context("aggregator:\n  sources: []\naccess:\n  keys: []\n", 2)),
            Map.entry(
                    "accessKey",
                    new Context(
                            "aggregator:\n  sources: []\naccess:\n  keys:\n    - key: abcdefghijklmnop0123\n"
                                    + "      sources: \"*\"\n",
                            6)),
            Map.entry(
                    "jwt",
                    new Context(
                            "aggregator:\n  sources: []\naccess:\n  jwt:\n"
                                    + "    hs256Secret: 0123456789abcdef0123456789abcdef\n",
                            4)),
            Map.entry(
                    "cors",
                    new Context("aggregator:\n  sources: []\ncors:\n  allowedOrigins: [https://a.example]\n", 2)),
            Map.entry("auth", new Context(SOURCE + "      auth:\n", 8)),
            Map.entry(
                    "oauth2",
                    new Context(
                            SOURCE + "      auth:\n        oauth2:\n          tokenUrl: http://127.0.0.1:9/t\n"
                                    + "          clientId: a\n          clientSecret: b\n",
                            10)),
            Map.entry(
                    "basicAuth",
                    new Context(
                            SOURCE + "      auth:\n        basic:\n          user: u\n          password: p\n", 10)),
            Map.entry(
                    "budget",
                    new Context("aggregator:\n  sources: []\n  budgets:\n    - id: b\n      limits: [1/1m]\n", 6)));

    private record Context(String before, int indent) {
        String with(Map<String, String> fields) {
            StringBuilder sb = new StringBuilder(before);
            fields.forEach((k, v) -> sb.append(" ".repeat(indent))
                    .append(k)
                    .append(": ")
                    .append(v)
                    .append('\n'));
            return sb.toString();
        }
    }

    @TempDir
    Path dir;

    private final JsonNode schema = readSchema();

    private static JsonNode readSchema() {
        try {
            return Json.MAPPER.readTree(Path.of(System.getProperty("basedir", "."))
                    .resolve(ConfigSchema.FILE)
                    .toFile());
        } catch (IOException e) {
            throw new AssertionError("cannot read " + ConfigSchema.FILE + ": " + e.getMessage());
        }
    }

    private JsonNode section(String name) {
        JsonNode s = schema.path("$defs").path(name);
        assertFalse(s.isMissingNode(), ConfigSchema.FILE + " has no $defs/" + name);
        return s;
    }

    @Test
    void schemaIsAValidDraft202012Schema() throws IOException {
        assertEquals(
                "https://json-schema.org/draft/2020-12/schema",
                schema.path("$schema").asText());
        var meta = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(com.networknt.schema.SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        var errors = meta.validate(
                Files.readString(Path.of(System.getProperty("basedir", ".")).resolve(ConfigSchema.FILE)),
                InputFormat.JSON);
        assertEquals(List.of(), errors.stream().map(Object::toString).toList());
    }

    @Test
    void shippedConfigNamesTheSchemaOnItsFirstLineAndValidates() throws IOException {
        Path shipped = Path.of(System.getProperty("basedir", "."), "config", "application.yaml");
        String text = Files.readString(shipped);
        assertEquals(
                "# yaml-language-server: $schema=aggregator.schema.json",
                text.lines().findFirst().orElse(""));
        assertEquals(List.of(), ConfigSchema.problems(text));
        ConfigSchema.load(shipped, Map.of()); // the service accepts it as well
        ConfigSchema.load(shipped, Map.of("APIVERVE_API_KEY", "k"));
    }

    @Test
    void everySectionHasExactlyTheFieldsTheReaderAccepts() {
        Map<String, Set<String>> code = ConfigFile.fieldsBySection();
        for (Map.Entry<String, Set<String>> e : code.entrySet()) {
            JsonNode s = section(e.getKey());
            assertEquals(
                    new TreeSet<>(e.getValue()),
                    names(s.path("properties")),
                    "fields of section " + e.getKey() + ": the reader (left) and $defs/" + e.getKey() + " (right)");
            assertEquals(
                    "false",
                    s.path("additionalProperties").asText(),
                    "$defs/" + e.getKey() + " must refuse unknown fields, as the reader does");
        }
        // the other way round: every closed mapping in the schema is a section the reader knows
        for (Iterator<Map.Entry<String, JsonNode>> it = schema.path("$defs").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> d = it.next();
            if (d.getValue().has("properties")) {
                assertTrue(
                        code.containsKey(d.getKey()),
                        "$defs/" + d.getKey() + " is not a section of the reader (ConfigFile.fieldsBySection)");
            }
        }
        assertEquals(
                List.of(),
                closedObjectsOutsideDefs(schema, "", false),
                "closed mappings must be $defs sections the reader lists");
        assertEquals("#/$defs/config", schema.path("$ref").asText(), "the file's top level is $defs/config");
    }

    private static List<String> closedObjectsOutsideDefs(JsonNode node, String path, boolean inDefsSection) {
        List<String> found = new ArrayList<>();
        if (node.isObject()) {
            if (!inDefsSection
                    && node.path("additionalProperties").isBoolean()
                    && !node.path("additionalProperties").asBoolean()) {
                found.add(path);
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                boolean section = path.equals("/$defs");
                found.addAll(closedObjectsOutsideDefs(f.getValue(), path + "/" + f.getKey(), section));
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                found.addAll(closedObjectsOutsideDefs(node.get(i), path + "/" + i, false));
            }
        }
        return found;
    }

    @Test
    void everyFieldHasADescription() {
        for (String name : ConfigFile.fieldsBySection().keySet()) {
            for (String field : names(section(name).path("properties"))) {
                JsonNode f = section(name).path("properties").path(field);
                String description = f.has("$ref") && !f.has("description")
                        ? resolve(f.path("$ref").asText()).path("description").asText()
                        : f.path("description").asText();
                assertFalse(description.isBlank(), name + "." + field + " has no description");
            }
        }
    }

    /** Each default the schema states is the reader's: a file that spells them out loads to the same config. */
    @Test
    void defaultsInTheSchemaAreTheReadersDefaults() throws IOException {
        int checked = 0;
        for (String name : ConfigFile.fieldsBySection().keySet()) {
            Map<String, String> defaults = new LinkedHashMap<>();
            JsonNode props = section(name).path("properties");
            for (String field : names(props)) {
                JsonNode d = props.path(field).path("default");
                if (!d.isMissingNode()) {
                    defaults.put(field, Json.text(d)); // JSON scalars are YAML flow scalars
                }
            }
            if (defaults.isEmpty()) {
                continue;
            }
            Context c = context(name);
            ConfigFile plain = load("plain-" + name, c.with(Map.of()));
            ConfigFile spelled = load("spelled-" + name, c.with(defaults));
            for (RecordComponent rc : ConfigFile.class.getRecordComponents()) {
                if (!rc.getName().equals("file")) {
                    assertSame(
                            value(rc, plain),
                            value(rc, spelled),
                            name + " with the schema's defaults " + defaults + ": " + rc.getName());
                }
            }
            checked += defaults.size();
        }
        assertTrue(checked >= 20, "defaults checked: " + checked);
    }

    @Test
    void unknownFieldsInEverySectionAreRefusedByBoth() throws IOException {
        for (String name : ConfigFile.fieldsBySection().keySet()) {
            String yaml = context(name).with(Map.of("notAField", "1"));
            Path file = write("unknown-" + name, yaml);
            ConfigException e = assertThrows(ConfigException.class, () -> ConfigFile.load(file, Map.of()), name);
            assertTrue(e.getMessage().contains("unknown field"), e.getMessage());
            ConfigSchema.assertRefuses(yaml, "an unknown field in section " + name);
            // and the context itself is fine for both, so the field is what is refused
            ConfigSchema.load(write("context-" + name, context(name).with(Map.of())), Map.of());
        }
    }

    @Test
    void badValuesOfEveryClosedSetAreRefusedByBoth() throws IOException {
        int checked = 0;
        for (String name : ConfigFile.fieldsBySection().keySet()) {
            JsonNode props = section(name).path("properties");
            for (String field : names(props)) {
                List<String> values = enumValues(props.path(field));
                if (values.isEmpty()) {
                    continue;
                }
                for (String good : values) {
                    try {
                        ConfigSchema.load(write("good", context(name).with(Map.of(field, good))), Map.of());
                    } catch (ConfigException e) {
                        // refused for another reason (access: token without keys), never for the value itself
                        assertFalse(
                                e.getMessage().contains("is not one of")
                                        || e.getMessage().contains("is not true or false"),
                                e.getMessage());
                    }
                }
                String yaml = context(name).with(Map.of(field, "nope"));
                Path file = write("bad-" + name + "-" + field, yaml);
                ConfigException e = assertThrows(ConfigException.class, () -> ConfigFile.load(file, Map.of()));
                assertTrue(
                        e.getMessage().contains("is not one of")
                                || e.getMessage().contains("is not true or false"),
                        e.getMessage());
                ConfigSchema.assertRefuses(yaml, "\"nope\" as " + name + "." + field);
                checked++;
            }
        }
        assertTrue(checked >= 7, "closed sets checked: " + checked); // format, poll, access, enabled, allowCredentials
    }

    @Test
    void idsAndDurationsFollowTheReadersPatterns() throws IOException {
        Context source = context("source");
        for (String id : List.of("a", "weather-nyc", "0", "x".repeat(64))) {
            String yaml = "aggregator:\n  sources:\n    - id: \"" + id + "\"\n      url: http://h/x\n";
            ConfigSchema.load(write("id", yaml), Map.of());
        }
        for (String id : List.of("A", "-a", "a_b", "x".repeat(65), "")) {
            String yaml = "aggregator:\n  sources:\n    - id: \"" + id + "\"\n      url: http://h/x\n";
            Path file = write("id", yaml);
            assertThrows(ConfigException.class, () -> ConfigFile.load(file, Map.of()), id);
            ConfigSchema.assertRefuses(yaml, "id \"" + id + "\"");
        }
        for (String d : List.of("500ms", "30s", "5m", "1h", "1d", "PT30S", "pt1m", "P1DT2H", "${INTERVAL:-5s}")) {
            ConfigSchema.load(write("duration", source.with(Map.of("interval", "\"" + d + "\""))), Map.of());
        }
        for (String d : List.of("5x", "5", "30 sec", "S30", "")) {
            String yaml = source.with(Map.of("interval", "\"" + d + "\""));
            Path file = write("duration", yaml);
            assertThrows(ConfigException.class, () -> ConfigFile.load(file, Map.of()), d);
            ConfigSchema.assertRefuses(yaml, "interval \"" + d + "\"");
        }
    }

    /** Tests load configs through ConfigSchema, so every config a test uses is checked against the schema. */
    @Test
    void testsLoadTheirConfigsThroughTheSchemaCheck() throws IOException {
        Path root = Path.of(System.getProperty("basedir", "."), "src", "test", "java");
        Pattern configText = Pattern.compile("(?m)^\\s*aggregator:\\s*(\\\\n|$)|\"aggregator:\\\\n");
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String text = Files.readString(f);
                String name = root.relativize(f).toString();
                if (name.endsWith("ConfigSchema.java") || name.endsWith("ConfigSchemaTest.java")) {
                    continue;
                }
                if (text.contains("ConfigFile.load(")) {
                    offenders.add(name + " calls ConfigFile.load (use ConfigSchema.load)");
                }
                if (configText.matcher(text).find()
                        && !text.contains("Service.start(")
                        && !text.contains("ProcessConfig.write(") // which checks through ConfigSchema
                        && !text.contains("ConfigSchema.")) {
                    offenders.add(name + " writes config text without Service.start, ProcessConfig or ConfigSchema");
                }
            }
        }
        assertEquals(List.of(), offenders);
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private Context context(String section) {
        Context c = CONTEXTS.get(section);
        assertNotNull(c, "ConfigSchemaTest.CONTEXTS needs a minimal file for the new section " + section);
        return c;
    }

    private JsonNode resolve(String ref) {
        return schema.at(ref.substring(1));
    }

    private List<String> enumValues(JsonNode property) {
        List<String> values = new ArrayList<>();
        for (JsonNode alt : property.path("anyOf")) {
            alt.path("enum").forEach(v -> values.add(v.asText()));
        }
        property.path("enum").forEach(v -> values.add(v.asText()));
        return values;
    }

    private static TreeSet<String> names(JsonNode object) {
        TreeSet<String> names = new TreeSet<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private Path write(String name, String yaml) throws IOException {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private ConfigFile load(String name, String yaml) throws IOException {
        try {
            return ConfigSchema.load(write(name, yaml), Map.of());
        } catch (ConfigException e) {
            return fail("refused: " + e.getMessage() + "\n" + yaml);
        }
    }

    private static Object value(RecordComponent rc, Object record) {
        try {
            return rc.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Equality of config values, looking into records, lists, maps and arrays (whose equals is identity). */
    private static void assertSame(Object a, Object b, String what) {
        if (a == null || b == null) {
            assertEquals(a, b, what);
        } else if (a instanceof Record) {
            assertEquals(a.getClass(), b.getClass(), what);
            for (RecordComponent rc : a.getClass().getRecordComponents()) {
                assertSame(value(rc, a), value(rc, b), what + "." + rc.getName());
            }
        } else if (a.getClass().isArray()) {
            assertEquals(Array.getLength(a), Array.getLength(b), what);
            for (int i = 0; i < Array.getLength(a); i++) {
                assertSame(Array.get(a, i), Array.get(b, i), what + "[" + i + "]");
            }
        } else if (a instanceof List<?> la && b instanceof List<?> lb) {
            assertEquals(la.size(), lb.size(), what);
            for (int i = 0; i < la.size(); i++) {
                assertSame(la.get(i), lb.get(i), what + "[" + i + "]");
            }
        } else {
            assertEquals(a, b, what);
        }
    }
}
