package io.github.aggregator.config;

import io.github.aggregator.source.InvalidField;
import io.github.aggregator.source.ParamRule;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** Reads the {@code params} and {@code maxKeys} of a parametrised source, the rest being an ordinary source's. */
final class TemplateSection {
    static final Set<String> PARAM_KEYS = Set.of("values", "pattern", "default");

    private final YamlReader r;

    TemplateSection(YamlReader r) {
        this.r = r;
    }

    /** The template of source {@code id} whose other settings are {@code base} and whose URL as written is {@code url}. */
    SourceTemplate read(String id, Map<String, NodeTuple> fields, Node node, SourceConfig base, String url) {
        Node p = fields.get("params").getValueNode();
        if (!(p instanceof MappingNode pm) || pm.getValue().isEmpty()) {
            throw r.fail(YamlReader.line(p), id, "params", "must be a mapping of parameter name to its rule");
        }
        r.unique(pm, id, "params.");
        List<ParamRule> rules = new ArrayList<>();
        for (NodeTuple t : pm.getValue()) {
            String name = r.keyOf(t);
            String field = "params." + name;
            Map<String, NodeTuple> rule = r.mapping(t.getValueNode(), id, "parameter", PARAM_KEYS);
            List<String> values = new ArrayList<>();
            if (rule.containsKey("values")) {
                Node v = rule.get("values").getValueNode();
                if (!(v instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
                    throw r.fail(YamlReader.line(v), id, field + ".values", "must be a non-empty list of values");
                }
                for (Node item : seq.getValue()) {
                    if (!(item instanceof ScalarNode s)) {
                        throw r.fail(YamlReader.line(item), id, field + ".values", "must be a list of strings");
                    }
                    values.add(r.substitute(s.getValue(), YamlReader.line(item), id, field + ".values"));
                }
            }
            try {
                rules.add(new ParamRule(
                        name,
                        values,
                        r.scalar(rule, "pattern", id, v -> v, null),
                        r.scalar(rule, "default", id, v -> v, null)));
            } catch (InvalidField e) {
                throw r.fail(YamlReader.line(t.getKeyNode()), id, e.field(), e.reason());
            }
        }
        try {
            return new SourceTemplate(
                    base,
                    url,
                    rules,
                    r.scalar(fields, "maxKeys", id, Integer::parseInt, SourceTemplate.DEFAULT_MAX_KEYS));
        } catch (InvalidField e) {
            throw r.refused(e, fields, node, id, "");
        }
    }
}
