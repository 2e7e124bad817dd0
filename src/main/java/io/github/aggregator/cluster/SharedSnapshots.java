package io.github.aggregator.cluster;

import io.github.aggregator.source.Snapshot;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * The snapshots kept in Redis: each source's latest one and its history, written only through a fenced script and
 * published on the channel in the same step. Every call may block on Redis and throws Jedis' runtime exceptions when
 * Redis (or, in a cluster, the primary of the source's slot) is unreachable. Thread-safe.
 */
final class SharedSnapshots {
    private static final System.Logger LOG = System.getLogger(SharedSnapshots.class.getName());

    /**
     * Writes a snapshot if the caller's lease token is still in {@code KEYS[1]} and the version does not go back;
     * appends it to the history when it is a new version with data; publishes it. Answers 1 (written), 0 (lease
     * lost) or -1 (Redis holds a newer version). With an empty token it is the rejoin merge: no lease, and only a
     * strictly newer version is written. The three keys share a hash tag, so in a cluster they are in one slot.
     */
    private static final String WRITE = """
            if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '-1')
            local nv = tonumber(ARGV[2])
            if nv < v or (ARGV[1] == '' and nv == v) then return -1 end
            redis.call('HSET', KEYS[2], 'v', ARGV[2], 'json', ARGV[3])
            redis.call('PEXPIRE', KEYS[2], ARGV[5])
            if nv > v and ARGV[8] == '1' then
              redis.call('RPUSH', KEYS[3], ARGV[3])
              redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
            end
            redis.call('PEXPIRE', KEYS[3], ARGV[5])
            redis.call('PUBLISH', ARGV[6], ARGV[7])
            return 1
            """;

    private final String instance;
    private final int historySize;
    private final Duration ttl;

    /**
     * @param instance this instance's id, put before each published snapshot so that it can skip its own
     * @param historySize versions of each source kept for resume
     * @param ttl how long the shared state outlives its last write
     */
    SharedSnapshots(String instance, int historySize, Duration ttl) {
        this.instance = instance;
        this.historySize = historySize;
        this.ttl = ttl;
    }

    /**
     * Stores and publishes {@code s} if {@code token} still holds its lease (empty token: only if strictly newer).
     *
     * @return 1 written, 0 the lease is lost, -1 Redis holds a newer version
     */
    long write(Link link, Snapshot s, String token) {
        Keys keys = link.keys();
        String json = SnapshotCodec.encode(s);
        Object answer = link.client()
                .eval(
                        WRITE,
                        List.of(keys.lease(s.id()), keys.snapshot(s.id()), keys.history(s.id())),
                        List.of(
                                token,
                                Long.toString(s.version()),
                                json,
                                Integer.toString(historySize),
                                Long.toString(ttl.toMillis()),
                                keys.channel(),
                                instance + "\n" + json,
                                s.hasData() ? "1" : "0"));
        return answer instanceof Long l ? l : 0;
    }

    /** Hands the shared history and latest snapshot of {@code id} to {@code receiver}, oldest first. */
    void load(Link link, String id, Consumer<Snapshot> receiver) {
        List<String> history = link.client().lrange(link.keys().history(id), 0, -1);
        for (String h : history) {
            deliver(h, receiver);
        }
        String latest = link.client().hget(link.keys().snapshot(id), "json");
        if (latest != null) {
            deliver(latest, receiver);
        }
    }

    /** A message from the channel: the snapshot in it unless this instance published it itself. */
    void received(String message, Consumer<Snapshot> receiver) {
        int nl = message.indexOf('\n');
        if (nl < 0 || message.regionMatches(0, instance, 0, nl) && nl == instance.length()) {
            return; // our own write, delivered when it was made
        }
        deliver(message.substring(nl + 1), receiver);
    }

    private static void deliver(String json, Consumer<Snapshot> receiver) {
        Snapshot s;
        try {
            s = SnapshotCodec.decode(json);
        } catch (IllegalArgumentException e) {
            LOG.log(Level.WARNING, "cluster: ignoring an unreadable shared snapshot (" + e.getMessage() + ")");
            return;
        }
        receiver.accept(s); // the receiver ignores sources no longer in force
    }
}
