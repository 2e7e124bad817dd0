package io.github.aggregator.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.flipkart.zjsonpatch.DiffFlags;
import com.flipkart.zjsonpatch.JsonDiff;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.util.EnumSet;
import java.util.Optional;

/**
 * RFC 6902 JSON Patches between two versions of a source, computed once per (base, target) pair however many
 * subscribers need it. Thread-safe.
 */
public final class Deltas {
    private static final EnumSet<DiffFlags> FLAGS =
            EnumSet.of(DiffFlags.OMIT_VALUE_ON_REMOVE, DiffFlags.OMIT_MOVE_OPERATION, DiffFlags.OMIT_COPY_OPERATION);

    private final Cache<Key, Optional<String>> patches =
            Caffeine.newBuilder().maximumSize(4096).build();

    /**
     * The data of a {@code patch} event from {@code base} to {@code target}: {@code {id, version, baseVersion,
     * patch}}, serialized; empty when the patch would be larger than the full data (send an update instead).
     */
    public Optional<String> patch(Snapshot base, Snapshot target) {
        return patches.get(new Key(target.id(), base.version(), base.hash(), target.version(), target.hash()), k -> {
            JsonNode ops = JsonDiff.asJson(base.data(), target.data(), FLAGS);
            ObjectNode event = Json.MAPPER.createObjectNode();
            event.put("id", target.id());
            event.put("version", target.version());
            event.put("baseVersion", base.version());
            event.set("patch", ops);
            String text = Json.text(event);
            return Json.bytes(ops).length < Json.bytes(target.data()).length ? Optional.of(text) : Optional.empty();
        });
    }

    private record Key(String id, long baseVersion, String baseHash, long version, String hash) {}
}
