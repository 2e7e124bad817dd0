package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.Upstream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Hot reload of a config file mounted from a Kubernetes ConfigMap. The kubelet never writes the mounted file: the
 * volume holds a timestamped directory with the files, a {@code ..data} symlink to that directory, and per key a
 * symlink {@code application.yaml -> ..data/application.yaml}. An update writes a new timestamped directory, points a
 * {@code ..data_tmp} symlink at it, renames that over {@code ..data} (one atomic step) and deletes the old directory.
 * This test builds that layout in a temp dir, runs the real service on the key's symlink and swaps it the same way.
 */
class ConfigMapReloadTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** A ConfigMap volume, laid out and updated as the kubelet's atomic writer does. */
    private static final class ConfigMapVolume {
        private final Path dir;
        private int generation;
        private Path current;

        ConfigMapVolume(Path dir, String yaml) throws IOException {
            this.dir = dir;
            this.current = payload(yaml);
            Files.createSymbolicLink(dir.resolve("..data"), dir.relativize(current));
            Files.createSymbolicLink(dir.resolve("application.yaml"), Path.of("..data", "application.yaml"));
        }

        Path file() {
            return dir.resolve("application.yaml");
        }

        /** A new timestamped directory with the content, then the atomic swap of ..data, then the old one removed. */
        void update(String yaml) throws IOException {
            Path next = payload(yaml);
            Path tmp = dir.resolve("..data_tmp");
            Files.createSymbolicLink(tmp, dir.relativize(next));
            Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (Stream<Path> old = Files.walk(current)) {
                for (Path p : old.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
            current = next;
            ConfigSchema.check(file(), Map.of()); // what the running service is about to read, against the schema
        }

        private Path payload(String yaml) throws IOException {
            Path d = dir.resolve("..2026_12_01_21_00_00." + String.format("%09d", ++generation));
            Files.createDirectory(d);
            Files.writeString(d.resolve("application.yaml"), yaml, StandardCharsets.UTF_8);
            return d;
        }
    }

    private static String config(Upstream up, String... ids) {
        StringBuilder sb = new StringBuilder("server:\n  port: 0\n  host: 127.0.0.1\naggregator:\n  sources:\n");
        for (String id : ids) {
            sb.append("    - id: ")
                    .append(id)
                    .append("\n      url: ")
                    .append(up.url())
                    .append('/')
                    .append(id);
            sb.append("\n      interval: 300ms\n");
        }
        return sb.toString();
    }

    private static JsonNode list(Service svc) throws IOException {
        return Json.MAPPER.readTree(svc.get("/api/sources").body());
    }

    private static List<String> ids(Service svc) throws IOException {
        List<String> ids = new ArrayList<>();
        list(svc).get("sources").forEach(s -> ids.add(s.get("id").asText()));
        return ids;
    }

    @Test
    void aConfigMapUpdateBySymlinkSwapIsPutInForce() throws Exception {
        try (Upstream up = new Upstream().json("{\"ok\":true}")) {
            ConfigMapVolume volume = new ConfigMapVolume(Files.createTempDirectory("configmap"), config(up, "a"));
            assertTrue(Files.isSymbolicLink(volume.file()));
            try (Service svc = Service.onFile(volume.file(), Map.of())) {
                Await.isTrue(() -> svc.get("/api/sources/a").statusCode() == 200, WAIT, "a serves");

                volume.update(config(up, "a", "b"));
                Await.isTrue(() -> svc.get("/api/sources/b").statusCode() == 200, WAIT, "b, added by the swap, serves");
                assertEquals(List.of("a", "b"), ids(svc));

                // a broken update keeps the running config and says why; the next good one is put in force
                volume.update("aggregator:\n  sources: [\n");
                Await.isTrue(() -> list(svc).has("configError"), WAIT, "the broken update is reported");
                assertEquals(List.of("a", "b"), ids(svc), "the running config stays in force");
                assertEquals(200, svc.get("/api/sources/b").statusCode());

                volume.update(config(up, "a", "c"));
                Await.isTrue(() -> ids(svc).equals(List.of("a", "c")), WAIT, "c replaces b");
                Await.isTrue(() -> svc.get("/api/sources/c").statusCode() == 200, WAIT, "c serves");
                assertFalse(list(svc).has("configError"), list(svc).toString());
                assertEquals(404, svc.get("/api/sources/b").statusCode());
            }
        }
    }
}
