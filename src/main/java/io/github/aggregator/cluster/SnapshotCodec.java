package io.github.aggregator.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.io.IOException;
import java.time.Instant;

/** Snapshots as the JSON text kept in Redis and sent on its channel. */
final class SnapshotCodec {
    private SnapshotCodec() {}

    static String encode(Snapshot s) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("id", s.id());
        n.put("version", s.version());
        if (s.fetchedAt() != null) {
            n.put("fetchedAt", s.fetchedAt().toString());
            n.put("changedAt", s.changedAt().toString());
        }
        n.put("stale", s.stale());
        if (s.error() != null) {
            n.put("error", s.error());
        }
        if (s.data() != null) {
            n.set("data", s.data());
            n.put("hash", s.hash());
        }
        return Json.text(n);
    }

    /**
     * @throws IllegalArgumentException when {@code text} is not a snapshot this codec wrote
     */
    static Snapshot decode(String text) {
        try {
            JsonNode n = Json.MAPPER.readTree(text);
            return new Snapshot(
                    n.required("id").asText(),
                    n.required("version").asLong(),
                    instant(n.get("fetchedAt")),
                    instant(n.get("changedAt")),
                    n.path("stale").asBoolean(),
                    n.hasNonNull("error") ? n.get("error").asText() : null,
                    n.get("data"),
                    n.hasNonNull("hash") ? n.get("hash").asText() : null);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(
                    "not a stored snapshot: " + e.getClass().getSimpleName());
        }
    }

    private static Instant instant(JsonNode n) {
        return n == null || n.isNull() ? null : Instant.parse(n.asText());
    }
}
