package io.github.aggregator.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.observe.Health;
import io.github.aggregator.source.Json;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerResponse;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code GET /observe/health} (every check), {@code /observe/health/live} and {@code /observe/health/ready}: {@code
 * 200} with {@code "status": "UP"}, or {@code 503} with {@code "status": "DOWN"}, and each check's name, status and
 * details. Never cached.
 */
public final class HealthService implements HttpService {
    private final Health health;

    public HealthService(Health health) {
        this.health = health;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", (req, res) -> send(res, health::all))
                .get("/live", (req, res) -> send(res, health::live))
                .get("/ready", (req, res) -> send(res, health::ready));
    }

    private static void send(ServerResponse res, Supplier<Health.Report> probe) {
        Health.Report report = probe.get();
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("status", report.status().name());
        ArrayNode checks = body.putArray("checks");
        for (Health.Entry e : report.checks()) {
            ObjectNode c = checks.addObject();
            c.put("name", e.name());
            c.put("status", e.result().status().name());
            if (!e.result().details().isEmpty()) {
                ObjectNode details = c.putObject("details");
                for (Map.Entry<String, Object> d : e.result().details().entrySet()) {
                    details.set(d.getKey(), Json.MAPPER.valueToTree(d.getValue()));
                }
            }
        }
        res.status(report.status() == Health.Status.UP ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        res.send(Json.bytes(body));
    }
}
