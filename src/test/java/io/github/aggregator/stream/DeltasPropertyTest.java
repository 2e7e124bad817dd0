package io.github.aggregator.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.flipkart.zjsonpatch.DiffFlags;
import com.flipkart.zjsonpatch.JsonDiff;
import com.flipkart.zjsonpatch.JsonPatch;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link Deltas#patch} over many random documents and random edits: a patch, when there is one, turns the base data
 * into exactly the target data and names the right versions; when there is none, a patch really would not have been
 * smaller than the data.
 *
 * <p>Patches are applied by a strict RFC 6902 / RFC 6901 applier in this file rather than by zjsonpatch's {@code
 * JsonPatch.apply}, which decodes {@code ~01} as {@code /} instead of {@code ~1} (zjsonpatch issue #82, still in
 * 0.4.16) and so fails on keys such as {@code "~1"}, which this service encodes correctly. An independent applier also
 * keeps a bug shared by zjsonpatch's diff and apply from cancelling itself out.
 *
 * <p>The seed is random per run and printed on failure; rerun one with {@code -Ddeltas.seed=N}; run more cases with
 * {@code -Ddeltas.cases=N}.
 */
class DeltasPropertyTest {
    private static final int CASES = Integer.getInteger("deltas.cases", 500);
    /** Versions per case: the base and this many successive edits of it. */
    private static final int CHAIN = 4;

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Keys that stress JSON Pointer escaping ({@code ~0}, {@code ~1}), array-like names and non-ASCII text. */
    private static final String[] KEYS = {
        "a",
        "b",
        "c",
        "id",
        "name",
        "value",
        "items",
        "x/y",
        "~",
        "~0",
        "~1",
        "a~/b",
        "",
        " ",
        "0",
        "1",
        "-",
        "01",
        "é",
        "日本",
        "😀",
        "key with space",
        "quote\"d",
        "back\\slash",
        "new\nline",
        "tab\t"
    };

    private static final String[] TEXTS = {
        "",
        "a",
        "hello",
        "Zürich",
        "日本語のテキスト",
        "😀🎉 emoji",
        "line\nbreak",
        "\"quoted\"",
        "back\\slash",
        "\u0000nul",
        "tab\tend",
        "\u2028sep",
        "/path/~0~1",
        "-1",
        "true",
        "null",
        "{\"not\":\"json\"}"
    };

    private final Deltas deltas = new Deltas();
    private int patched;
    private int whole;

    @Test
    void patchesReproduceTheTargetAndAreOnlySentWhenSmaller() {
        long seed = Long.getLong("deltas.seed", new Random().nextLong());
        Random seeds = new Random(seed);
        for (int i = 0; i < CASES; i++) {
            long caseSeed = seeds.nextLong();
            try {
                checkCase(new Random(caseSeed));
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(
                        "case " + i + " failed; rerun with -Ddeltas.seed=" + seed + " (case seed " + caseSeed + "): "
                                + e.getMessage(),
                        e);
            }
        }
        System.out.println("seed " + seed + ": " + patched + " patches, " + whole + " whole updates");
        // the generator must exercise both answers, else half of the contract goes untested
        assertTrue(patched > CASES, "seed " + seed + ": only " + patched + " patches");
        assertTrue(whole > CASES / 10, "seed " + seed + ": only " + whole + " whole updates");
    }

    private void checkCase(Random r) {
        String id = "src-" + r.nextInt(5);
        long version = 1 + r.nextInt(1_000);
        List<Snapshot> chain = new ArrayList<>();
        JsonNode doc = normalized(r.nextInt(10) == 0 ? randomValue(r, 3) : randomObject(r, 0));
        chain.add(snapshot(id, version, doc));
        for (int k = 1; k < CHAIN; k++) {
            doc = normalized(edit(r, doc));
            chain.add(snapshot(id, version + k, doc));
        }
        for (int k = 1; k < CHAIN; k++) {
            check(chain.get(k - 1), chain.get(k));
        }
        // a client that skipped versions (a resume) gets one patch across all of them
        check(chain.getFirst(), chain.getLast());
    }

    private void check(Snapshot base, Snapshot target) {
        String baseText = Json.text(base.data());
        String targetText = Json.text(target.data());
        String where = "\n base   " + baseText + "\n target " + targetText;
        Optional<String> answer = deltas.patch(base, target);
        assertEquals(answer, deltas.patch(base, target), "the same pair gives the same answer" + where);
        assertEquals(base.hash(), Json.hash(base.data()), "the base data must not be changed" + where);
        assertEquals(target.hash(), Json.hash(target.data()), "the target data must not be changed" + where);

        int dataSize = Json.bytes(target.data()).length;
        if (answer.isEmpty()) {
            whole++;
            JsonNode ops = JsonDiff.asJson(
                    base.data(),
                    target.data(),
                    EnumSet.of(
                            DiffFlags.OMIT_VALUE_ON_REMOVE,
                            DiffFlags.OMIT_MOVE_OPERATION,
                            DiffFlags.OMIT_COPY_OPERATION));
            int patchSize = Json.bytes(ops).length;
            assertTrue(
                    patchSize >= dataSize,
                    "no patch, though " + patchSize + " bytes of patch < " + dataSize + " bytes of data: " + ops
                            + where);
            return;
        }
        patched++;
        JsonNode event = read(answer.get());
        assertEquals(Set.of("id", "version", "baseVersion", "patch"), names(event), answer.get());
        assertEquals(target.id(), event.get("id").asText(), answer.get());
        assertTrue(event.get("version").isIntegralNumber(), answer.get());
        assertEquals(target.version(), event.get("version").asLong(), answer.get());
        assertEquals(base.version(), event.get("baseVersion").asLong(), answer.get());
        JsonNode patch = event.get("patch");
        assertTrue(patch.isArray(), answer.get());
        JsonPatch.validate(patch);
        assertTrue(
                Json.bytes(patch).length < dataSize,
                "a patch of " + Json.bytes(patch).length + " bytes for " + dataSize + " bytes of data" + where);
        // as a client does it: apply the patch, as received on the wire, to its own copy of the base
        JsonNode applied = apply(patch, read(baseText));
        assertEquals(target.data(), applied, "patch " + patch + where);
        assertEquals(target.hash(), Json.hash(applied), "patch " + patch + where);
    }

    /** Applies an RFC 6902 patch to a copy of {@code doc}, decoding pointers exactly as RFC 6901 says. */
    static JsonNode apply(JsonNode patch, JsonNode doc) {
        JsonNode root = doc.deepCopy();
        for (JsonNode op : patch) {
            List<String> path = pointer(op.get("path").asText());
            root = switch (op.get("op").asText()) {
                case "add" -> add(root, path, op.get("value").deepCopy());
                case "remove" -> remove(root, path);
                case "replace" -> replace(root, path, op.get("value").deepCopy());
                case "move" -> {
                    List<String> from = pointer(op.get("from").asText());
                    JsonNode value = get(root, from);
                    yield add(remove(root, from), path, value);
                }
                case "copy" ->
                    add(root, path, get(root, pointer(op.get("from").asText())).deepCopy());
                case "test" -> {
                    if (!get(root, path).equals(op.get("value"))) {
                        throw new AssertionError("test failed: " + op);
                    }
                    yield root;
                }
                default -> throw new AssertionError("unknown op: " + op);
            };
        }
        return root;
    }

    private static List<String> pointer(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        if (!text.startsWith("/")) {
            throw new AssertionError("not a JSON Pointer: " + text);
        }
        List<String> tokens = new ArrayList<>();
        for (String raw : text.substring(1).split("/", -1)) {
            if (raw.matches(".*~([^01].*|$)")) {
                throw new AssertionError("bad escape in JSON Pointer " + text);
            }
            tokens.add(raw.replace("~1", "/").replace("~0", "~"));
        }
        return tokens;
    }

    private static JsonNode get(JsonNode root, List<String> path) {
        JsonNode n = root;
        for (String t : path) {
            n = n.isArray() ? n.get(index(t, n.size() - 1)) : n.get(t);
            if (n == null) {
                throw new AssertionError("no value at " + path);
            }
        }
        return n;
    }

    private static JsonNode add(JsonNode root, List<String> path, JsonNode value) {
        if (path.isEmpty()) {
            return value;
        }
        JsonNode parent = get(root, path.subList(0, path.size() - 1));
        String last = path.getLast();
        if (parent instanceof ObjectNode o) {
            o.set(last, value);
        } else if (parent instanceof ArrayNode a) {
            a.insert(last.equals("-") ? a.size() : index(last, a.size()), value);
        } else {
            throw new AssertionError("cannot add under a scalar at " + path);
        }
        return root;
    }

    private static JsonNode replace(JsonNode root, List<String> path, JsonNode value) {
        if (path.isEmpty()) {
            return value;
        }
        get(root, path); // must exist
        JsonNode parent = get(root, path.subList(0, path.size() - 1));
        if (parent instanceof ObjectNode o) {
            o.set(path.getLast(), value);
        } else {
            ((ArrayNode) parent).set(index(path.getLast(), parent.size() - 1), value);
        }
        return root;
    }

    private static JsonNode remove(JsonNode root, List<String> path) {
        if (path.isEmpty()) {
            return NODES.nullNode();
        }
        JsonNode parent = get(root, path.subList(0, path.size() - 1));
        String last = path.getLast();
        if (parent instanceof ObjectNode o) {
            if (o.remove(last) == null) {
                throw new AssertionError("no member to remove at " + path);
            }
        } else if (parent instanceof ArrayNode a) {
            a.remove(index(last, a.size() - 1));
        } else {
            throw new AssertionError("cannot remove under a scalar at " + path);
        }
        return root;
    }

    private static int index(String token, int max) {
        if (!token.matches("0|[1-9][0-9]{0,8}") || Integer.parseInt(token) > max) {
            throw new AssertionError("bad array index \"" + token + "\" (max " + max + ")");
        }
        return Integer.parseInt(token);
    }

    private static Snapshot snapshot(String id, long version, JsonNode data) {
        Instant at = Instant.parse("2026-01-01T00:00:00Z").plusSeconds(version);
        return new Snapshot(id, version, at, at, false, null, data, Json.hash(data));
    }

    /** A copy of {@code doc} with one to five random edits somewhere in it, or (rarely) replaced whole. */
    private static JsonNode edit(Random r, JsonNode doc) {
        if (r.nextInt(25) == 0) {
            return randomValue(r, 2); // a type change at the root
        }
        JsonNode copy = doc.deepCopy();
        if (!copy.isContainerNode()) {
            return r.nextBoolean() ? randomObject(r, 1) : randomValue(r, 3);
        }
        int edits = 1 + r.nextInt(5);
        for (int e = 0; e < edits; e++) {
            List<JsonNode> containers = new ArrayList<>();
            collect(copy, containers);
            JsonNode target = containers.get(r.nextInt(containers.size()));
            if (target instanceof ObjectNode o) {
                editObject(r, o);
            } else {
                editArray(r, (ArrayNode) target);
            }
        }
        return copy;
    }

    private static void editObject(Random r, ObjectNode o) {
        List<String> names = new ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        String some = names.isEmpty() ? null : names.get(r.nextInt(names.size()));
        switch (names.isEmpty() ? 0 : r.nextInt(7)) {
            case 0 -> o.set(randomKey(r), randomValue(r, 2)); // add (or replace)
            case 1 -> o.remove(some);
            case 2 -> o.set(some, randomScalar(r)); // replace, usually changing the type
            case 3 -> {
                JsonNode moved = o.remove(some); // rename
                o.set(some + randomKey(r) + "_", moved);
            }
            case 4 -> o.set(some, NODES.objectNode().set(randomKey(r), o.get(some))); // nest deeper
            case 5 -> o.set(some, tweak(r, o.get(some)));
            default -> {
                // a new key among the old ones, and another removed
                o.set(randomKey(r) + r.nextInt(100), randomScalar(r));
                o.remove(names.get(r.nextInt(names.size())));
            }
        }
    }

    private static void editArray(Random r, ArrayNode a) {
        int size = a.size();
        switch (size == 0 ? 0 : r.nextInt(7)) {
            case 0 -> a.insert(size == 0 ? 0 : r.nextInt(size + 1), randomValue(r, 2)); // insert anywhere
            case 1 -> a.remove(r.nextInt(size));
            case 2 -> a.set(r.nextInt(size), randomScalar(r));
            case 3 -> {
                int i = r.nextInt(size);
                int j = r.nextInt(size);
                JsonNode t = a.get(i);
                a.set(i, a.get(j));
                a.set(j, t);
            }
            case 4 -> a.add(randomValue(r, 3)); // append
            case 5 -> {
                int i = r.nextInt(size);
                a.set(i, tweak(r, a.get(i)));
            }
            default -> {
                // several inserts and deletes at once
                for (int k = 0; k < 3 && !a.isEmpty(); k++) {
                    a.remove(r.nextInt(a.size()));
                    a.insert(r.nextInt(a.size() + 1), randomScalar(r));
                }
            }
        }
    }

    /** A small change of a value that keeps its kind where it can: a number moved, a string edited. */
    private static JsonNode tweak(Random r, JsonNode v) {
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return NODES.numberNode(v.asLong() + 1 + r.nextInt(5));
        }
        if (v.isNumber()) {
            return NODES.numberNode(v.asDouble() * 1.5 + 0.25);
        }
        if (v.isTextual()) {
            String s = v.asText();
            int at = s.isEmpty() ? 0 : r.nextInt(s.length() + 1);
            return NODES.textNode(s.substring(0, at) + TEXTS[r.nextInt(TEXTS.length)] + s.substring(at));
        }
        if (v.isBoolean()) {
            return NODES.booleanNode(!v.asBoolean());
        }
        return randomScalar(r);
    }

    private static void collect(JsonNode node, List<JsonNode> out) {
        if (node.isContainerNode()) {
            out.add(node);
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
                collect(it.next(), out);
            }
        }
    }

    private static ObjectNode randomObject(Random r, int depth) {
        ObjectNode o = NODES.objectNode();
        int n = depth == 0 ? 2 + r.nextInt(8) : r.nextInt(6);
        for (int i = 0; i < n; i++) {
            o.set(randomKey(r), randomValue(r, depth + 1));
        }
        return o;
    }

    private static JsonNode randomValue(Random r, int depth) {
        int kind = r.nextInt(depth >= 4 ? 1 : 10);
        if (kind == 8) {
            return randomObject(r, depth);
        }
        if (kind == 9) {
            ArrayNode a = NODES.arrayNode();
            int n = r.nextInt(r.nextInt(4) == 0 ? 20 : 6);
            for (int i = 0; i < n; i++) {
                a.add(randomValue(r, depth + 1));
            }
            return a;
        }
        return randomScalar(r);
    }

    private static JsonNode randomScalar(Random r) {
        return switch (r.nextInt(12)) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(r.nextBoolean());
            case 2 -> NODES.numberNode(r.nextInt(100) - 20);
            case 3 -> NODES.numberNode(r.nextBoolean() ? Long.MAX_VALUE - r.nextInt(3) : Long.MIN_VALUE + r.nextInt(3));
            case 4 -> NODES.numberNode(new BigInteger(80, r)); // beyond long
            case 5 -> NODES.numberNode((r.nextDouble() - 0.5) * Math.pow(10, r.nextInt(40) - 20));
            case 6 -> NODES.numberNode(r.nextBoolean() ? -0.0 : 1.0); // same as 0 and 1 in value, not in type
            case 7 -> NODES.textNode(randomText(r, 200 + r.nextInt(400))); // long: a patch may not pay
            default -> NODES.textNode(randomText(r, r.nextInt(12)));
        };
    }

    private static String randomKey(Random r) {
        return KEYS[r.nextInt(KEYS.length)];
    }

    private static String randomText(Random r, int length) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < length) {
            switch (r.nextInt(6)) {
                case 0 -> sb.append(TEXTS[r.nextInt(TEXTS.length)]);
                case 1 -> sb.appendCodePoint(0x1F600 + r.nextInt(80)); // outside the BMP: a surrogate pair
                case 2 -> sb.append((char) (0x4E00 + r.nextInt(0x5000)));
                case 3 -> sb.append((char) r.nextInt(0x20)); // control characters, escaped in JSON
                default -> sb.append((char) ('a' + r.nextInt(26)));
            }
        }
        return sb.toString();
    }

    /** The value as a client reads it off the wire, so number and text nodes compare as parsed JSON does. */
    private static JsonNode normalized(JsonNode node) {
        return read(Json.text(node));
    }

    private static JsonNode read(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    private static Set<String> names(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
