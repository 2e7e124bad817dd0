package io.github.aggregator.cluster;

import redis.clients.jedis.util.JedisClusterCRC16;

/**
 * The names of the Redis keys and the channel. In a Redis Cluster every key of one source carries the source id as
 * its hash tag ({@code aggregator:snap:{ID}}), so the scripts that touch a source's lease, snapshot and history run
 * in one slot instead of failing with {@code CROSSSLOT}; against a standalone Redis the names are the plain ones
 * ({@code aggregator:snap:ID}) that earlier versions wrote, so instances of both kinds share one Redis during an
 * upgrade.
 *
 * @param prefix the configured key prefix (never contains braces)
 * @param tagged whether keys carry hash tags (a Redis Cluster)
 */
record Keys(String prefix, boolean tagged) {

    String lease(String id) {
        return name("lease:", id);
    }

    String snapshot(String id) {
        return name("snap:", id);
    }

    String history(String id) {
        return name("hist:", id);
    }

    /**
     * A key of budget {@code id}: {@code aggregator:budget:{ID}:PART}. Always hash-tagged by the budget id, so one
     * script reaches every key of one budget in a Redis Cluster (the braces are plain characters to a standalone Redis).
     */
    String budget(String id, String part) {
        return prefix + "budget:{" + id + "}:" + part;
    }

    /** The one channel every instance listens on; in a cluster a plain PUBLISH reaches the subscribers of all nodes. */
    String channel() {
        return prefix + "snapshots";
    }

    /** The cluster slot of every key of {@code id}; 0 for all sources on a standalone Redis (one script does all). */
    int slot(String id) {
        return tagged ? JedisClusterCRC16.getSlot(lease(id)) : 0;
    }

    private String name(String kind, String id) {
        return tagged ? prefix + kind + "{" + id + "}" : prefix + kind + id;
    }
}
