package io.github.aggregator.http;

import static io.github.aggregator.http.MultiplexTest.WAIT;
import static io.github.aggregator.http.MultiplexTest.assertNoEventUntil;
import static io.github.aggregator.http.MultiplexTest.awaitTrue;
import static io.github.aggregator.http.MultiplexTest.cursor;
import static io.github.aggregator.http.MultiplexTest.events;
import static io.github.aggregator.http.MultiplexTest.hitsGrow;
import static io.github.aggregator.http.MultiplexTest.parse;
import static io.github.aggregator.http.MultiplexTest.source;
import static io.github.aggregator.http.PollingTest.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.flipkart.zjsonpatch.JsonPatch;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Service;
import io.github.aggregator.testing.SseClient;
import io.github.aggregator.testing.SseClient.Frame;
import io.github.aggregator.testing.Upstream;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code ?delta=json-patch}: after the first snapshot, changes arrive as RFC 6902 patches that a client applies to its
 * own copy; that copy must equal what {@code GET /api/sources/{id}} serves, version by version.
 */
class DeltaTest {
    private static final int EDITS = 15;
    private static final String[] TAGS = {"new", "sale", "bio", "régional", "日本", "✓"};

    /** What a client holds of one source: the data and the version it is at. */
    private static final class Copy {
        JsonNode data;
        long version;
    }

    @Test
    void singleSourcePatchesReproduceEveryVersion() throws Exception {
        long seed = new Random().nextLong();
        Random r = new Random(seed);
        ObjectNode doc = bigDocument(r);
        try (Upstream up = new Upstream().json(Json.text(doc));
                Service svc = Service.start(yaml(source("doc", up.url(), "")))) {
            MultiplexTest.version(svc, "doc");
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/sources/doc/events?delta=json-patch"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                Copy copy = new Copy();
                Frame snapshot = sse.nextEvent(WAIT);
                assertNotNull(snapshot);
                assertEquals("snapshot", snapshot.event(), "a whole snapshot first");
                take(copy, snapshot, "doc");
                assertServed(svc, "doc", copy, "seed " + seed);

                for (int k = 1; k <= EDITS; k++) {
                    String why = "seed " + seed + ", edit " + k;
                    doc = edited(r, doc);
                    up.json(Json.text(doc));
                    Frame f = sse.nextEvent(WAIT);
                    assertNotNull(f, "nothing for " + why);
                    assertEquals("patch", f.event(), "a small edit of a big document is a patch: " + why);
                    assertEquals(copy.version + 1, f.version(), why);
                    applyPatch(copy, f, "doc", why);
                    assertEquals(doc, copy.data, "the copy is the upstream's document, " + why);
                    assertServed(svc, "doc", copy, why);
                }

                // a change whose patch is larger than the new data: the new data whole, as an update
                JsonNode tiny = Json.MAPPER.readTree("{\"z\":1}");
                up.json(Json.text(tiny));
                Frame update = sse.nextEvent(WAIT);
                assertNotNull(update);
                assertEquals("update", update.event(), update.toString());
                assertEquals(copy.version + 1, parse(update).get("version").asLong());
                take(copy, update, "doc");
                assertEquals(tiny, copy.data);
                assertServed(svc, "doc", copy, "after the update");

                // and patches again, from the version the update brought
                ObjectNode big = bigDocument(r);
                up.json(Json.text(big));
                take(copy, sse.nextEvent(WAIT), "doc");
                big.put("added", "after an update");
                up.json(Json.text(big));
                Frame patch = sse.nextEvent(WAIT);
                assertNotNull(patch);
                assertEquals("patch", patch.event(), patch.toString());
                applyPatch(copy, patch, "doc", "after an update");
                assertEquals(big, copy.data);
                assertServed(svc, "doc", copy, "after an update");
            }
        }
    }

    @Test
    void multiplexedPatchesReproduceEveryVersionOfEverySource() throws Exception {
        long seed = new Random().nextLong();
        Random r = new Random(seed);
        Map<String, ObjectNode> docs = new HashMap<>(Map.of("x", bigDocument(r), "y", bigDocument(r)));
        try (Upstream x = new Upstream().json(Json.text(docs.get("x")));
                Upstream y = new Upstream().json(Json.text(docs.get("y")));
                Service svc =
                        Service.start(yaml(source("x", x.url(), "") + source("y", y.url(), ""), "historySize: 16"))) {
            Map<String, Upstream> ups = Map.of("x", x, "y", y);
            MultiplexTest.version(svc, "x");
            MultiplexTest.version(svc, "y");
            Map<String, Copy> copies = Map.of("x", new Copy(), "y", new Copy());
            String lastId;
            try (SseClient sse = SseClient.open(svc.client(), svc.uri("/api/events?sources=x,y&delta=json-patch"))) {
                assertEquals(200, sse.status());
                assertNotNull(sse.next(WAIT).retry());
                for (Frame f : events(sse, 2)) {
                    assertEquals("snapshot", f.event(), f.toString());
                    take(
                            copies.get(parse(f).get("id").asText()),
                            f,
                            parse(f).get("id").asText());
                }
                Frame last = null;
                for (int k = 1; k <= EDITS; k++) {
                    String id = r.nextBoolean() ? "x" : "y";
                    String why = "seed " + seed + ", edit " + k + " of " + id;
                    docs.put(id, edited(r, docs.get(id)));
                    ups.get(id).json(Json.text(docs.get(id)));
                    last = sse.nextEvent(WAIT);
                    assertNotNull(last, "nothing for " + why);
                    assertEquals("patch", last.event(), why);
                    applyPatch(copies.get(id), last, id, why);
                    assertEquals(
                            Map.of("x", copies.get("x").version, "y", copies.get("y").version),
                            cursor(last, "x", "y"),
                            why);
                    assertEquals(docs.get(id), copies.get(id).data, why);
                    assertServed(svc, id, copies.get(id), why);
                }
                lastId = last.id();
            }

            // away for three changes of y; x unchanged: on resume, y's patches chain from the cursor, x is quiet
            long before = copies.get("y").version;
            for (int k = 1; k <= 3; k++) {
                docs.put("y", edited(r, docs.get("y")));
                y.json(Json.text(docs.get("y")));
                long expected = before + k;
                awaitTrue(() -> MultiplexTest.version(svc, "y") == expected, "version " + expected + " of y");
            }
            try (SseClient sse = SseClient.open(
                    svc.client(),
                    svc.uri("/api/events?sources=x,y&delta=json-patch&lastEventId="
                            + URLEncoder.encode(lastId, StandardCharsets.UTF_8)))) {
                assertNotNull(sse.next(WAIT).retry());
                for (Frame f : events(sse, 3)) {
                    assertEquals("patch", f.event(), "seed " + seed + ": " + f);
                    applyPatch(copies.get("y"), f, "y", "resume, seed " + seed);
                }
                assertEquals(docs.get("y"), copies.get("y").data, "seed " + seed);
                assertServed(svc, "y", copies.get("y"), "resume, seed " + seed);
                assertNoEventUntil(sse, hitsGrow(x, 3));
            }
        }
    }

    @Test
    void resumeWithDeltaReplaysPatchesChainedFromTheResumedVersion() throws Exception {
        long seed = new Random().nextLong();
        Random r = new Random(seed);
        ObjectNode doc = bigDocument(r);
        try (Upstream up = new Upstream().json(Json.text(doc));
                Service svc = Service.start(yaml(source("doc", up.url(), "")))) {
            MultiplexTest.version(svc, "doc");
            String path = "/api/sources/doc/events?delta=json-patch";
            Copy copy = new Copy();
            try (SseClient sse = SseClient.open(svc.client(), svc.uri(path))) {
                assertNotNull(sse.next(WAIT).retry());
                take(copy, sse.nextEvent(WAIT), "doc");
            }
            long resumed = copy.version;
            JsonNode resumedData = copy.data;
            for (int k = 1; k <= 4; k++) {
                doc = edited(r, doc);
                up.json(Json.text(doc));
                long expected = resumed + k;
                awaitTrue(() -> MultiplexTest.version(svc, "doc") == expected, "version " + expected);
            }
            try (SseClient sse =
                    SseClient.open(svc.client(), svc.uri(path), "Last-Event-ID", idOf(resumed, resumedData))) {
                assertNotNull(sse.next(WAIT).retry());
                List<Frame> replay = events(sse, 4);
                for (Frame f : replay) {
                    assertEquals("patch", f.event(), "seed " + seed + ": " + f);
                    applyPatch(copy, f, "doc", "seed " + seed);
                }
                assertEquals(resumed + 4, copy.version);
                assertEquals(doc, copy.data, "seed " + seed);
                assertServed(svc, "doc", copy, "seed " + seed);

                // resumed at the current version: nothing, then the next change as a patch from it
                doc = edited(r, doc);
                up.json(Json.text(doc));
                Frame next = sse.nextEvent(WAIT);
                assertNotNull(next);
                applyPatch(copy, next, "doc", "seed " + seed);
            }
            try (SseClient sse =
                    SseClient.open(svc.client(), svc.uri(path), "Last-Event-ID", idOf(copy.version, copy.data))) {
                assertNotNull(sse.next(WAIT).retry());
                assertNoEventUntil(sse, hitsGrow(up, 3));
                doc = edited(r, doc);
                up.json(Json.text(doc));
                Frame next = sse.nextEvent(WAIT);
                assertNotNull(next);
                assertEquals("patch", next.event(), next.toString());
                applyPatch(copy, next, "doc", "seed " + seed);
                assertEquals(doc, copy.data, "seed " + seed);
            }
        }
    }

    @Test
    void aSmallValueThatChangesWhollyIsSentAsAnUpdate() throws Exception {
        try (Upstream up = new Upstream().json("{\"s\":\"abc\"}");
                Service svc = Service.start(yaml(source("word", up.url(), "      select: /s\n")))) {
            MultiplexTest.version(svc, "word");
            for (String path : List.of("/api/sources/word/events?delta=json-patch", "/api/events?delta=json-patch")) {
                up.json("{\"s\":\"abc\"}");
                awaitTrue(() -> svc.get("/api/sources/word").body().contains("\"abc\""), "abc served");
                try (SseClient sse = SseClient.open(svc.client(), svc.uri(path))) {
                    assertNotNull(sse.next(WAIT).retry());
                    Copy copy = new Copy();
                    take(copy, sse.nextEvent(WAIT), "word");
                    assertEquals("abc", copy.data.asText());
                    for (String word : List.of("xyz", "klm")) {
                        up.json("{\"s\":\"" + word + "\"}");
                        Frame f = sse.nextEvent(WAIT);
                        assertNotNull(f, path);
                        assertEquals("update", f.event(), "a patch would be larger than \"" + word + "\": " + f);
                        assertEquals(copy.version + 1, parse(f).get("version").asLong(), f.toString());
                        take(copy, f, "word");
                        assertEquals(word, copy.data.asText());
                        assertServed(svc, "word", copy, path);
                    }
                }
            }
        }
    }

    @Test
    void anotherDeltaIsA400() throws Exception {
        try (Upstream up = new Upstream().json("{\"a\":1}");
                Service svc = Service.start(yaml(source("doc", up.url(), "")))) {
            for (String path : List.of("/api/sources/doc/events", "/api/events", "/api/events?sources=doc")) {
                for (String delta : List.of("other", "", "merge-patch")) {
                    String sep = path.contains("?") ? "&" : "?";
                    HttpResponse<String> res = MultiplexTest.refusal(svc, path + sep + "delta=" + delta);
                    assertProblem(res, 400);
                    assertTrue(res.body().contains("json-patch"), res.body());
                }
            }
        }
    }

    // ---- helpers

    private static String yaml(String sources, String... settings) {
        StringBuilder sb = new StringBuilder("aggregator:\n");
        for (String s : settings) {
            sb.append("  ").append(s).append('\n');
        }
        return sb.append("  sources:\n").append(sources).toString();
    }

    /** Takes a snapshot or update: the envelope's data whole. */
    private static void take(Copy copy, Frame f, String id) {
        assertNotNull(f, "no event");
        assertTrue(f.event().equals("snapshot") || f.event().equals("update"), f.toString());
        JsonNode envelope = parse(f);
        assertEquals(id, envelope.get("id").asText(), f.toString());
        copy.version = envelope.get("version").asLong();
        copy.data = envelope.get("data");
    }

    /** The event id of {@code version} holding {@code data}. */
    private static String idOf(long version, JsonNode data) {
        return version + "-" + Json.hash(data).substring(0, 12);
    }

    /** Applies a patch event to the copy, checking that it names the source and chains from the copy's version. */
    private static void applyPatch(Copy copy, Frame f, String id, String why) {
        assertEquals("patch", f.event(), why + ": " + f);
        JsonNode event = parse(f);
        Set<String> names = new HashSet<>();
        event.fieldNames().forEachRemaining(names::add);
        assertEquals(Set.of("id", "version", "baseVersion", "patch"), names, why + ": " + f.data());
        assertEquals(id, event.get("id").asText(), why);
        assertEquals(copy.version, event.get("baseVersion").asLong(), "the patch chains from the copy: " + why);
        assertEquals(copy.version + 1, event.get("version").asLong(), why);
        assertTrue(event.get("patch").isArray(), why);
        copy.data = JsonPatch.apply(event.get("patch"), copy.data);
        copy.version++;
        if (!f.id().contains(":")) {
            assertEquals(
                    idOf(copy.version, copy.data), f.id(), "the event id names the version and its content: " + why);
        }
    }

    /** The copy is exactly what {@code GET /api/sources/{id}} serves, version and data. */
    private static void assertServed(Service svc, String id, Copy copy, String why) throws Exception {
        HttpResponse<String> r = svc.get("/api/sources/" + id);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode served = Json.MAPPER.readTree(r.body());
        assertEquals(copy.version, served.get("version").asLong(), why);
        assertEquals(served.get("data"), copy.data, why);
    }

    /** About 5 KiB: forty items with nested tags, and a little metadata. */
    private static ObjectNode bigDocument(Random r) {
        ObjectNode doc = Json.MAPPER.createObjectNode();
        ArrayNode items = doc.putArray("items");
        for (int i = 0; i < 40; i++) {
            items.add(item(r, i));
        }
        ObjectNode meta = doc.putObject("meta");
        meta.put("title", "Katalog — Überblick ✓ " + r.nextInt(1000));
        meta.put("count", 40);
        meta.put("currency", "EUR");
        return doc;
    }

    private static ObjectNode item(Random r, int id) {
        ObjectNode item = Json.MAPPER.createObjectNode();
        item.put("id", id);
        item.put("name", "item " + id + " " + Long.toHexString(r.nextLong()));
        item.put("price", r.nextInt(100_000) / 100.0);
        item.put("stock", r.nextInt(50));
        item.put("active", r.nextBoolean());
        ArrayNode tags = item.putArray("tags");
        for (int t = r.nextInt(4); t > 0; t--) {
            tags.add(TAGS[r.nextInt(TAGS.length)]);
        }
        return item;
    }

    /** A copy of {@code doc} with one to three random small edits, different from {@code doc}. */
    private static ObjectNode edited(Random r, ObjectNode doc) {
        ObjectNode copy = doc.deepCopy();
        do {
            for (int e = 1 + r.nextInt(3); e > 0; e--) {
                edit(r, copy);
            }
        } while (copy.equals(doc));
        return copy;
    }

    private static void edit(Random r, ObjectNode doc) {
        ArrayNode items = (ArrayNode) doc.get("items");
        int i = items.isEmpty() ? 0 : r.nextInt(items.size());
        switch (items.isEmpty() ? 1 : r.nextInt(9)) {
            case 0 -> ((ObjectNode) items.get(i)).put("price", r.nextInt(100_000) / 100.0);
            case 1 -> items.insert(items.isEmpty() ? 0 : r.nextInt(items.size() + 1), item(r, 100 + r.nextInt(900)));
            case 2 -> items.remove(i);
            case 3 -> ((ObjectNode) items.get(i)).put("name", "umbenannt ✎ " + r.nextInt(1000));
            case 4 -> ((ArrayNode) items.get(i).get("tags")).add(TAGS[r.nextInt(TAGS.length)]);
            case 5 -> {
                ArrayNode tags = (ArrayNode) items.get(i).get("tags");
                if (!tags.isEmpty()) {
                    tags.remove(r.nextInt(tags.size()));
                }
            }
            case 6 -> {
                // a type change
                JsonNode count = doc.get("meta").get("count");
                ((ObjectNode) doc.get("meta")).put("count", count.isNumber() ? "many" : null);
                if (count.isNull()) {
                    ((ObjectNode) doc.get("meta")).put("count", items.size());
                }
            }
            case 7 -> {
                if (doc.has("note")) {
                    doc.remove("note");
                } else {
                    doc.putObject("note").put("text", "neu: " + r.nextInt(1000)).put("level", r.nextInt(3));
                }
            }
            default -> {
                int j = r.nextInt(items.size());
                JsonNode t = items.get(i);
                items.set(i, items.get(j));
                items.set(j, t);
            }
        }
    }
}
