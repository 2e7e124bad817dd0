package io.github.aggregator.source;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@code cluster} section: the shared Redis that lets several instances poll each source once cluster-wide.
 *
 * @param redis the Redis URL, {@code redis://[user:password@]host[:port][/db]} or {@code rediss://} for TLS. Holds
 *     the password: never logged or served; {@link #where()} is the printable form
 * @param keyPrefix prefix of every Redis key and channel this service uses (default {@code aggregator:}), so that
 *     several clusters can share one Redis
 * @param ttl how long shared snapshots and history outlive their last write (default 24h)
 * @param timeout connect and command timeout of each Redis call (default 2s); a call that takes longer counts as
 *     Redis being unreachable
 * @param nodes more seed nodes ({@code host:port}) of a Redis Cluster besides the URL's own (default none): any one
 *     that answers is enough to find the rest. They share the URL's scheme, user and password. Ignored when the URL
 *     points at a standalone Redis
 */
public record ClusterConfig(URI redis, String keyPrefix, Duration ttl, Duration timeout, List<String> nodes) {
    public static final String DEFAULT_KEY_PREFIX = "aggregator:";
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);

    public ClusterConfig {
        Objects.requireNonNull(redis, "redis");
        if (keyPrefix == null || !keyPrefix.matches("[\\x21-\\x7a|~]{0,64}")) {
            // braces would change the hash tags that keep one source's keys in one Redis Cluster slot
            throw new InvalidField("keyPrefix", "at most 64 printable characters without spaces or braces");
        }
        if (ttl.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new InvalidField("ttl", "must be at least 1s");
        }
        if (timeout.compareTo(Duration.ofMillis(10)) < 0 || timeout.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new InvalidField("timeout", "must be between 10ms and 1m");
        }
        nodes = List.copyOf(nodes);
        for (String n : nodes) {
            if (!n.matches("[A-Za-z0-9._-]+:\\d{1,5}|\\[[0-9A-Fa-f:.]+\\]:\\d{1,5}")
                    || !validPort(Integer.parseInt(n.substring(n.lastIndexOf(':') + 1)))) {
                throw new InvalidField("nodes", "\"" + n + "\" is not host:port");
            }
        }
    }

    private static boolean validPort(int port) {
        return port > 0 && port <= 65535;
    }

    /** A config without extra seed nodes. */
    public ClusterConfig(URI redis, String keyPrefix, Duration ttl, Duration timeout) {
        this(redis, keyPrefix, ttl, timeout, List.of());
    }

    /**
     * Checks a Redis URL. Messages never contain the URL's user or password.
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static URI parseUrl(String text) {
        URI uri;
        try {
            uri = new URI(text.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a valid URL (expected redis://[user:password@]host[:port][/db])");
        }
        String scheme = uri.getScheme();
        if (!"redis".equalsIgnoreCase(scheme) && !"rediss".equalsIgnoreCase(scheme)) {
            throw new IllegalArgumentException(
                    "must start with redis:// or rediss:// (expected redis://[user:password@]host[:port][/db])");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException("has no host (expected redis://[user:password@]host[:port][/db])");
        }
        String path = uri.getRawPath();
        if (path != null && !path.isEmpty() && !path.equals("/") && !path.matches("/\\d{1,4}")) {
            throw new IllegalArgumentException("the path must be a database number, like /0");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("query strings and fragments are not supported");
        }
        return uri;
    }

    /** The host. */
    public String host() {
        return redis.getHost();
    }

    /** The port, 6379 when the URL names none. */
    public int port() {
        return redis.getPort() < 0 ? 6379 : redis.getPort();
    }

    /** Whether the connection uses TLS ({@code rediss://}). */
    public boolean tls() {
        return "rediss".equalsIgnoreCase(redis.getScheme());
    }

    /** The database number, 0 when the URL names none. */
    public int database() {
        String path = redis.getRawPath();
        return path == null || path.length() < 2 ? 0 : Integer.parseInt(path.substring(1));
    }

    /** The user name from the URL, null when none (or only a password is given). */
    public String user() {
        String[] info = userInfo();
        return info == null || info.length < 2 || info[0].isEmpty() ? null : info[0];
    }

    /** The password from the URL, null when none. A secret. */
    public String password() {
        String[] info = userInfo();
        if (info == null) {
            return null;
        }
        String p = info.length < 2 ? info[0] : info[1];
        return p.isEmpty() ? null : p;
    }

    private String[] userInfo() {
        String raw = redis.getRawUserInfo();
        if (raw == null) {
            return null;
        }
        int colon = raw.indexOf(':');
        // "redis://secret@host" is a password alone, as redis-cli reads it
        String[] parts =
                colon < 0 ? new String[] {raw} : new String[] {raw.substring(0, colon), raw.substring(colon + 1)};
        for (int i = 0; i < parts.length; i++) {
            parts[i] = URLDecoder.decode(parts[i], StandardCharsets.UTF_8);
        }
        return parts;
    }

    /** Where Redis is, without credentials: {@code redis://host:port/db}. Safe to log. */
    public String where() {
        return redis.getScheme().toLowerCase(java.util.Locale.ROOT) + "://" + host() + ":" + port() + "/" + database();
    }

    @Override
    public String toString() {
        return "ClusterConfig[redis=" + where() + ", keyPrefix=" + keyPrefix + ", ttl=" + ttl + ", timeout=" + timeout
                + ", nodes=" + nodes + "]";
    }
}
