package io.github.aggregator.config;

import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.source.BudgetConfig;
import io.github.aggregator.source.InvalidField;
import io.github.aggregator.source.SourceConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads what a source needs to be a careful API client: its {@code auth}, and the shared request budgets ({@code
 * aggregator.budgets}) sources name in their {@code budget}. Messages follow {@link YamlReader}'s one-line form and
 * never contain a secret.
 */
final class FetchSections {
    static final Set<String> AUTH_KEYS = Set.of("oauth2", "bearerFile", "basic");
    static final Set<String> OAUTH2_KEYS =
            Set.of("tokenUrl", "clientId", "clientSecret", "scope", "audience", "clientAuth");
    static final Set<String> BASIC_KEYS = Set.of("user", "password");
    static final Set<String> BUDGET_KEYS = Set.of("id", "limits");

    private FetchSections() {}

    /** The {@code auth} field of source {@code id} (exactly one kind), or null when it is absent or empty. */
    static AuthConfig auth(YamlReader r, NodeTuple tuple, String id, Map<String, String> headers) {
        if (tuple == null) {
            return null;
        }
        Node node = tuple.getValueNode();
        if (node instanceof ScalarNode s && s.getValue().isEmpty()) {
            return null; // "auth:" with nothing under it: none
        }
        int line = YamlReader.line(node);
        Map<String, NodeTuple> fields = r.mapping(node, id, "auth", AUTH_KEYS);
        if (fields.size() != 1) {
            throw r.fail(line, id, "auth", "must have exactly one of basic, bearerFile, oauth2");
        }
        if (headers.keySet().stream().anyMatch(h -> h.equalsIgnoreCase("Authorization"))) {
            throw r.fail(line, id, "auth", "cannot be used together with an Authorization header");
        }
        String kind = fields.keySet().iterator().next();
        Node value = fields.get(kind).getValueNode();
        int valueLine = YamlReader.line(value);
        try {
            return switch (kind) {
                case "bearerFile" -> {
                    String file = r.scalar(fields, "bearerFile", id, v -> v, null);
                    try {
                        yield new AuthConfig.BearerFile(Path.of(file.trim()));
                    } catch (InvalidPathException e) {
                        throw new InvalidField("auth.bearerFile", "is not a file path");
                    }
                }
                case "basic" -> {
                    Map<String, NodeTuple> b = r.mapping(value, id, "auth.basic", BASIC_KEYS);
                    yield new AuthConfig.Basic(
                            r.scalar(b, "user", id, v -> v, null), r.scalar(b, "password", id, v -> v, null));
                }
                default -> {
                    Map<String, NodeTuple> o = r.mapping(value, id, "auth.oauth2", OAUTH2_KEYS);
                    String url = r.scalar(o, "tokenUrl", id, v -> v, null);
                    URI tokenUrl;
                    try {
                        tokenUrl = url == null ? null : new URI(url.trim());
                    } catch (URISyntaxException e) {
                        throw new InvalidField("auth.oauth2.tokenUrl", "is not a valid URL");
                    }
                    yield new AuthConfig.OAuth2(
                            tokenUrl,
                            r.scalar(o, "clientId", id, v -> v, null),
                            r.scalar(o, "clientSecret", id, v -> v, null),
                            r.scalar(o, "scope", id, v -> v, null),
                            r.scalar(o, "audience", id, v -> v, null),
                            r.scalar(
                                    o, "clientAuth", id, v -> YamlReader.choice(AuthConfig.ClientAuth.class, v), null));
                }
            };
        } catch (InvalidField e) {
            throw r.fail(valueLine, id, e.field(), e.reason());
        }
    }

    /** {@code aggregator.budgets}: a list of {@code {id, limits}}; empty when absent. */
    static List<BudgetConfig> budgets(YamlReader r, NodeTuple tuple) {
        List<BudgetConfig> out = new ArrayList<>();
        if (tuple == null
                || (tuple.getValueNode() instanceof ScalarNode s && s.getValue().isEmpty())) {
            return out;
        }
        if (!(tuple.getValueNode() instanceof SequenceNode seq)) {
            throw r.fail(YamlReader.line(tuple.getValueNode()), null, "budgets", "must be a list of {id, limits}");
        }
        for (Node item : seq.getValue()) {
            Map<String, NodeTuple> fields = r.mapping(item, null, "budgets", BUDGET_KEYS);
            String id = r.scalar(fields, "id", null, v -> v.trim(), null);
            if (id == null) {
                throw r.fail(YamlReader.line(item), null, "budgets.id", "is required");
            }
            String field = "budgets." + id + ".limits";
            NodeTuple limits = fields.get("limits");
            if (limits == null
                    || !(limits.getValueNode() instanceof SequenceNode ls)
                    || ls.getValue().isEmpty()) {
                throw r.fail(
                        YamlReader.line(limits == null ? item : limits.getValueNode()),
                        null,
                        field,
                        "must be a non-empty list such as [60/1m, 1000/1d]");
            }
            List<BudgetConfig.Limit> parsed = new ArrayList<>();
            for (Node l : ls.getValue()) {
                if (!(l instanceof ScalarNode v)) {
                    throw r.fail(YamlReader.line(l), null, field, "each limit is requests/window, e.g. 60/1m");
                }
                try {
                    BudgetConfig.Limit limit =
                            BudgetConfig.Limit.parse(r.substitute(v.getValue(), YamlReader.line(v), null, field));
                    if (parsed.stream().anyMatch(p -> p.window().equals(limit.window()))) {
                        throw new IllegalArgumentException("has two limits over the same window ("
                                + limit.toString().substring(limit.toString().indexOf('/') + 1) + ")");
                    }
                    parsed.add(limit);
                } catch (IllegalArgumentException e) {
                    throw r.fail(YamlReader.line(l), null, field, e.getMessage());
                }
            }
            try {
                BudgetConfig budget = new BudgetConfig(id, parsed);
                if (out.stream().anyMatch(b -> b.id().equals(id))) {
                    throw r.fail(YamlReader.line(item), null, "budgets.id", "duplicate budget id \"" + id + "\"");
                }
                out.add(budget);
            } catch (InvalidField e) {
                throw r.fail(YamlReader.line(item), null, "budgets." + e.field(), e.reason());
            }
        }
        return out;
    }

    /**
     * Every source's {@code budget} names a budget, and each budget can give each of its sources (a parametrised one
     * counts once: its instances share its part) at least one request per window of each limit.
     *
     * @param lines the line of each source's {@code budget} field, by source id
     */
    static void checkBudgets(
            YamlReader r, List<BudgetConfig> budgets, List<SourceConfig> sources, Map<String, Integer> lines) {
        Map<String, List<SourceConfig>> spending = new LinkedHashMap<>();
        for (SourceConfig s : sources) {
            if (s.budget() == null) {
                continue;
            }
            if (budgets.stream().noneMatch(b -> b.id().equals(s.budget()))) {
                throw r.fail(
                        lines.getOrDefault(s.id(), 0),
                        s.id(),
                        "budget",
                        "unknown budget \"" + s.budget() + "\" (aggregator.budgets has "
                                + (budgets.isEmpty()
                                        ? "none"
                                        : String.join(
                                                ", ",
                                                budgets.stream()
                                                        .map(BudgetConfig::id)
                                                        .toList()))
                                + ")");
            }
            if (s.enabled() && !s.combined()) {
                spending.computeIfAbsent(s.budget(), k -> new ArrayList<>()).add(s);
            }
        }
        for (BudgetConfig b : budgets) {
            List<SourceConfig> members = spending.getOrDefault(b.id(), List.of());
            for (BudgetConfig.Limit limit : b.limits()) {
                if (members.size() > limit.requests()) {
                    SourceConfig first = members.get(limit.requests());
                    throw r.fail(
                            lines.getOrDefault(first.id(), 0),
                            first.id(),
                            "budget",
                            "budget \"" + b.id() + "\" allows " + limit + ", which cannot give each of its "
                                    + members.size() + " sources one request per window");
                }
            }
        }
    }
}
