package io.github.aggregator.cluster;

import io.github.aggregator.source.SourceConfig;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import redis.clients.jedis.params.SetParams;

/**
 * The sources this instance produces, each claimed in Redis by a lease ({@code SET key token NX PX ttl}) that this
 * instance renews while it polls the source. The token is unique per claim and doubles as a fencing token: writes
 * check it inside Redis, so an instance that lost its lease (paused, partitioned) cannot overwrite its successor.
 * In a Redis Cluster the leases of sources in different slots are renewed by one script per slot.
 * Thread-safe; every method may block on Redis and throws Jedis' runtime exceptions when Redis is unreachable.
 */
final class Leases {
    /** Renews each lease in {@code KEYS} whose value is still the matching token in ARGV; answers 1/0 per key. */
    private static final String RENEW = """
            local out = {}
            local n = #KEYS
            for i = 1, n do
              if redis.call('GET', KEYS[i]) == ARGV[i] then
                redis.call('PEXPIRE', KEYS[i], ARGV[n + i])
                out[i] = 1
              else
                out[i] = 0
              end
            end
            return out
            """;

    private static final String RELEASE = """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """;

    private final String instance;
    private final InstantSource clock;
    private final AtomicLong claims = new AtomicLong();
    private final Map<String, String> held = new ConcurrentHashMap<>();
    /** When a failed claim of a source may be retried, so a busy source is not claimed on every event. */
    private final Map<String, Instant> refusedUntil = new ConcurrentHashMap<>();

    /**
     * @param instance this instance's id, the start of each of its tokens
     * @param clock decides when a refused claim is tried again (a quarter of the lease's ttl later)
     */
    Leases(String instance, InstantSource clock) {
        this.instance = instance;
        this.clock = clock;
    }

    /** How long a claim lasts without renewal: the source's interval, within [1s, 60s]; 5s for combined sources. */
    static Duration ttl(SourceConfig s) {
        if (s.combined()) {
            return Duration.ofSeconds(5);
        }
        long ms = Math.max(1000, Math.min(60_000, s.interval().toMillis()));
        return Duration.ofMillis(ms);
    }

    /** The fencing token of this instance's claim on {@code id}, or null when it holds none. */
    String token(String id) {
        return held.get(id);
    }

    /** Claims {@code s} unless another instance holds it. */
    boolean claim(Link redis, SourceConfig s) {
        if (held.containsKey(s.id())) {
            return true;
        }
        Instant until = refusedUntil.get(s.id());
        if (until != null && clock.instant().isBefore(until)) {
            return false;
        }
        String token = instance + ":" + claims.incrementAndGet();
        long ttl = ttl(s).toMillis();
        if ("OK"
                .equals(redis.client()
                        .set(
                                redis.keys().lease(s.id()),
                                token,
                                SetParams.setParams().nx().px(ttl)))) {
            held.put(s.id(), token);
            refusedUntil.remove(s.id());
            return true;
        }
        refusedUntil.put(s.id(), clock.instant().plusMillis(ttl / 4));
        return false;
    }

    /**
     * Renews every held lease whose source {@code keep} still wants, releases the others, and forgets the ones that
     * expired or were taken over.
     *
     * @return the ids whose lease was lost
     */
    List<String> renew(Link redis, Map<String, SourceConfig> sources, Predicate<String> keep) {
        Map<Integer, List<String>> bySlot = new LinkedHashMap<>();
        for (String id : List.copyOf(held.keySet())) {
            SourceConfig s = sources.get(id);
            if (s == null || !keep.test(id)) {
                release(redis, id);
            } else {
                bySlot.computeIfAbsent(redis.keys().slot(id), k -> new ArrayList<>())
                        .add(id);
            }
        }
        List<String> lost = new ArrayList<>();
        for (List<String> ids : bySlot.values()) {
            lost.addAll(renew(redis, sources, ids));
        }
        return lost;
    }

    /** Renews the leases of {@code ids}, all in one slot, with one script. */
    private List<String> renew(Link redis, Map<String, SourceConfig> sources, List<String> ids) {
        List<String> keys = new ArrayList<>();
        List<String> args = new ArrayList<>();
        for (String id : ids) {
            keys.add(redis.keys().lease(id));
            args.add(held.getOrDefault(id, ""));
        }
        for (String id : ids) {
            args.add(Long.toString(ttl(sources.get(id)).toMillis()));
        }
        List<String> lost = new ArrayList<>();
        Object answer = redis.client().eval(RENEW, keys, args);
        if (answer instanceof List<?> flags) {
            for (int i = 0; i < ids.size() && i < flags.size(); i++) {
                if (!Long.valueOf(1).equals(flags.get(i))) {
                    held.remove(ids.get(i));
                    lost.add(ids.get(i));
                }
            }
        }
        return lost;
    }

    /** Gives up the claim on {@code id}, if this instance still holds it. */
    void release(Link redis, String id) {
        String token = held.remove(id);
        if (token != null) {
            redis.client().eval(RELEASE, List.of(redis.keys().lease(id)), List.of(token));
        }
    }

    /** Releases every claim; errors are the caller's to swallow. */
    void releaseAll(Link redis) {
        for (String id : List.copyOf(held.keySet())) {
            release(redis, id);
        }
    }

    /** Forgets every claim without telling Redis (it is unreachable; the leases expire there on their own). */
    void forgetAll() {
        held.clear();
        refusedUntil.clear();
    }

    /** Forgets the claim on {@code id} (a write found it taken over). */
    void forget(String id) {
        held.remove(id);
    }

    /** The ids this instance holds. */
    List<String> heldIds() {
        return List.copyOf(held.keySet());
    }
}
