package io.github.aggregator.stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Encodes each snapshot's envelope once, however many subscribers receive it: with 10,000 subscribers a change would
 * otherwise be serialized 10,000 times. Entries are keyed by snapshot identity and go when the snapshot is no longer
 * referenced. Thread-safe.
 */
public final class Frames {
    private static final Cache<Snapshot, String> ENVELOPES =
            Caffeine.newBuilder().weakKeys().maximumSize(8192).build();
    private static final Cache<Snapshot, byte[]> BYTES =
            Caffeine.newBuilder().weakKeys().maximumSize(8192).build();
    private static final Cache<Snapshot, ConcurrentHashMap<String, SseEvent>> SINGLE =
            Caffeine.newBuilder().weakKeys().maximumSize(8192).build();

    private Frames() {}

    /** The envelope of {@code s} with its data, serialized. */
    static String envelope(Snapshot s) {
        return ENVELOPES.get(s, k -> Json.text(tree(k, true)));
    }

    /** The envelope of {@code s} with its data as UTF-8, for the polling endpoint. Do not modify the array. */
    public static byte[] envelopeBytes(Snapshot s) {
        return BYTES.get(s, k -> envelope(k).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The frame {@link #single} gave last: the subscribers of one change ask for it one after the other. */
    private static volatile Last last;

    private record Last(Snapshot snapshot, String event, SseEvent frame) {}

    /** A single-source stream's {@code snapshot} or {@code update} frame for {@code s}, whose id is its event id. */
    static SseEvent single(Snapshot s, String event) {
        Last l = last;
        if (l != null && l.snapshot() == s && l.event().equals(event)) {
            return l.frame(); // no cache lookup for the second to the last subscriber of a change
        }
        SseEvent frame = SINGLE.get(s, k -> new ConcurrentHashMap<>())
                .computeIfAbsent(event, e -> new SseEvent(e, s.eventId(), envelope(s), null));
        last = new Last(s, event, frame);
        return frame;
    }

    /**
     * The public envelope {@code {"id","version","fetchedAt","changedAt","stale","error"?,"restored"?,"data"}} of a
     * snapshot (an instance adds {@code "params"} and its canonical name as {@code "instance"}, with the pointer of a
     * field view of it; {@code "restored":
     * true} while it is the copy read back from the durable store at start, before the source's first fetch);
     * {@code data} is left out when {@code withData} is false (status events).
     */
    static ObjectNode tree(Snapshot s, boolean withData) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        String source = FieldViews.sourceOf(s.id());
        if (InstanceId.isInstance(source)) {
            // an instance of a parametrised source: the template's id, its parameters, and its one-string name; a
            // field view of it keeps its pointer on both ids ("weather/temp", "weather(city=NYC)/temp")
            InstanceId.Parts parts = InstanceId.parse(source);
            n.put("id", parts.base() + s.id().substring(source.length()));
            ObjectNode params = n.putObject("params");
            parts.params().forEach(params::put);
            n.put("instance", s.id());
        } else {
            n.put("id", s.id());
        }
        n.put("version", s.version());
        n.put("fetchedAt", s.fetchedAt() == null ? null : s.fetchedAt().toString());
        n.put("changedAt", s.changedAt() == null ? null : s.changedAt().toString());
        n.put("stale", s.stale());
        if (s.error() != null) {
            n.put("error", s.error());
        }
        if (s.restored()) {
            n.put("restored", true);
        }
        if (withData) {
            n.set("data", s.data());
        }
        return n;
    }
}
