package io.github.aggregator.cluster;

import redis.clients.jedis.UnifiedJedis;

/**
 * An established way to Redis: the client (one server's pool, or a Redis Cluster client that routes each key to the
 * primary of its slot) and the key names that fit it.
 */
record Link(UnifiedJedis client, Keys keys) {

    boolean cluster() {
        return keys.tagged();
    }
}
