package io.github.aggregator.config;

import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceTemplate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.yaml.snakeyaml.nodes.Node;

/** The checks of the combined sources of one sources list, once every source of it has been read. */
final class Combinations {
    private final YamlReader r;
    /** The template read for each base config in the sources list, by identity. */
    private final Map<SourceConfig, SourceTemplate> templates;

    Combinations(YamlReader r, Map<SourceConfig, SourceTemplate> templates) {
        this.r = r;
        this.templates = templates;
    }

    /**
     * Every part of a combined source exists, is enabled when the combination is, and no combination loops. A part may
     * name one instance of a parametrised source, {@code weather(city=NYC)}: its values are checked against the
     * template's rules here, and the part is kept in its canonical form (the name the instance is stored under).
     *
     * @return {@code sources} with every combination's parts in canonical form
     */
    List<SourceConfig> check(List<SourceConfig> sources, List<Node> nodes) {
        Map<String, SourceConfig> byId = new LinkedHashMap<>();
        sources.forEach(s -> byId.put(s.id(), s));
        List<SourceConfig> out = new ArrayList<>(sources);
        Map<String, Set<String>> instancesByTemplate = new LinkedHashMap<>();
        for (int i = 0; i < sources.size(); i++) {
            SourceConfig s = sources.get(i);
            int line = YamlReader.line(nodes.get(i));
            List<String> parts = new ArrayList<>();
            for (String part : s.combine()) {
                String name = part;
                InstanceId.Parts named;
                try {
                    named = InstanceId.parse(part);
                } catch (IllegalArgumentException e) {
                    throw r.fail(line, s.id(), "combine", "\"" + part + "\": " + e.getMessage());
                }
                SourceConfig p = byId.get(named.base());
                if (p == null) {
                    throw r.fail(line, s.id(), "combine", "unknown source \"" + named.base() + "\"");
                }
                SourceTemplate template = templates.get(p);
                if (template == null && InstanceId.isInstance(part)) {
                    throw r.fail(line, s.id(), "combine", "source \"" + named.base() + "\" takes no parameters");
                }
                if (template != null) {
                    if (!InstanceId.isInstance(part)) {
                        throw r.fail(
                                line,
                                s.id(),
                                "combine",
                                "\"" + part + "\" has params: name one instance, e.g. " + part + "(name=value)");
                    }
                    SourceTemplate.Resolution res = template.resolve(named.params());
                    if (res instanceof SourceTemplate.Refused refused) {
                        throw r.fail(line, s.id(), "combine", "\"" + part + "\": " + refused.reason());
                    }
                    name = ((SourceTemplate.Instance) res).id();
                    if (parts.contains(name)) {
                        throw r.fail(line, s.id(), "combine", "lists \"" + name + "\" twice");
                    }
                    Set<String> pinned = instancesByTemplate.computeIfAbsent(template.id(), k -> new TreeSet<>());
                    if (s.enabled() && pinned.add(name) && pinned.size() > template.maxKeys()) {
                        throw r.fail(
                                line,
                                s.id(),
                                "combine",
                                "names more instances of \"" + template.id() + "\" than its maxKeys ("
                                        + template.maxKeys() + ")");
                    }
                }
                if (s.enabled() && !p.enabled()) {
                    throw r.fail(line, s.id(), "combine", "source \"" + named.base() + "\" is disabled");
                }
                parts.add(name);
            }
            List<String> cycle = cycleFrom(s.id(), byId, new ArrayList<>());
            if (cycle != null) {
                throw r.fail(line, s.id(), "combine", "cycle " + String.join(" -> ", cycle));
            }
            if (s.combined() && !parts.equals(s.combine())) {
                SourceConfig canonical = s.withCombine(parts);
                out.set(i, canonical);
            }
        }
        return out;
    }

    private static List<String> cycleFrom(String id, Map<String, SourceConfig> byId, List<String> path) {
        if (path.contains(id)) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(id), path.size()));
            cycle.add(id);
            return cycle;
        }
        path.add(id);
        for (String part : byId.get(id).combine()) {
            if (InstanceId.isInstance(part) || !byId.containsKey(part)) {
                continue; // an instance: fetched, never combined
            }
            List<String> found = cycleFrom(part, byId, path);
            if (found != null) {
                return found;
            }
        }
        path.remove(path.size() - 1);
        return null;
    }
}
