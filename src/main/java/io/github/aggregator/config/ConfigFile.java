package io.github.aggregator.config;

import io.github.aggregator.fetch.Jq;
import io.github.aggregator.source.AccessConfig;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.source.ClusterConfig;
import io.github.aggregator.source.CorsConfig;
import io.github.aggregator.source.Durations;
import io.github.aggregator.source.SourceConfig;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
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
 * @param server the {@code server} section flattened to dotted keys, for Helidon's web server
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
        String adminToken,
        AccessConfig access,
        CorsConfig cors,
        ClusterConfig cluster) {

    private static final Set<String> TOP_KEYS = Set.of("server", "aggregator", "admin", "access", "cors", "cluster");
    private static final Set<String> ADMIN_KEYS = Set.of("token");
    private static final Set<String> CLUSTER_KEYS = Set.of("redis");
    private static final Set<String> REDIS_KEYS = Set.of("url", "keyPrefix", "ttl", "timeout");
    /** Shorter admin tokens are refused: they could be guessed. */
    static final int MIN_ADMIN_TOKEN_LENGTH = 16;

    @Override
    public String toString() {
        return "ConfigFile[file=" + file + ", admin=" + (adminToken == null ? "off" : "on") + ", cluster="
                + (cluster == null ? "off" : cluster.where()) + "]";
    }

    private static final Set<String> AGGREGATOR_KEYS = Set.of(
            "sources",
            "historySize",
            "coldWait",
            "heartbeat",
            "retry",
            "retrySpread",
            "subscriberQueue",
            "userAgent",
            "maxSubscribers",
            "maxSubscribersPerClient",
            "maxSourcesPerStream",
            "clientAddressHeader",
            "writeTimeout");
    private static final Set<String> SOURCE_KEYS = Set.of(
            "id",
            "url",
            "interval",
            "timeout",
            "headers",
            "select",
            "enabled",
            "maxBodySize",
            "transform",
            "format",
            "poll",
            "idleAfter",
            "minInterval",
            "maxBackoff",
            "access",
            "auth",
            "budget");
    private static final Set<String> COMBINED_KEYS = Set.of("id", "combine", "transform", "enabled", "access");
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
                Map.entry("aggregator", AGGREGATOR_KEYS),
                Map.entry("source", SOURCE_KEYS),
                Map.entry("combinedSource", COMBINED_KEYS),
                Map.entry("access", AccessSections.ACCESS_KEYS),
                Map.entry("accessKey", AccessSections.KEY_KEYS),
                Map.entry("jwt", AccessSections.JWT_KEYS),
                Map.entry("cors", AccessSections.CORS_KEYS),
                Map.entry("auth", FetchSections.AUTH_KEYS),
                Map.entry("oauth2", FetchSections.OAUTH2_KEYS),
                Map.entry("basicAuth", FetchSections.BASIC_KEYS));
    }

    private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\\+)([^}]*))?}");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB)?");

    /**
     * Reads {@code file}, substituting variables from {@code env}. {@code PORT} in env overrides {@code server.port}.
     *
     * @throws ConfigException when the file is unreadable, malformed or invalid
     */
    public static ConfigFile load(Path file, Map<String, String> env) {
        String name = file.toString();
        Node root;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            options.setMaxAliasesForCollections(20);
            root = new Yaml(options).compose(reader);
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
            String problem = e.getProblem() == null ? "syntax error" : e.getProblem();
            throw new ConfigException(name + ":" + line + ": malformed YAML: " + oneLine(problem));
        } catch (YAMLException e) {
            throw new ConfigException(name + ": malformed YAML: " + oneLine(String.valueOf(e.getMessage())));
        } catch (IOException e) {
            throw new ConfigException(
                    name + ": cannot read config file (" + e.getClass().getSimpleName() + ")");
        }
        return new Reading(name, env).read(root);
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }

    /** One pass over one file; keeps the file name and env for messages and substitution. */
    record Reading(String file, Map<String, String> env) {

        ConfigFile read(Node root) {
            if (root == null) {
                throw new ConfigException(
                        file + ": the file is empty; expected an \"aggregator\" section with sources");
            }
            Map<String, NodeTuple> top = mapping(root, null, "top level", TOP_KEYS);
            Map<String, String> server = new LinkedHashMap<>();
            if (top.containsKey("server")) {
                flatten(top.get("server").getValueNode(), "server", server);
            }
            String port = env.get("PORT");
            boolean portFromEnv = port != null && !port.isBlank();
            if (portFromEnv) {
                server.put("server.port", port.trim());
            }
            if (server.containsKey("server.port")) {
                String p = server.get("server.port");
                if (!p.matches("\\d{1,5}") || Integer.parseInt(p) > 65535) {
                    throw fail(
                            portFromEnv ? 0 : portLine(top.get("server").getValueNode()),
                            null,
                            "server.port",
                            (portFromEnv ? "env PORT " : "") + "\"" + p + "\" is not a port number (0-65535)");
                }
            }
            if (!top.containsKey("aggregator")) {
                throw new ConfigException(file + ": missing the \"aggregator\" section with sources");
            }
            Node aggregatorNode = top.get("aggregator").getValueNode();
            AggregatorConfig aggregator = aggregator(aggregatorNode);
            String adminToken = adminToken(top);
            AccessConfig access =
                    AccessSections.access(this, valueOf(top, "access"), aggregator, aggregatorNode, adminToken);
            CorsConfig cors = AccessSections.cors(this, valueOf(top, "cors"));
            return new ConfigFile(Path.of(file), aggregator, server, adminToken, access, cors, cluster(top));
        }

        private static Node valueOf(Map<String, NodeTuple> fields, String key) {
            return fields.containsKey(key) ? fields.get(key).getValueNode() : null;
        }

        /** The {@code cluster} section; env REDIS_URL supplies or overrides the URL. Never echoes the URL. */
        private ClusterConfig cluster(Map<String, NodeTuple> top) {
            Map<String, NodeTuple> redis = Map.of();
            int line = 0;
            if (top.containsKey("cluster")) {
                Node node = top.get("cluster").getValueNode();
                line = line(node);
                if (!(node instanceof ScalarNode s && s.getValue().isEmpty())) {
                    Map<String, NodeTuple> cluster = mapping(node, null, "cluster", CLUSTER_KEYS);
                    if (cluster.containsKey("redis")) {
                        Node r = cluster.get("redis").getValueNode();
                        line = line(r);
                        redis = mapping(r, null, "cluster.redis", REDIS_KEYS);
                    }
                }
            }
            String url = scalar(redis, "url", null, v -> v, null);
            if (redis.containsKey("url")) {
                line = line(redis.get("url").getValueNode());
            }
            String fromEnv = env.get("REDIS_URL");
            boolean urlFromEnv = fromEnv != null && !fromEnv.isBlank();
            if (urlFromEnv) {
                url = fromEnv.trim();
            }
            if (url == null || url.isBlank()) {
                if (!redis.isEmpty() && !redis.containsKey("url")) {
                    throw fail(line, null, "cluster.redis.url", "is required (or set REDIS_URL)");
                }
                return null; // an empty url (e.g. "${REDIS_URL:-}") means: run alone
            }
            URI uri;
            try {
                uri = ClusterConfig.parseUrl(url);
            } catch (IllegalArgumentException e) {
                throw fail(
                        urlFromEnv ? 0 : line,
                        null,
                        urlFromEnv ? "env REDIS_URL" : "cluster.redis.url",
                        e.getMessage());
            }
            try {
                return new ClusterConfig(
                        uri,
                        scalar(redis, "keyPrefix", null, v -> v, ClusterConfig.DEFAULT_KEY_PREFIX),
                        scalar(redis, "ttl", null, Durations::parse, ClusterConfig.DEFAULT_TTL),
                        scalar(redis, "timeout", null, Durations::parse, ClusterConfig.DEFAULT_TIMEOUT));
            } catch (IllegalArgumentException e) {
                throw fieldError(line, null, "cluster.redis." + e.getMessage());
            }
        }

        private String adminToken(Map<String, NodeTuple> top) {
            String token = null;
            int line = 0;
            if (top.containsKey("admin")) {
                Node node = top.get("admin").getValueNode();
                line = line(node);
                token = scalar(mapping(node, null, "admin", ADMIN_KEYS), "token", null, v -> v, null);
            }
            String fromEnv = env.get("AGGREGATOR_ADMIN_TOKEN");
            if (fromEnv != null && !fromEnv.isBlank()) {
                token = fromEnv.trim();
                line = 0;
            }
            if (token == null || token.isBlank()) {
                return null;
            }
            if (token.length() < MIN_ADMIN_TOKEN_LENGTH || !token.matches("[\\x21-\\x7e]+")) {
                // never echo the token
                throw fail(
                        line,
                        null,
                        "admin.token",
                        "must be at least " + MIN_ADMIN_TOKEN_LENGTH + " printable characters without spaces");
            }
            return token;
        }

        private AggregatorConfig aggregator(Node node) {
            Map<String, NodeTuple> fields = mapping(node, null, "aggregator", AGGREGATOR_KEYS);
            List<SourceConfig> sources = new ArrayList<>();
            if (fields.containsKey("sources")) {
                Node list = fields.get("sources").getValueNode();
                if (list instanceof ScalarNode s && s.getValue().isEmpty()) {
                    // "sources:" with nothing under it: no sources
                } else if (!(list instanceof SequenceNode seq)) {
                    throw fail(line(list), null, "sources", "must be a list of sources");
                } else {
                    for (Node item : seq.getValue()) {
                        sources.add(source(item));
                    }
                }
            }
            for (int i = 0; i < sources.size(); i++) {
                for (int j = 0; j < i; j++) {
                    if (sources.get(i).id().equals(sources.get(j).id())) {
                        Node item = ((SequenceNode) fields.get("sources").getValueNode())
                                .getValue()
                                .get(i);
                        throw fail(line(item), sources.get(i).id(), "id", "duplicate id");
                    }
                }
            }
            if (!sources.isEmpty()) {
                checkCombinations(sources, ((SequenceNode) fields.get("sources").getValueNode()).getValue());
            }
            try {
                return new AggregatorConfig(
                        sources,
                        scalar(fields, "historySize", null, Integer::parseInt, AggregatorConfig.DEFAULT_HISTORY_SIZE),
                        scalar(fields, "coldWait", null, Durations::parse, AggregatorConfig.DEFAULT_COLD_WAIT),
                        scalar(fields, "heartbeat", null, Durations::parse, AggregatorConfig.DEFAULT_HEARTBEAT),
                        scalar(fields, "retry", null, Durations::parse, AggregatorConfig.DEFAULT_RETRY),
                        scalar(
                                fields,
                                "subscriberQueue",
                                null,
                                Integer::parseInt,
                                AggregatorConfig.DEFAULT_SUBSCRIBER_QUEUE),
                        scalar(fields, "userAgent", null, v -> v, AggregatorConfig.DEFAULT_USER_AGENT),
                        scalar(fields, "retrySpread", null, Durations::parse, AggregatorConfig.DEFAULT_RETRY_SPREAD),
                        scalar(
                                fields,
                                "maxSubscribers",
                                null,
                                Integer::parseInt,
                                AggregatorConfig.DEFAULT_MAX_SUBSCRIBERS),
                        scalar(
                                fields,
                                "maxSubscribersPerClient",
                                null,
                                Integer::parseInt,
                                AggregatorConfig.DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT),
                        scalar(
                                fields,
                                "maxSourcesPerStream",
                                null,
                                Integer::parseInt,
                                AggregatorConfig.DEFAULT_MAX_SOURCES_PER_STREAM),
                        scalar(fields, "clientAddressHeader", null, v -> v, null),
                        scalar(fields, "writeTimeout", null, Durations::parse, AggregatorConfig.DEFAULT_WRITE_TIMEOUT));
            } catch (IllegalArgumentException e) {
                NodeTuple t = fields.get(e.getMessage().split(":", 2)[0]);
                throw fieldError(t == null ? line(node) : line(t.getValueNode()), null, e.getMessage());
            }
        }

        private SourceConfig source(Node node) {
            if (!(node instanceof MappingNode)) {
                throw fail(line(node), null, "sources", "each source must be a mapping with id, url and interval");
            }
            String id = rawScalar((MappingNode) node, "id");
            boolean combined = hasKey((MappingNode) node, "combine");
            Map<String, NodeTuple> fields =
                    mapping(node, id, combined ? "combined source" : "source", combined ? COMBINED_KEYS : SOURCE_KEYS);
            if (id == null) {
                throw fail(line(node), null, "id", "is required");
            }
            boolean enabled = scalar(fields, "enabled", id, v -> bool(v), true);
            if (!enabled && usesUnsetVariable(node)) {
                // kept in the file for later, never polled: only its id and field names can be checked now
                return SourceConfig.placeholder(id);
            }
            if (combined) {
                return combinedSource(id, enabled, fields, node);
            }
            Map<String, String> headers = new LinkedHashMap<>();
            if (fields.containsKey("headers")) {
                Node h = fields.get("headers").getValueNode();
                if (!(h instanceof MappingNode hm)) {
                    throw fail(line(h), id, "headers", "must be a mapping of header name to value");
                }
                unique(hm, id, "headers.");
                for (NodeTuple t : hm.getValue()) {
                    String key = keyOf(t);
                    if (!(t.getValueNode() instanceof ScalarNode v)) {
                        throw fail(line(t.getValueNode()), id, "headers." + key, "must be a string");
                    }
                    headers.put(key, substitute(v.getValue(), line(v), id, "headers." + key));
                }
            }
            String url = scalar(fields, "url", id, v -> v, null);
            URI uri;
            if (url == null || url.isBlank()) {
                throw fail(line(node), id, "url", "is required");
            }
            try {
                uri = new URI(url.trim());
            } catch (URISyntaxException e) {
                throw fail(line(fields.get("url").getValueNode()), id, "url", "is not a valid URL");
            }
            AuthConfig auth = FetchSections.auth(this, fields.get("auth"), id, headers);
            String budget = scalar(fields, "budget", id, v -> v, null);
            try {
                return new SourceConfig(
                        id,
                        uri,
                        scalar(fields, "interval", id, Durations::parse, SourceConfig.DEFAULT_INTERVAL),
                        scalar(fields, "timeout", id, Durations::parse, SourceConfig.DEFAULT_TIMEOUT),
                        headers,
                        scalar(fields, "select", id, v -> v, null),
                        enabled,
                        scalar(fields, "maxBodySize", id, Reading::size, SourceConfig.DEFAULT_MAX_BODY_SIZE),
                        scalar(fields, "transform", id, Reading::jq, null),
                        scalar(fields, "format", id, v -> choice(SourceConfig.Format.class, v), null),
                        scalar(fields, "poll", id, v -> choice(SourceConfig.Poll.class, v), null),
                        scalar(fields, "idleAfter", id, Durations::parse, null),
                        scalar(fields, "minInterval", id, Durations::parse, null),
                        scalar(fields, "maxBackoff", id, Durations::parse, null),
                        List.of(),
                        scalar(fields, "access", id, v -> choice(SourceConfig.Access.class, v), null),
                        auth,
                        budget);
            } catch (IllegalArgumentException e) {
                String field = e.getMessage().split(":", 2)[0];
                NodeTuple t = fields.get(field.split("\\.", 2)[0]);
                throw fieldError(t == null ? line(node) : line(t.getValueNode()), id, e.getMessage());
            }
        }

        private SourceConfig combinedSource(String id, boolean enabled, Map<String, NodeTuple> fields, Node node) {
            Node list = fields.get("combine").getValueNode();
            if (!(list instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
                throw fail(line(list), id, "combine", "must be a non-empty list of source ids");
            }
            List<String> parts = new ArrayList<>();
            for (Node item : seq.getValue()) {
                if (!(item instanceof ScalarNode part)) {
                    throw fail(line(item), id, "combine", "must be a list of source ids");
                }
                String p =
                        substitute(part.getValue(), line(item), id, "combine").trim();
                if (parts.contains(p)) {
                    throw fail(line(item), id, "combine", "lists \"" + p + "\" twice");
                }
                parts.add(p);
            }
            return new SourceConfig(
                    id,
                    null,
                    SourceConfig.DEFAULT_INTERVAL,
                    SourceConfig.DEFAULT_TIMEOUT,
                    Map.of(),
                    null,
                    enabled,
                    SourceConfig.DEFAULT_MAX_BODY_SIZE,
                    scalar(fields, "transform", id, Reading::jq, null),
                    null,
                    null,
                    null,
                    null,
                    null,
                    parts,
                    scalar(fields, "access", id, v -> choice(SourceConfig.Access.class, v), null));
        }

        /** Every part of a combined source exists, is enabled when the combination is, and no combination loops. */
        private void checkCombinations(List<SourceConfig> sources, List<Node> nodes) {
            Map<String, SourceConfig> byId = new LinkedHashMap<>();
            sources.forEach(s -> byId.put(s.id(), s));
            for (int i = 0; i < sources.size(); i++) {
                SourceConfig s = sources.get(i);
                for (String part : s.combine()) {
                    SourceConfig p = byId.get(part);
                    if (p == null) {
                        throw fail(line(nodes.get(i)), s.id(), "combine", "unknown source \"" + part + "\"");
                    }
                    if (s.enabled() && !p.enabled()) {
                        throw fail(line(nodes.get(i)), s.id(), "combine", "source \"" + part + "\" is disabled");
                    }
                }
                List<String> cycle = cycleFrom(s.id(), byId, new ArrayList<>());
                if (cycle != null) {
                    throw fail(line(nodes.get(i)), s.id(), "combine", "cycle " + String.join(" -> ", cycle));
                }
            }
        }

        private static List<String> cycleFrom(String id, Map<String, SourceConfig> byId, List<String> path) {
            if (path.contains(id)) {
                List<String> cycle = new ArrayList<>(path.subList(path.indexOf(id), path.size()));
                cycle.add(id);
                return cycle;
            }
            path.add(id);
            for (String part : byId.get(id).combine()) {
                List<String> found = cycleFrom(part, byId, path);
                if (found != null) {
                    return found;
                }
            }
            path.remove(path.size() - 1);
            return null;
        }

        private static boolean hasKey(MappingNode node, String key) {
            return node.getValue().stream()
                    .anyMatch(t -> t.getKeyNode() instanceof ScalarNode k
                            && k.getValue().equals(key));
        }

        static <E extends Enum<E>> E choice(Class<E> type, String value) {
            String v = value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            for (E e : type.getEnumConstants()) {
                if (e.name().equals(v)) {
                    return e;
                }
            }
            List<String> names = new ArrayList<>();
            for (E e : type.getEnumConstants()) {
                names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
            }
            throw new IllegalArgumentException("\"" + value + "\" is not one of " + String.join(", ", names));
        }

        <T> T scalar(Map<String, NodeTuple> fields, String key, String id, Function<String, T> parse, T dflt) {
            NodeTuple t = fields.get(key);
            if (t == null) {
                return dflt;
            }
            Node v = t.getValueNode();
            if (!(v instanceof ScalarNode s)) {
                throw fail(line(v), id, key, "must be a single value, not a list or mapping");
            }
            String text = substitute(s.getValue(), line(v), id, key);
            try {
                return parse.apply(text);
            } catch (NumberFormatException e) {
                throw fail(line(v), id, key, "\"" + text + "\" is not a whole number");
            } catch (IllegalArgumentException e) {
                throw fail(line(v), id, key, e.getMessage());
            }
        }

        String substitute(String value, int line, String id, String field) {
            Matcher m = VAR.matcher(value);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String set = env.get(m.group(1));
                boolean present = set != null && !set.isEmpty();
                String replacement;
                if (":-".equals(m.group(2))) {
                    replacement = present ? set : m.group(3);
                } else if (":+".equals(m.group(2))) {
                    replacement = present ? m.group(3) : "";
                } else if (set != null) {
                    replacement = set;
                } else {
                    throw fail(line, id, field, "environment variable " + m.group(1) + " is not set");
                }
                m.appendReplacement(out, Matcher.quoteReplacement(replacement));
            }
            m.appendTail(out);
            return out.toString();
        }

        Map<String, NodeTuple> mapping(Node node, String id, String what, Set<String> known) {
            if (!(node instanceof MappingNode m)) {
                throw fail(line(node), id, what, "must be a mapping");
            }
            unique(m, id, "");
            Map<String, NodeTuple> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                String key = keyOf(t);
                if (!known.contains(key)) {
                    throw fail(
                            line(t.getKeyNode()),
                            id,
                            key,
                            "unknown field in " + what + " (known: " + String.join(", ", sorted(known)) + ")");
                }
                out.put(key, t);
            }
            return out;
        }

        private String rawScalar(MappingNode node, String key) {
            for (NodeTuple t : node.getValue()) {
                if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                    if (t.getValueNode() instanceof ScalarNode v) {
                        return v.getValue();
                    }
                    throw fail(line(t.getValueNode()), null, key, "must be a string");
                }
            }
            return null;
        }

        String keyOf(NodeTuple t) {
            if (t.getKeyNode() instanceof ScalarNode k) {
                return k.getValue();
            }
            throw fail(line(t.getKeyNode()), null, "key", "keys must be plain strings");
        }

        private void flatten(Node node, String prefix, Map<String, String> out) {
            if (node instanceof ScalarNode s) {
                out.put(prefix, substitute(s.getValue(), line(s), null, prefix));
            } else if (node instanceof MappingNode m) {
                unique(m, null, prefix + ".");
                for (NodeTuple t : m.getValue()) {
                    flatten(t.getValueNode(), prefix + "." + keyOf(t), out);
                }
            } else if (node instanceof SequenceNode seq) {
                for (int i = 0; i < seq.getValue().size(); i++) {
                    flatten(seq.getValue().get(i), prefix + "." + i, out);
                }
            }
        }

        private static int portLine(Node server) {
            if (server instanceof MappingNode m) {
                for (NodeTuple t : m.getValue()) {
                    if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("port")) {
                        return line(t.getValueNode());
                    }
                }
            }
            return line(server);
        }

        /** True when a scalar under {@code node} refers to an unset variable with plain {@code ${VAR}}. */
        private boolean usesUnsetVariable(Node node) {
            if (node instanceof ScalarNode s) {
                Matcher m = VAR.matcher(s.getValue());
                while (m.find()) {
                    if (m.group(2) == null && !env.containsKey(m.group(1))) {
                        return true;
                    }
                }
                return false;
            }
            if (node instanceof MappingNode m) {
                return m.getValue().stream().anyMatch(t -> usesUnsetVariable(t.getValueNode()));
            }
            if (node instanceof SequenceNode seq) {
                return seq.getValue().stream().anyMatch(this::usesUnsetVariable);
            }
            return false;
        }

        /**
         * SnakeYAML's duplicate-key check runs only when constructing objects, not in {@code compose}. Header names
         * are compared without case, as HTTP does.
         */
        private void unique(MappingNode m, String id, String prefix) {
            Set<String> seen = new HashSet<>();
            for (NodeTuple t : m.getValue()) {
                String key = keyOf(t);
                if (!seen.add(prefix.equals("headers.") ? key.toLowerCase(Locale.ROOT) : key)) {
                    throw fail(line(t.getKeyNode()), id, prefix + key, "is given more than once");
                }
            }
        }

        private ConfigException fieldError(int line, String id, String message) {
            String[] parts = message.split(": ", 2);
            return parts.length == 2 ? fail(line, id, parts[0], parts[1]) : fail(line, id, "?", message);
        }

        ConfigException fail(int line, String id, String field, String reason) {
            StringBuilder sb = new StringBuilder(file);
            if (line > 0) {
                sb.append(':').append(line);
            }
            sb.append(": ");
            if (id != null) {
                sb.append("source \"").append(id).append("\" ");
            }
            sb.append("field \"").append(field).append("\": ").append(oneLine(reason));
            return new ConfigException(sb.toString());
        }

        static int line(Node node) {
            return node == null || node.getStartMark() == null
                    ? 0
                    : node.getStartMark().getLine() + 1;
        }

        /** {@code v} when it compiles as jq (the fetch side compiles it again, once per text). */
        private static String jq(String v) {
            Jq.compile(v);
            return v;
        }

        static boolean bool(String v) {
            return switch (v.trim().toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on" -> true;
                case "false", "no", "off", "" -> false;
                default -> throw new IllegalArgumentException("\"" + v + "\" is not true or false");
            };
        }

        private static long size(String v) {
            Matcher m = SIZE.matcher(v.trim());
            if (!m.matches()) {
                throw new IllegalArgumentException(
                        "\"" + v + "\" is not a size (use bytes or a unit: 512KiB, 5MiB, 1MB)");
            }
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "B" : m.group(2);
            try {
                return switch (unit) {
                    case "KB" -> Math.multiplyExact(n, 1000);
                    case "KiB" -> Math.multiplyExact(n, 1024);
                    case "MB" -> Math.multiplyExact(n, 1000_000);
                    case "MiB" -> Math.multiplyExact(n, 1024 * 1024);
                    default -> n;
                };
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("\"" + v + "\" is too large");
            }
        }

        private static List<String> sorted(Set<String> keys) {
            return keys.stream().sorted().toList();
        }
    }
}
