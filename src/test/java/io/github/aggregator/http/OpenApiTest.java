package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import io.swagger.parser.OpenAPIParser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI 3.1 document served at {@code /openapi.json}: parsed and checked by swagger-parser, and kept true by
 * validating what a real service answers (JSON bodies and the frames of both streams) against its schemas with a JSON
 * Schema 2020-12 validator.
 */
class OpenApiTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String ADMIN = "openapi-admin-token-0123456789";

    private static String quote(double price) {
        return "{\"symbol\":\"ACME\",\"price\":" + price + ",\"notes\":\""
                + "a long text that makes a patch smaller ".repeat(4) + "\"}";
    }

    private static Service service(Upstream up, Upstream down) {
        return Service.start("""
                admin:
                  token: ${ADMIN}
                aggregator:
                  budgets:
                    - id: plenty
                      limits: [100/1s]
                  sources:
                    - id: q
                      url: %s/q
                      interval: 200ms
                      maxBackoff: 400ms
                    - id: down
                      url: %s/down
                      interval: 200ms
                      maxBackoff: 400ms
                      budget: plenty
                    - id: t
                      url: %s/t/{sym}
                      interval: 200ms
                      params:
                        sym:
                          values: [A, B]
                          default: A
                """.formatted(up.url(), down.url(), up.url()), Map.of("ADMIN", ADMIN));
    }

    /** The served document, parsed by swagger-parser without a message. */
    static JsonNode document(Service svc) throws Exception {
        HttpResponse<String> r = svc.get("/openapi.json");
        assertEquals(200, r.statusCode());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElseThrow());
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        SwaggerParseResult parsed = new OpenAPIParser().readContents(r.body(), null, options);
        assertNotNull(parsed.getOpenAPI(), "swagger-parser read it: " + parsed.getMessages());
        assertEquals(List.of(), parsed.getMessages(), "swagger-parser has nothing to say about it");
        assertEquals("3.1.0", parsed.getOpenAPI().getOpenapi());
        return Json.MAPPER.readTree(r.body());
    }

    /** A validator for {@code #/components/schemas/<name>} of {@code doc}. */
    private static Schema schema(JsonNode doc, String name) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        root.put("$ref", "#/components/schemas/" + name);
        root.set("components", Json.MAPPER.createObjectNode().set("schemas", doc.at("/components/schemas")));
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(Json.text(root), InputFormat.JSON);
    }

    private static void valid(JsonNode doc, String name, String json) {
        List<Error> errors = schema(doc, name).validate(json, InputFormat.JSON);
        assertEquals(List.of(), errors.stream().map(Error::toString).toList(), name + ": " + json);
    }

    private static void invalid(JsonNode doc, String name, String json) {
        assertTrue(!schema(doc, name).validate(json, InputFormat.JSON).isEmpty(), name + " refuses " + json);
    }

    @Test
    void theDocumentIsValidOpenApiAndEveryAnswerMatchesItsSchemas() throws Exception {
        try (Upstream up = new Upstream().json(quote(10.5));
                Upstream down = new Upstream().reply(Upstream.Reply.status(500, "text/plain", "no"));
                Service svc = service(up, down)) {
            JsonNode doc = document(svc);
            MultiplexTest.version(svc, "q");
            Await.isTrue(
                    () -> MultiplexTest.entry(svc, "down")
                                    .get("consecutiveFailures")
                                    .asInt()
                            >= 1,
                    WAIT,
                    "down failed");

            // a parametrised source: an instance's envelope, a field of one, and the template with its instances
            valid(doc, "Envelope", svc.get("/api/sources/t?sym=B").body());
            valid(
                    doc,
                    "Envelope",
                    svc.get("/api/sources/t(sym=A)?select=/price").body());
            valid(doc, "Problem", svc.get("/api/sources/t?sym=C").body());
            assertTrue(svc.get("/api/sources").body().contains("\"live\":[{"), "the template lists its instances");
            valid(doc, "SourceList", svc.get("/api/sources").body());
            valid(
                    doc,
                    "SourceList",
                    svc.get("/api/sources", "Authorization", "Bearer " + ADMIN).body());
            valid(doc, "Envelope", svc.get("/api/sources/q").body());
            valid(doc, "Envelope", svc.get("/api/sources/q?select=/price").body());
            valid(doc, "Problem", svc.get("/api/sources/nope").body());
            valid(doc, "Problem", svc.get("/api/sources/down").body()); // 503: no data yet
            valid(doc, "Problem", svc.get("/api/sources/q?select=price").body());
            valid(doc, "History", svc.get("/api/sources/q/history").body());
            valid(doc, "Health", svc.get("/observe/health").body());
            valid(doc, "Health", svc.get("/observe/health/ready").body());
            valid(doc, "Index", svc.get("/", "Accept", "application/json").body());
            HttpResponse<String> refresh = svc.client()
                    .send(
                            HttpRequest.newBuilder(svc.uri("/api/refresh"))
                                    .header("Authorization", "Bearer " + ADMIN)
                                    .POST(HttpRequest.BodyPublishers.noBody())
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertEquals(200, refresh.statusCode(), refresh.body());
            valid(doc, "RefreshResults", refresh.body());
            // and the schemas are strict enough to refuse what the service must not send
            invalid(doc, "Envelope", "{\"id\":\"q\",\"version\":1}");
            invalid(
                    doc,
                    "SourceList",
                    "{\"sources\":[{\"id\":\"q\",\"state\":\"active\",\"version\":1,"
                            + "\"stale\":false,\"subscribers\":0,\"headers\":{\"x\":\"y\"}}]}");

            // the frames of both streams, snapshot, update, patch and status, with their ids
            List<Frame> frames = new ArrayList<>();
            try (SseClient one = SseClient.open(svc.client(), svc.uri("/api/sources/q/events?delta=json-patch"));
                    SseClient many = SseClient.open(svc.client(), svc.uri("/api/events?sources=q,down,q/price"))) {
                frames.addAll(MultiplexTest.events(one, 2)); // retry, snapshot
                frames.addAll(MultiplexTest.events(many, 3)); // retry, snapshot q, status down, snapshot q/price
                up.json(quote(11.5));
                frames.addAll(MultiplexTest.events(one, 1)); // a patch
                frames.addAll(MultiplexTest.events(many, 2)); // update q, update q/price
            }
            List<String> names = frames.stream()
                    .map(f -> f.retry() != null ? "retry" : f.event())
                    .distinct()
                    .sorted()
                    .toList();
            assertEquals(List.of("patch", "retry", "snapshot", "status", "update"), names, frames.toString());
            valid(doc, "EventStream", Json.text(asJson(frames)));
            invalid(doc, "EventStream", "[{\"event\":\"update\",\"id\":\"1\",\"data\":{\"id\":\"q\"}}]");
        }
    }

    /** The frames as the {@code EventStream} schema describes them: {@code retry}, or {@code event}/{@code id}/parsed data. */
    private static ArrayNode asJson(List<Frame> frames) throws Exception {
        ArrayNode out = Json.MAPPER.createArrayNode();
        for (Frame f : frames) {
            ObjectNode n = out.addObject();
            if (f.retry() != null) {
                n.put("retry", Long.parseLong(f.retry()));
                continue;
            }
            n.put("event", f.event());
            if (f.id() != null) {
                n.put("id", f.id());
            }
            n.set("data", Json.MAPPER.readTree(f.data()));
        }
        return out;
    }
}
