package io.github.aggregator.testing;

import io.github.aggregator.app.Main;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The service's command line run in a JVM of its own, as a user runs it (same JDK and class path as the tests). */
public final class MainProcess {
    private MainProcess() {}

    /**
     * {@code java -cp <test class path> Main args...}, with none of the variables the service reads ({@code
     * AGGREGATOR_CONFIG}, {@code PORT}, {@code REDIS_URL}) inherited from the environment the tests run in, and with a
     * new temporary data directory ({@code AGGREGATOR_DATA_DIR}).
     */
    public static ProcessBuilder builder(String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("AGGREGATOR_CONFIG");
        pb.environment().remove("PORT");
        pb.environment().remove("REDIS_URL");
        try {
            // a durable store of its own, never the working directory's; a test may set another
            pb.environment()
                    .put(
                            "AGGREGATOR_DATA_DIR",
                            java.nio.file.Files.createTempDirectory("aggregator-data")
                                    .toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return pb;
    }
}
