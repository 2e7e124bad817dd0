package io.github.aggregator.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A config file for a {@link ServiceProcess}, in a new temporary directory of its own (beside which the process's
 * output and, by the tests' habit, its data directory go): a loopback server on a port the process is given through
 * {@code PORT}, then the text given, checked against the config's schema.
 */
public final class ProcessConfig {
    private ProcessConfig() {}

    /**
     * Writes {@code application.yaml} in a new temporary directory named after {@code prefix}.
     *
     * @param yaml the file's sections after {@code server} ({@code aggregator:}, {@code admin:}, ...)
     * @return the file
     */
    public static Path write(String prefix, String yaml) throws IOException {
        Path file = Files.createTempDirectory(prefix).resolve("application.yaml");
        Files.writeString(file, "server:\n  port: 0\n  host: 127.0.0.1\n" + yaml);
        ConfigSchema.check(file, Map.of());
        return file;
    }
}
