package io.github.aggregator.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.io.IOException;
import java.time.Instant;

/**
 * A snapshot as bytes on disk: compact JSON with every field, so a stored version reads back exactly as it was
 * (same version, times, hash and data). Thread-safe.
 */
final class DiskCodec {
    private DiskCodec() {}

    /** @param jump whether {@code s} follows the version before it in history by design (a renumbering), not by one */
    static byte[] encode(Snapshot s, SnapshotStore.Held before, boolean jump) {
        return encode(s, before, jump, null);
    }

    /** @param formerly the number the latest snapshot {@code s} had before a renumbering, or null */
    static byte[] encode(Snapshot s, SnapshotStore.Held before, boolean jump, SnapshotStore.Held formerly) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("v", s.version());
        n.put("f", s.fetchedAt() == null ? null : s.fetchedAt().toString());
        n.put("c", s.changedAt() == null ? null : s.changedAt().toString());
        n.put("s", s.stale());
        if (s.error() != null) {
            n.put("e", s.error());
        }
        n.put("h", s.hash());
        n.set("d", s.data());
        if (jump) {
            n.put("j", true);
        }
        if (before != null) {
            n.put("bv", before.version());
            n.put("bh", before.hash());
        }
        if (formerly != null) {
            n.put("fv", formerly.version());
            n.put("fh", formerly.hash());
        }
        return Json.bytes(n);
    }

    /**
     * @throws IOException when the bytes are not a snapshot this codec wrote
     */
    static Snapshot decode(String id, byte[] bytes) throws IOException {
        JsonNode n = Json.MAPPER.readTree(bytes);
        try {
            return new Snapshot(
                    id,
                    n.get("v").asLong(),
                    instant(n.get("f")),
                    instant(n.get("c")),
                    n.get("s").asBoolean(),
                    n.hasNonNull("e") ? n.get("e").asText() : null,
                    n.hasNonNull("d") ? n.get("d") : null,
                    n.hasNonNull("h") ? n.get("h").asText() : null);
        } catch (RuntimeException e) {
            throw new IOException("not a stored snapshot: " + e.getMessage());
        }
    }

    /** The version that had fallen out of history when {@code bytes} were written, or null. */
    static SnapshotStore.Held before(byte[] bytes) throws IOException {
        JsonNode n = Json.MAPPER.readTree(bytes);
        return n.hasNonNull("bv") && n.hasNonNull("bh")
                ? new SnapshotStore.Held(n.get("bv").asLong(), n.get("bh").asText())
                : null;
    }

    /** The number the latest snapshot in {@code bytes} had before a renumbering, or null. */
    static SnapshotStore.Held formerly(byte[] bytes) throws IOException {
        JsonNode n = Json.MAPPER.readTree(bytes);
        return n.hasNonNull("fv") && n.hasNonNull("fh")
                ? new SnapshotStore.Held(n.get("fv").asLong(), n.get("fh").asText())
                : null;
    }

    /** Whether the snapshot in {@code bytes} was written as a jump (see {@link #encode}). */
    static boolean jump(byte[] bytes) throws IOException {
        return Json.MAPPER.readTree(bytes).path("j").asBoolean(false);
    }

    private static Instant instant(JsonNode n) {
        return n == null || n.isNull() ? null : Instant.parse(n.asText());
    }
}
