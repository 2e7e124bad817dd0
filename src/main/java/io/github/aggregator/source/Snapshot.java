package io.github.aggregator.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Objects;

/**
 * The state of one source as subscribers see it. Immutable.
 *
 * <p>{@code version} starts at 1 with the first successful fetch and increases by one exactly when the content hash
 * changes. Version 0 means no fetch has succeeded yet: {@code data}, {@code hash}, {@code fetchedAt} and {@code
 * changedAt} are then null.
 *
 * @param id source id
 * @param version content version, 0 before the first success
 * @param fetchedAt time of the last successful fetch
 * @param changedAt time the content last changed
 * @param stale true when the last fetch failed; data is then the last good data
 * @param error short reason of the last failure, null when not stale
 * @param data the (selected) JSON content
 * @param hash content hash of {@code data} (hex SHA-256 of its canonical form)
 * @param restored true for a snapshot read back from the durable store at start, until the source's first fetch
 *     after the restart (a failed fetch keeps it restored: the data is still what was held before)
 */
public record Snapshot(
        String id,
        long version,
        Instant fetchedAt,
        Instant changedAt,
        boolean stale,
        String error,
        JsonNode data,
        String hash,
        boolean restored) {

    /** A snapshot made by this process (not restored). */
    public Snapshot(
            String id,
            long version,
            Instant fetchedAt,
            Instant changedAt,
            boolean stale,
            String error,
            JsonNode data,
            String hash) {
        this(id, version, fetchedAt, changedAt, stale, error, data, hash, false);
    }

    public Snapshot {
        Objects.requireNonNull(id, "id");
        if (version < 0) {
            throw new IllegalArgumentException("version must not be negative");
        }
        if (version > 0 && (data == null || hash == null || fetchedAt == null || changedAt == null)) {
            throw new IllegalArgumentException("a versioned snapshot needs data, hash, fetchedAt and changedAt");
        }
    }

    /** A source that has never been fetched successfully and whose last attempt failed with {@code error}. */
    public static Snapshot failedBeforeFirst(String id, String error) {
        return new Snapshot(id, 0, null, null, true, error, null, null);
    }

    /** True once a fetch has succeeded, i.e. there is data to serve. */
    public boolean hasData() {
        return version > 0;
    }

    /** Hex digits of the content hash that event ids and entity tags carry. */
    public static final int ID_HASH_LENGTH = 12;

    /**
     * The SSE event id of this version: {@code <version>-<first 12 hex digits of the content hash>}, e.g. {@code
     * 7-967c7cb03b89}. Two snapshots with the same event id hold the same content (up to a 48-bit hash collision),
     * whichever process or instance produced them, so a client's id can only be taken as current when the content is.
     */
    public String eventId() {
        return version + "-" + hash.substring(0, ID_HASH_LENGTH);
    }

    /** The strong entity tag for this version: its {@link #eventId} in quotes; changes exactly when it changes. */
    public String etag() {
        return "\"" + eventId() + "\"";
    }

    /** This snapshot after a successful fetch that returned {@code newData} with {@code newHash} at {@code at}. */
    public Snapshot succeeded(JsonNode newData, String newHash, Instant at) {
        if (hasData() && newHash.equals(hash)) {
            return new Snapshot(id, version, at, changedAt, false, null, data, hash);
        }
        return new Snapshot(id, version + 1, at, at, false, null, newData, newHash);
    }

    /** This snapshot after a failed fetch: same data and version, marked stale with {@code reason}. */
    public Snapshot failed(String reason) {
        return new Snapshot(id, version, fetchedAt, changedAt, true, reason, data, hash, restored);
    }

    /** This snapshot as read back from the durable store: the same, marked restored. */
    public Snapshot asRestored() {
        return new Snapshot(id, version, fetchedAt, changedAt, stale, error, data, hash, true);
    }

    /** This snapshot under another version number (the same content), for a version counter that must go on. */
    public Snapshot renumbered(long newVersion) {
        return new Snapshot(id, newVersion, fetchedAt, changedAt, stale, error, data, hash, restored);
    }
}
