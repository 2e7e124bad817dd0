package io.github.aggregator.testing;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.AnnotationKeyword;
import io.github.aggregator.config.ConfigException;
import io.github.aggregator.config.ConfigFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The config file's JSON Schema ({@code config/aggregator.schema.json}), checked against every config the tests load:
 * tests load config files through {@link #load} (or {@link #check} for a file another process reads), so a config the
 * service accepts but the schema refuses fails the test that uses it, and so does a config the service refuses for an
 * unknown field or a bad value of a closed set that the schema lets through.
 */
public final class ConfigSchema {
    /** The schema file, relative to the project's root. */
    public static final Path FILE = Path.of("config", "aggregator.schema.json");

    /**
     * Refusal reasons that a schema sees in the text alone (unless a value comes from the environment). Malformed
     * durations and numbers are not among them: an overflow ({@code 9223372036854775807h}) is one too.
     */
    private static final List<String> SCHEMA_VISIBLE =
            List.of("unknown field", "is not one of", "is not true or false");

    private static final Schema SCHEMA = read();

    private ConfigSchema() {}

    private static Schema read() {
        try {
            Path file = Path.of(System.getProperty("basedir", ".")).resolve(FILE);
            // patternErrorMessage: the message editors (yaml-language-server) show for a pattern; no validation
            Dialect dialect = Dialect.builder(Dialects.getDraft202012())
                    .keyword(new AnnotationKeyword("patternErrorMessage"))
                    .build();
            return SchemaRegistry.withDialect(dialect).getSchema(Files.readString(file), InputFormat.JSON);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The schema's complaints about {@code yaml}, one line each; empty when it validates. */
    public static List<String> problems(String yaml) {
        return SCHEMA.validate(yaml, InputFormat.YAML).stream()
                .map(Error::toString)
                .toList();
    }

    /** Fails unless the schema accepts {@code yaml}. */
    public static void assertAccepts(String yaml, String what) {
        List<String> problems = problems(yaml);
        if (!problems.isEmpty()) {
            throw new AssertionError("the service accepts " + what + " but " + FILE + " refuses it: " + problems
                    + "\n--- config ---\n" + yaml);
        }
    }

    /** Fails unless the schema refuses {@code yaml}. */
    public static void assertRefuses(String yaml, String what) {
        if (problems(yaml).isEmpty()) {
            throw new AssertionError(FILE + " accepts " + what + "\n--- config ---\n" + yaml);
        }
    }

    /**
     * {@link ConfigFile#load}, and the schema's verdict on the same text: it must accept what the service accepts, and
     * refuse what the service refuses for a reason visible in the text (an unknown field, a value outside a closed set,
     * a malformed boolean) when no {@code ${VAR}} is involved.
     *
     * @throws ConfigException as {@link ConfigFile#load} does
     */
    public static ConfigFile load(Path file, Map<String, String> env) {
        String yaml;
        try {
            yaml = Files.readString(file);
        } catch (IOException e) {
            return ConfigFile.load(file, env); // unreadable: the service's own error is the subject
        }
        ConfigFile config;
        try {
            config = ConfigFile.load(file, env);
        } catch (ConfigException e) {
            String m = e.getMessage();
            if (!yaml.contains("${") && SCHEMA_VISIBLE.stream().anyMatch(m::contains)) {
                assertRefuses(yaml, "a config the service refuses with \"" + m + "\"");
            }
            throw e;
        }
        assertAccepts(yaml, "a config");
        return config;
    }

    /** {@link #load} for a config file that another process (or a reload) reads: whatever the service says of it. */
    public static void check(Path file, Map<String, String> env) {
        try {
            load(file, env);
        } catch (ConfigException e) {
            // refused by the service: load has checked the schema refuses it too where it can see why
        }
    }
}
