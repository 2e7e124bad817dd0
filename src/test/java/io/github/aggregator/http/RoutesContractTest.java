package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.testing.RouteRecorder;
import io.github.aggregator.testing.Service;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every route the service registers is described in {@code /openapi.json}, and every operation described there is a
 * route the service registers: the routes are read from the very routing the running service was built with.
 */
class RoutesContractTest {
    private static final List<String> METHODS = List.of("get", "head", "post", "put", "delete", "patch", "options");

    @Test
    void theDocumentDescribesExactlyTheRegisteredRoutes() throws Exception {
        try (Service svc = Service.start("""
                admin:
                  token: ${ADMIN}
                aggregator:
                  sources:
                    - id: clock
                      url: /demo/clock
                """, Map.of("ADMIN", "routes-admin-token-0123456789"))) {
            RouteRecorder recorder = new RouteRecorder();
            svc.app().routing(recorder);
            Set<String> registered = recorder.routes();

            JsonNode doc = OpenApiTest.document(svc);
            Set<String> described = new TreeSet<>();
            doc.get("paths").properties().forEach(path -> {
                for (String m : METHODS) {
                    if (path.getValue().has(m)) {
                        described.add(m.toUpperCase(Locale.ROOT) + " " + path.getKey());
                    }
                }
            });

            Set<String> undescribed = new TreeSet<>(registered);
            undescribed.removeAll(described);
            Set<String> missing = new TreeSet<>(described);
            missing.removeAll(registered);
            assertEquals(Set.of(), undescribed, "registered but not in openapi.json");
            assertEquals(Set.of(), missing, "in openapi.json but not registered");
            assertTrue(registered.size() > 20, "the recorder saw the routes: " + registered);
            assertTrue(recorder.catchAll(), "the JSON 404 / 405 for every other path");
        }
    }
}
