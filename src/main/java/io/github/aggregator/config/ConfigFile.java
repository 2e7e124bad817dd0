package io.github.aggregator.config;

import io.github.aggregator.source.AccessConfig;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.source.CorsConfig;
import io.github.aggregator.source.Durations;
import io.github.aggregator.source.InvalidField;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads and validates the YAML config file. Every problem becomes a {@link ConfigException} with one line of the form
 * {@code FILE:LINE: source "ID" field "NAME": REASON}; header values are never part of a message.
 *
 * <p>Scalars may use {@code ${VAR}} (an error when VAR is unset), {@code ${VAR:-default}} and {@code ${VAR:+word}}
 * (word when VAR is set and not empty, else empty). A disabled source whose values use an unset {@code ${VAR}} is
 * checked only for its id and field names.
 *
 * @param file the file read
 * @param aggregator the {@code aggregator} section
 * @param server the {@code server} section flattened to dotted keys, to compare (a change needs a restart) and check
 * @param serverTree the {@code server} section as a document with {@code server} at its top: nested maps, lists and
 *     strings (null for an empty value), variables substituted and env {@code PORT} applied. Helidon's own config
 *     reads it (as its YAML parser would read the section), so every web server option works as Helidon documents it
 * @param adminToken the token that protects the admin endpoints ({@code admin.token}, or env {@code
 *     AGGREGATOR_ADMIN_TOKEN}, which wins); null when none is configured and the admin endpoints are off. A secret:
 *     never logged or served
 * @param access the {@code access} section: keys and JWT settings for sources marked {@code access: token}
 * @param cors the {@code cors} section: origins whose pages may read the API
 * @param cluster the shared Redis ({@code cluster.redis}, or env {@code REDIS_URL}, which wins for the URL); null
 *     when the service runs alone
 */
public record ConfigFile(
        Path file,
        AggregatorConfig aggregator,
        Map<String, String> server,
        Map<String, Object> serverTree,
        String adminToken,
        AccessConfig access,
        CorsConfig cors,
        ClusterConfig cluster) {

    private static final Set<String> TOP_KEYS = Set.of("server", "aggregator", "admin", "access", "cors", "cluster");
    private static final Set<String> ADMIN_KEYS = Set.of("token");
    private static final Set<String> CLUSTER_KEYS = Set.of("redis");
    private static final Set<String> REDIS_KEYS = Set.of("url", "keyPrefix", "ttl", "timeout", "nodes");
    /** Shorter admin tokens are refused: they could be guessed. */
    static final int MIN_ADMIN_TOKEN_LENGTH = 16;

    @Override
    public String toString() {
        return "ConfigFile[file=" + file + ", admin=" + (adminToken == null ? "off" : "on") + ", cluster="
                + (cluster == null ? "off" : cluster.where()) + "]";
    }

    /**
     * The fields each mapping section of the file accepts (any other field there is refused), by the section's name in
     * the file's JSON Schema ({@code config/aggregator.schema.json}, under {@code $defs}; {@code config} is the top
     * level). The {@code server} section and a source's {@code headers} take any keys and are not listed.
     */
    public static Map<String, Set<String>> fieldsBySection() {
        return Map.ofEntries(
                Map.entry("config", TOP_KEYS),
                Map.entry("admin", ADMIN_KEYS),
                Map.entry("cluster", CLUSTER_KEYS),
                Map.entry("redis", REDIS_KEYS),
                Map.entry("aggregator", AggregatorSection.AGGREGATOR_KEYS),
                Map.entry("source", AggregatorSection.SOURCE_KEYS),
                Map.entry("combinedSource", AggregatorSection.COMBINED_KEYS),
                Map.entry("param", TemplateSection.PARAM_KEYS),
                Map.entry("access", AccessSections.ACCESS_KEYS),
                Map.entry("accessKey", AccessSections.KEY_KEYS),
                Map.entry("jwt", AccessSections.JWT_KEYS),
                Map.entry("cors", AccessSections.CORS_KEYS),
                Map.entry("auth", FetchSections.AUTH_KEYS),
                Map.entry("oauth2", FetchSections.OAUTH2_KEYS),
                Map.entry("basicAuth", FetchSections.BASIC_KEYS),
                Map.entry("budget", FetchSections.BUDGET_KEYS));
    }

    /**
     * Reads {@code file}, substituting variables from {@code env}. {@code PORT} in env overrides {@code server.port}.
     *
     * @throws ConfigException when the file is unreadable, malformed or invalid
     */
    public static ConfigFile load(Path file, Map<String, String> env) {
        YamlReader r = new YamlReader(file.toString(), env);
        return read(r, r.compose(file));
    }

    private static ConfigFile read(YamlReader r, Node root) {
        if (root == null) {
            throw new ConfigException(
                    r.file(), 0, "the file is empty; expected an \"aggregator\" section with sources");
        }
        Map<String, NodeTuple> top = r.mapping(root, null, "top level", TOP_KEYS);
        Map<String, String> server = new LinkedHashMap<>();
        Object serverTree = top.containsKey("server")
                ? r.flatten(top.get("server").getValueNode(), "server", server)
                : new LinkedHashMap<String, Object>();
        String port = r.env().get("PORT");
        boolean portFromEnv = port != null && !port.isBlank();
        if (portFromEnv) {
            server.put("server.port", port.trim());
            @SuppressWarnings("unchecked")
            Map<String, Object> tree =
                    serverTree instanceof Map<?, ?> m ? (Map<String, Object>) m : new LinkedHashMap<>();
            tree.put("port", port.trim());
            serverTree = tree;
        }
        if (server.containsKey("server.port")) {
            String p = server.get("server.port");
            if (!p.matches("\\d{1,5}") || Integer.parseInt(p) > 65535) {
                throw r.fail(
                        portFromEnv ? 0 : portLine(top.get("server").getValueNode()),
                        null,
                        "server.port",
                        (portFromEnv ? "env PORT " : "") + "\"" + p + "\" is not a port number (0-65535)");
            }
        }
        if (!top.containsKey("aggregator")) {
            throw new ConfigException(r.file(), 0, "missing the \"aggregator\" section with sources");
        }
        Node aggregatorNode = top.get("aggregator").getValueNode();
        AggregatorConfig aggregator = new AggregatorSection(r).read(aggregatorNode);
        String adminToken = adminToken(r, top);
        AccessConfig access = AccessSections.access(r, valueOf(top, "access"), aggregator, aggregatorNode, adminToken);
        CorsConfig cors = AccessSections.cors(r, valueOf(top, "cors"));
        return new ConfigFile(
                Path.of(r.file()),
                aggregator,
                server,
                serverTree(serverTree),
                adminToken,
                access,
                cors,
                cluster(r, top));
    }

    /**
     * {@code tree} (maps, lists and strings) under a top-level {@code server} key. Read as it is, not written out as
     * YAML for Helidon to parse again: that took the start through snakeyaml's emitter and two more YAML parses.
     */
    private static Map<String, Object> serverTree(Object tree) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("server", tree);
        return Collections.unmodifiableMap(doc);
    }

    private static Node valueOf(Map<String, NodeTuple> fields, String key) {
        return fields.containsKey(key) ? fields.get(key).getValueNode() : null;
    }

    /** The {@code cluster} section; env REDIS_URL supplies or overrides the URL. Never echoes the URL. */
    private static ClusterConfig cluster(YamlReader r, Map<String, NodeTuple> top) {
        Map<String, NodeTuple> redis = Map.of();
        int line = 0;
        if (top.containsKey("cluster")) {
            Node node = top.get("cluster").getValueNode();
            line = YamlReader.line(node);
            if (!(node instanceof ScalarNode s && s.getValue().isEmpty())) {
                Map<String, NodeTuple> cluster = r.mapping(node, null, "cluster", CLUSTER_KEYS);
                if (cluster.containsKey("redis")) {
                    Node redisNode = cluster.get("redis").getValueNode();
                    line = YamlReader.line(redisNode);
                    redis = r.mapping(redisNode, null, "cluster.redis", REDIS_KEYS);
                }
            }
        }
        String url = r.scalar(redis, "url", null, v -> v, null);
        if (redis.containsKey("url")) {
            line = YamlReader.line(redis.get("url").getValueNode());
        }
        String fromEnv = r.env().get("REDIS_URL");
        boolean urlFromEnv = fromEnv != null && !fromEnv.isBlank();
        if (urlFromEnv) {
            url = fromEnv.trim();
        }
        if (url == null || url.isBlank()) {
            if (!redis.isEmpty() && !redis.containsKey("url")) {
                throw r.fail(line, null, "cluster.redis.url", "is required (or set REDIS_URL)");
            }
            return null; // an empty url (e.g. "${REDIS_URL:-}") means: run alone
        }
        URI uri;
        try {
            uri = ClusterConfig.parseUrl(url);
        } catch (IllegalArgumentException e) {
            throw r.fail(
                    urlFromEnv ? 0 : line, null, urlFromEnv ? "env REDIS_URL" : "cluster.redis.url", e.getMessage());
        }
        try {
            return new ClusterConfig(
                    uri,
                    r.scalar(redis, "keyPrefix", null, v -> v, ClusterConfig.DEFAULT_KEY_PREFIX),
                    r.scalar(redis, "ttl", null, Durations::parse, ClusterConfig.DEFAULT_TTL),
                    r.scalar(redis, "timeout", null, Durations::parse, ClusterConfig.DEFAULT_TIMEOUT),
                    nodes(r, redis));
        } catch (InvalidField e) {
            throw r.fail(line, null, "cluster.redis." + e.field(), e.reason());
        }
    }

    /** {@code cluster.redis.nodes}: a list of {@code host:port}, or one comma-separated value (for env vars). */
    private static List<String> nodes(YamlReader r, Map<String, NodeTuple> redis) {
        NodeTuple t = redis.get("nodes");
        if (t == null) {
            return List.of();
        }
        Node v = t.getValueNode();
        List<Node> items = v instanceof SequenceNode seq ? seq.getValue() : List.of(v);
        List<String> nodes = new ArrayList<>();
        for (Node item : items) {
            if (!(item instanceof ScalarNode s)) {
                throw r.fail(YamlReader.line(item), null, "cluster.redis.nodes", "must list host:port values");
            }
            for (String n : r.substitute(s.getValue(), YamlReader.line(s), null, "cluster.redis.nodes")
                    .split(",")) {
                if (!n.isBlank()) {
                    nodes.add(n.trim());
                }
            }
        }
        return nodes;
    }

    private static String adminToken(YamlReader r, Map<String, NodeTuple> top) {
        String token = null;
        int line = 0;
        if (top.containsKey("admin")) {
            Node node = top.get("admin").getValueNode();
            line = YamlReader.line(node);
            token = r.scalar(r.mapping(node, null, "admin", ADMIN_KEYS), "token", null, v -> v, null);
        }
        String fromEnv = r.env().get("AGGREGATOR_ADMIN_TOKEN");
        if (fromEnv != null && !fromEnv.isBlank()) {
            token = fromEnv.trim();
            line = 0;
        }
        if (token == null || token.isBlank()) {
            return null;
        }
        if (token.length() < MIN_ADMIN_TOKEN_LENGTH || !token.matches("[\\x21-\\x7e]+")) {
            // never echo the token
            throw r.fail(
                    line,
                    null,
                    "admin.token",
                    "must be at least " + MIN_ADMIN_TOKEN_LENGTH + " printable characters without spaces");
        }
        return token;
    }

    private static int portLine(Node server) {
        if (server instanceof MappingNode m) {
            for (NodeTuple t : m.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("port")) {
                    return YamlReader.line(t.getValueNode());
                }
            }
        }
        return YamlReader.line(server);
    }
}
