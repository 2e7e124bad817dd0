package io.github.aggregator.config;

import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.source.BudgetConfig;
import io.github.aggregator.source.Durations;
import io.github.aggregator.source.InvalidField;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceTemplate;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
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
 * Reads the {@code aggregator} section: service-wide settings and the sources, plain and combined, with ids unique,
 * every part of a combination present and enabled, and no combination that loops.
 */
final class AggregatorSection {
    static final Set<String> AGGREGATOR_KEYS = Set.of(
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
            "writeTimeout",
            "historyMaxAge",
            "dataDir",
            "storeRetry",
            "budgets");
    static final Set<String> SOURCE_KEYS = Set.of(
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
            "budget",
            "params",
            "maxKeys");
    static final Set<String> COMBINED_KEYS = Set.of("id", "combine", "transform", "enabled", "access");

    private final YamlReader r;
    private final TemplateSection templateSection;
    /** The template read for each base config in the sources list, by identity. */
    private final Map<SourceConfig, SourceTemplate> templates = new IdentityHashMap<>();
    /** The line of each source's {@code budget} field, by source id. */
    private final Map<String, Integer> budgetLines = new LinkedHashMap<>();

    AggregatorSection(YamlReader r) {
        this.r = r;
        this.templateSection = new TemplateSection(r);
    }

    AggregatorConfig read(Node node) {
        Map<String, NodeTuple> fields = r.mapping(node, null, "aggregator", AGGREGATOR_KEYS);
        List<SourceConfig> sources = new ArrayList<>();
        if (fields.containsKey("sources")) {
            Node list = fields.get("sources").getValueNode();
            if (list instanceof ScalarNode s && s.getValue().isEmpty()) {
                // "sources:" with nothing under it: no sources
            } else if (!(list instanceof SequenceNode seq)) {
                throw r.fail(YamlReader.line(list), null, "sources", "must be a list of sources");
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
                    throw r.fail(YamlReader.line(item), sources.get(i).id(), "id", "duplicate id");
                }
            }
        }
        List<BudgetConfig> budgets = FetchSections.budgets(r, fields.get("budgets"));
        FetchSections.checkBudgets(r, budgets, sources, budgetLines);
        if (!sources.isEmpty()) {
            sources = new Combinations(r, templates)
                    .check(sources, ((SequenceNode) fields.get("sources").getValueNode()).getValue());
        }
        List<SourceTemplate> enabledTemplates = sources.stream()
                .filter(s -> templates.containsKey(s) && s.enabled())
                .map(templates::get)
                .toList();
        try {
            return new AggregatorConfig(
                    sources.stream().filter(s -> !templates.containsKey(s)).toList(),
                    r.scalar(fields, "historySize", null, Integer::parseInt, AggregatorConfig.DEFAULT_HISTORY_SIZE),
                    r.scalar(fields, "coldWait", null, Durations::parse, AggregatorConfig.DEFAULT_COLD_WAIT),
                    r.scalar(fields, "heartbeat", null, Durations::parse, AggregatorConfig.DEFAULT_HEARTBEAT),
                    r.scalar(fields, "retry", null, Durations::parse, AggregatorConfig.DEFAULT_RETRY),
                    r.scalar(
                            fields,
                            "subscriberQueue",
                            null,
                            Integer::parseInt,
                            AggregatorConfig.DEFAULT_SUBSCRIBER_QUEUE),
                    r.scalar(fields, "userAgent", null, v -> v, AggregatorConfig.DEFAULT_USER_AGENT),
                    r.scalar(fields, "retrySpread", null, Durations::parse, AggregatorConfig.DEFAULT_RETRY_SPREAD),
                    r.scalar(
                            fields,
                            "maxSubscribers",
                            null,
                            Integer::parseInt,
                            AggregatorConfig.DEFAULT_MAX_SUBSCRIBERS),
                    r.scalar(
                            fields,
                            "maxSubscribersPerClient",
                            null,
                            Integer::parseInt,
                            AggregatorConfig.DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT),
                    r.scalar(
                            fields,
                            "maxSourcesPerStream",
                            null,
                            Integer::parseInt,
                            AggregatorConfig.DEFAULT_MAX_SOURCES_PER_STREAM),
                    r.scalar(fields, "clientAddressHeader", null, v -> v, null),
                    r.scalar(fields, "writeTimeout", null, Durations::parse, AggregatorConfig.DEFAULT_WRITE_TIMEOUT),
                    r.scalar(fields, "historyMaxAge", null, Durations::parse, AggregatorConfig.DEFAULT_HISTORY_MAX_AGE),
                    dataDir(fields),
                    r.scalar(fields, "storeRetry", null, Durations::parse, AggregatorConfig.DEFAULT_STORE_RETRY),
                    enabledTemplates,
                    budgets);
        } catch (InvalidField e) {
            throw r.refused(e, fields, node, null, "");
        }
    }

    /** A data directory's leading placeholder for the JVM's temporary directory, found at run time. */
    static final String TMPDIR = "${java.io.tmpdir}";

    /**
     * {@code aggregator.dataDir}, which env {@code AGGREGATOR_DATA_DIR} overrides; empty (in either) turns the durable
     * store off; a leading {@link #TMPDIR} stands for the JVM's temporary directory.
     */
    private java.nio.file.Path dataDir(Map<String, NodeTuple> fields) {
        Map<String, String> env = r.env();
        String fromEnv = env.get("AGGREGATOR_DATA_DIR");
        String dir = fromEnv != null ? fromEnv : r.scalar(fields, "dataDir", null, v -> v, null);
        if (dir == null) {
            return AggregatorConfig.DEFAULT_DATA_DIR;
        }
        if (dir.isBlank()) {
            return null;
        }
        String path = dir.trim();
        if (path.startsWith(TMPDIR)) {
            path = System.getProperty("java.io.tmpdir") + path.substring(TMPDIR.length());
        }
        try {
            return java.nio.file.Path.of(path);
        } catch (java.nio.file.InvalidPathException e) {
            NodeTuple t = fields.get("dataDir");
            throw r.fail(
                    fromEnv != null || t == null ? 0 : YamlReader.line(t.getValueNode()),
                    null,
                    fromEnv != null ? "env AGGREGATOR_DATA_DIR" : "dataDir",
                    "is not a usable path");
        }
    }

    private SourceConfig source(Node node) {
        if (!(node instanceof MappingNode)) {
            throw r.fail(
                    YamlReader.line(node), null, "sources", "each source must be a mapping with id, url and interval");
        }
        String id = r.rawScalar((MappingNode) node, "id");
        boolean combined = YamlReader.hasKey((MappingNode) node, "combine");
        Map<String, NodeTuple> fields =
                r.mapping(node, id, combined ? "combined source" : "source", combined ? COMBINED_KEYS : SOURCE_KEYS);
        if (id == null) {
            throw r.fail(YamlReader.line(node), null, "id", "is required");
        }
        if (id.indexOf('(') >= 0) {
            throw r.fail(
                    YamlReader.line(node),
                    null,
                    "id",
                    "must match [a-z0-9][a-z0-9-]* and be at most 64 characters, got \"" + id + "\"");
        }
        boolean enabled = r.scalar(fields, "enabled", id, v -> YamlReader.bool(v), true);
        if (!enabled && r.usesUnsetVariable(node)) {
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
                throw r.fail(YamlReader.line(h), id, "headers", "must be a mapping of header name to value");
            }
            r.unique(hm, id, "headers.");
            for (NodeTuple t : hm.getValue()) {
                String key = r.keyOf(t);
                if (!(t.getValueNode() instanceof ScalarNode v)) {
                    throw r.fail(YamlReader.line(t.getValueNode()), id, "headers." + key, "must be a string");
                }
                headers.put(key, r.substitute(v.getValue(), YamlReader.line(v), id, "headers." + key));
            }
        }
        String url = r.scalar(fields, "url", id, v -> v, null);
        URI uri;
        if (url == null || url.isBlank()) {
            throw r.fail(YamlReader.line(node), id, "url", "is required");
        }
        boolean parametrised = fields.containsKey("params");
        if (!parametrised && fields.containsKey("maxKeys")) {
            throw r.fail(YamlReader.line(fields.get("maxKeys").getKeyNode()), id, "maxKeys", "needs params");
        }
        if (parametrised && fields.containsKey("poll")) {
            throw r.fail(
                    YamlReader.line(fields.get("poll").getKeyNode()),
                    id,
                    "poll",
                    "a parametrised source is always polled on demand; leave poll out");
        }
        try {
            if (parametrised) {
                SourceTemplate.placeholders(url.trim());
            } else if (url.indexOf('{') >= 0 && url.matches(".*\\{[A-Za-z][A-Za-z0-9_]*}.*")) {
                throw new InvalidField("url", "has a placeholder but the source has no params");
            }
        } catch (InvalidField e) {
            throw r.fail(YamlReader.line(fields.get("url").getValueNode()), id, "url", e.reason());
        }
        try {
            uri = new URI(parametrised ? SourceTemplate.sample(url.trim()) : url.trim());
        } catch (URISyntaxException e) {
            throw r.fail(YamlReader.line(fields.get("url").getValueNode()), id, "url", "is not a valid URL");
        }
        AuthConfig auth = FetchSections.auth(r, fields.get("auth"), id, headers);
        SourceConfig base;
        try {
            base = new SourceConfig(
                    id,
                    uri,
                    r.scalar(fields, "interval", id, Durations::parse, SourceConfig.DEFAULT_INTERVAL),
                    r.scalar(fields, "timeout", id, Durations::parse, SourceConfig.DEFAULT_TIMEOUT),
                    headers,
                    r.scalar(fields, "select", id, v -> v, null),
                    enabled,
                    r.scalar(fields, "maxBodySize", id, YamlReader::size, SourceConfig.DEFAULT_MAX_BODY_SIZE),
                    r.scalar(fields, "transform", id, YamlReader::jq, null),
                    r.scalar(fields, "format", id, v -> YamlReader.choice(SourceConfig.Format.class, v), null),
                    parametrised
                            ? SourceConfig.Poll.ON_DEMAND
                            : r.scalar(fields, "poll", id, v -> YamlReader.choice(SourceConfig.Poll.class, v), null),
                    r.scalar(fields, "idleAfter", id, Durations::parse, null),
                    r.scalar(fields, "minInterval", id, Durations::parse, null),
                    r.scalar(fields, "maxBackoff", id, Durations::parse, null),
                    List.of(),
                    r.scalar(fields, "access", id, v -> YamlReader.choice(SourceConfig.Access.class, v), null),
                    auth,
                    budget(fields, id));
        } catch (InvalidField e) {
            throw r.refused(e, fields, node, id, "");
        }
        if (parametrised) {
            templates.put(base, templateSection.read(id, fields, node, base, url.trim()));
        }
        return base;
    }

    /** The {@code budget} a source names (checked against the budgets once all are read), or null. */
    private String budget(Map<String, NodeTuple> fields, String id) {
        NodeTuple t = fields.get("budget");
        if (t != null) {
            budgetLines.put(id, YamlReader.line(t.getValueNode()));
        }
        return r.scalar(fields, "budget", id, v -> v.trim(), null);
    }

    private SourceConfig combinedSource(String id, boolean enabled, Map<String, NodeTuple> fields, Node node) {
        Node list = fields.get("combine").getValueNode();
        if (!(list instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
            throw r.fail(YamlReader.line(list), id, "combine", "must be a non-empty list of source ids");
        }
        List<String> parts = new ArrayList<>();
        for (Node item : seq.getValue()) {
            if (!(item instanceof ScalarNode part)) {
                throw r.fail(YamlReader.line(item), id, "combine", "must be a list of source ids");
            }
            String p = r.substitute(part.getValue(), YamlReader.line(item), id, "combine")
                    .trim();
            if (parts.contains(p)) {
                throw r.fail(YamlReader.line(item), id, "combine", "lists \"" + p + "\" twice");
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
                r.scalar(fields, "transform", id, YamlReader::jq, null),
                null,
                null,
                null,
                null,
                null,
                parts,
                r.scalar(fields, "access", id, v -> YamlReader.choice(SourceConfig.Access.class, v), null));
    }
}
