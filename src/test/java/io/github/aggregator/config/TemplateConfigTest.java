package io.github.aggregator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceTemplate;
import io.github.aggregator.testing.ConfigSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code params} of a parametrised source as the config file gives them, and every way to get them wrong. */
class TemplateConfigTest {
    @TempDir
    Path dir;

    private static String source(String url, String params) {
        return "aggregator:\n  sources:\n    - id: weather\n      url: " + url + "\n      interval: 60s\n" + params;
    }

    private static final String CITY = "      params:\n        city:\n          values: [NYC, London]\n";

    @Test
    void aTemplateIsReadWithItsRulesAndDefaults() throws IOException {
        ConfigFile c = ConfigSchema.load(
                write(source(
                        "https://api.example.com/v1/{kind}/forecast?city={city}",
                        "      params:\n        city:\n          values: [NYC, London]\n          default: NYC\n"
                                + "        kind:\n          pattern: \"[a-z]{1,10}\"\n      maxKeys: 7\n")),
                Map.of());
        assertTrue(c.aggregator().sources().isEmpty(), "a template is not a plain source");
        SourceTemplate t = c.aggregator().templates().get(0);
        assertEquals("weather", t.id());
        assertEquals(7, t.maxKeys());
        assertEquals("NYC", t.params().get(0).dflt());
        assertEquals("[a-z]{1,10}", t.params().get(1).pattern());
        SourceTemplate.Instance i = (SourceTemplate.Instance) t.resolve(Map.of("kind", "daily"));
        assertEquals("weather(city=NYC;kind=daily)", i.id());
        assertEquals(
                "https://api.example.com/v1/daily/forecast?city=NYC",
                i.config().url().toString());
        ConfigFile d = ConfigSchema.load(write(source("https://x.example/{city}", CITY)), Map.of());
        assertEquals(100, d.aggregator().templates().get(0).maxKeys(), "maxKeys defaults to 100");
    }

    @Test
    void badTemplatesAreRefusedInOneLineNamingFileLineSourceAndField() throws IOException {
        refused(source("https://x.example/?city={city}&u={units}", CITY), "url", "placeholder {units} has no entry");
        refused(source("https://x.example/forecast", CITY), "params.city", "has no {city} placeholder in the url");
        refused(
                source("https://{city}.example/", CITY),
                "url",
                "placeholder {city} may stand only in the path or the query");
        refused(source("https://x.example/{city", CITY), "url", "unmatched");
        refused(
                source("https://x.example/?c={city}", "      params:\n        city:\n          default: NYC\n"),
                "params.city",
                "needs exactly one of values");
        refused(
                source("https://x.example/?c={city}", "      params:\n        city:\n          pattern: \"[a-z\"\n"),
                "params.city.pattern",
                "is not a valid regular expression");
        refused(
                source(
                        "https://x.example/?c={city}",
                        "      params:\n        city:\n          values: [NYC]\n          default: Paris\n"),
                "params.city.default",
                "is not an allowed value");
        refused(source("https://x.example/?c={city}", "      poll: always\n"), "url", "has a placeholder");
        refused(source("https://x.example/?c={city}", CITY + "      maxKeys: 0\n"), "maxKeys", "between 1 and");
        refused(source("https://x.example/?c={city}", CITY + "      poll: always\n"), "poll", "on demand");
        refused(source("https://x.example/", "      maxKeys: 5\n"), "maxKeys", "needs params");
        ConfigException e = refused(
                source("https://x.example/?c={city}", "      params:\n        city:\n          valuez: [NYC]\n"),
                "valuez",
                "unknown field in parameter");
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    /** A template over cities and units (default metric), a plain source, and a combined source listing {@code parts}. */
    private static String combining(String parts, String templateExtra) {
        return "aggregator:\n  sources:\n"
                + "    - id: weather\n      url: https://x.example/?c={city}&u={units}\n      interval: 60s\n"
                + "      params:\n        city:\n          values: [NYC, London, New York]\n"
                + "        units:\n          values: [metric, imperial]\n          default: metric\n"
                + templateExtra
                + "    - id: plain\n      url: https://x.example/plain\n"
                + "    - id: board\n      combine: " + parts + "\n";
    }

    @Test
    void aCombinedSourceNamesInstancesInAnyFormAndKeepsTheirCanonicalNames() throws IOException {
        ConfigFile c = ConfigSchema.load(
                write(combining(
                        "[\"weather(units=imperial;city=NYC)\", \"weather(city=New York)\", "
                                + "\"weather(city=London;units=metric)\", plain]",
                        "")),
                Map.of());
        SourceConfig board = c.aggregator().sources().stream()
                .filter(s -> s.id().equals("board"))
                .findFirst()
                .orElseThrow();
        assertEquals(
                List.of(
                        "weather(city=NYC;units=imperial)",
                        "weather(city=New%20York;units=metric)",
                        "weather(city=London;units=metric)",
                        "plain"),
                board.combine());
    }

    @Test
    void aCombinedSourceNamingABadInstanceIsRefusedInOneLine() throws IOException {
        refusedCombine(combining("[\"weather(city=Paris)\"]", ""), "\"city\" must be one of NYC, London, New York");
        refusedCombine(combining("[\"weather(city=NYC;zone=1)\"]", ""), "unknown parameter \"zone\"");
        refusedCombine(combining("[\"weather(units=metric)\"]", ""), "parameter \"city\" is required");
        refusedCombine(combining("[weather]", ""), "has params: name one instance");
        refusedCombine(combining("[\"plain(x=1)\"]", ""), "source \"plain\" takes no parameters");
        refusedCombine(combining("[\"nothing(city=NYC)\"]", ""), "unknown source \"nothing\"");
        refusedCombine(combining("[\"weather(city=NYC\"]", ""), "an instance is written id(name=value;...)");
        refusedCombine(
                combining("[\"weather(city=NYC)\", \"weather(units=metric;city=NYC)\"]", ""),
                "lists \"weather(city=NYC;units=metric)\" twice");
        refusedCombine(
                combining("[\"weather(city=NYC)\", \"weather(city=London)\"]", "      maxKeys: 1\n"),
                "more instances of \"weather\" than its maxKeys (1)");
        refusedCombine(combining("[\"weather(city=NYC)\"]", "      enabled: false\n"), "\"weather\" is disabled");
    }

    private void refusedCombine(String yaml, String reason) throws IOException {
        Path file = write(yaml);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of()), yaml);
        assertEquals("board", e.source(), e.getMessage());
        assertEquals("combine", e.field(), e.getMessage());
        assertTrue(e.reason().contains(reason), e.getMessage());
        assertTrue(e.line() > 0, e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private ConfigException refused(String yaml, String field, String reason) throws IOException {
        Path file = write(yaml);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of()));
        assertEquals(file.toString(), e.file(), e.getMessage());
        assertEquals("weather", e.source(), e.getMessage());
        assertTrue(e.field().startsWith(field), e.getMessage());
        assertTrue(e.reason().contains(reason), e.getMessage());
        assertTrue(e.line() > 0, e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    private Path write(String yaml) throws IOException {
        Path file = dir.resolve("application.yaml");
        Files.writeString(file, yaml);
        return file;
    }
}
