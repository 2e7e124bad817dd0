package io.github.aggregator.source;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The config in force and the instances of its parametrised sources. Reads of the config are lock-free; the config
 * may be replaced whole (hot reload). Thread-safe.
 */
public final class SourceRegistry {
    private volatile AggregatorConfig config;
    private final Instances instances = new Instances();

    public SourceRegistry(AggregatorConfig config) {
        this.config = config;
    }

    /** The config in force. */
    public AggregatorConfig config() {
        return config;
    }

    /** The instances of the parametrised sources. */
    public Instances instances() {
        return instances;
    }

    /** The enabled source with {@code id}, or the existing instance of that canonical name. */
    public Optional<SourceConfig> find(String id) {
        for (SourceConfig s : config.sources()) {
            if (s.enabled() && s.id().equals(id)) {
                return Optional.of(s);
            }
        }
        if (InstanceId.isInstance(id)) {
            return instances.find(id).map(Instances.Entry::config);
        }
        return Optional.empty();
    }

    /** The parametrised source with {@code id}. */
    public Optional<SourceTemplate> template(String id) {
        for (SourceTemplate t : config.templates()) {
            if (t.id().equals(id)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * What a client addresses as {@code name} ({@code weather}, {@code weather(city=NYC)} or a plain id) with
     * {@code query} (parameters given beside it, e.g. {@code ?city=NYC}): a plain source, an instance (created when
     * new), or why not. A plain source with parameters is refused naming the first.
     */
    public Instances.Lookup lookup(String name, Map<String, String> query) {
        InstanceId.Parts parts;
        try {
            parts = InstanceId.parse(name);
        } catch (IllegalArgumentException e) {
            return new Instances.Refused(null, e.getMessage());
        }
        Optional<SourceTemplate> template = template(parts.base());
        if (template.isEmpty()) {
            Optional<SourceConfig> plain = parts.params().isEmpty() ? find(parts.base()) : Optional.empty();
            if (plain.isPresent() && !query.isEmpty()) {
                String first = query.keySet().iterator().next();
                return new Instances.Refused(first, "source \"" + parts.base() + "\" takes no parameters");
            }
            return plain.<Instances.Lookup>map(s -> new Instances.Found(new Instances.Entry(null, null, s)))
                    .orElseGet(() -> new Instances.Unknown(parts.base()));
        }
        Map<String, String> given = new LinkedHashMap<>(parts.params());
        for (Map.Entry<String, String> q : query.entrySet()) {
            if (given.put(q.getKey(), q.getValue()) != null) {
                return new Instances.Refused(q.getKey(), "parameter \"" + q.getKey() + "\" is given twice");
            }
        }
        return instances.resolve(template.get(), given);
    }

    /** The instances the enabled combined sources name as parts, in canonical form, each once. */
    public List<String> combinedInstances() {
        return config.enabledSources().stream()
                .flatMap(s -> s.combine().stream())
                .filter(InstanceId::isInstance)
                .distinct()
                .toList();
    }

    /**
     * Whether {@code name} is the canonical name of an instance that its (enabled) template allows now; creates
     * nothing. A stored snapshot under such a name may be restored.
     */
    public boolean allows(String name) {
        if (!InstanceId.isInstance(name)) {
            return false;
        }
        try {
            InstanceId.Parts parts = InstanceId.parse(name);
            return template(parts.base())
                    .map(t -> t.resolve(parts.params()) instanceof SourceTemplate.Instance i && i.id().equals(name))
                    .orElse(false);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Every enabled source and every instance there is now: what is polled, stored and shared. */
    public List<SourceConfig> inForce() {
        List<SourceConfig> out = new ArrayList<>(config.enabledSources());
        instances.all().forEach(e -> out.add(e.config()));
        return out;
    }

    /** The sources a one-off command acts on, or why it cannot (one line). */
    public sealed interface Targets {}

    /** The sources chosen, with {@code notes}: one line for each parametrised source left out, saying how to name it. */
    public record Chosen(List<SourceConfig> sources, List<String> notes) implements Targets {}

    /** Refused: {@code reason} is one line naming the source, and the parameter at fault where one is. */
    public record NotChosen(String reason) implements Targets {}

    /**
     * The sources a one-off command (the preview of {@code check-config --fetch}, the {@code refresh} command) acts
     * on: the one named {@code only} (a plain or combined source, {@code weather(city=NYC)}, or a parametrised source
     * with {@code params}, each missing parameter taken from its default), or, when {@code only} is null, every enabled
     * source. A parametrised source is acted on only when named: the whole run leaves it out with a note. The
     * instances named (and those the combined sources name) are created in this registry, as the service would.
     *
     * @param combinedToo whether combined sources are acted on (a refresh fetches upstreams only)
     */
    public Targets targets(String only, Map<String, String> params, boolean combinedToo) {
        combinedInstances().forEach(name -> lookup(name, Map.of()));
        if (only == null) {
            if (!params.isEmpty()) {
                return new NotChosen("--param goes with --source ID");
            }
            List<SourceConfig> all = combinedToo ? enabled() : upstreams();
            List<String> notes = new ArrayList<>();
            for (SourceTemplate t : config.templates()) {
                notes.add("\"" + t.id() + "\" has params: name one instance with --source " + t.id() + " "
                        + paramHint(t));
            }
            return new Chosen(all, notes);
        }
        Instances.Lookup found = lookup(only, params);
        return switch (found) {
            case Instances.Found f
            when f.entry().config().combined() && !combinedToo ->
                new NotChosen("\"" + only + "\" is combined; refresh its parts: "
                        + String.join(", ", f.entry().config().combine()));
            case Instances.Found f -> new Chosen(List.of(f.entry().config()), List.of());
            case Instances.Unknown u -> new NotChosen("no enabled source with id \"" + u.id() + "\"");
            case Instances.Refused r
            when r.param() != null && template(InstanceId.base(only)).isPresent() -> {
                SourceTemplate t = template(InstanceId.base(only)).get();
                yield new NotChosen("source \"" + t.id() + "\": " + r.reason()
                        + (r.reason().endsWith("is required") ? "; add " + paramHint(t) : ""));
            }
            case Instances.Refused r -> new NotChosen("source \"" + InstanceId.base(only) + "\": " + r.reason());
            case Instances.Full f -> new NotChosen("source \"" + f.template().id() + "\" has no room for an instance");
        };
    }

    /** {@code --param city=VALUE --param units=VALUE}, each with its allowed values or pattern. */
    private static String paramHint(SourceTemplate t) {
        List<String> hints = new ArrayList<>();
        for (ParamRule p : t.params()) {
            String allowed =
                    p.values().isEmpty() ? "matching " + p.pattern() : "one of " + String.join(", ", p.values());
            hints.add("--param " + p.name() + "=VALUE (" + allowed + (p.dflt() == null ? "" : ", default " + p.dflt())
                    + ")");
        }
        return String.join(" ", hints);
    }

    /** Every enabled source, in file order (not the templates nor their instances). */
    public List<SourceConfig> enabled() {
        return config.enabledSources();
    }

    /** Every enabled source fetched from an upstream (not combined), in file order. */
    public List<SourceConfig> upstreams() {
        return config.enabledSources().stream().filter(s -> !s.combined()).toList();
    }

    /** The enabled combined sources that list {@code id} among their parts. */
    public List<SourceConfig> dependents(String id) {
        return config.enabledSources().stream()
                .filter(s -> s.combine().contains(id))
                .toList();
    }

    /** Puts {@code next} in force; the caller reconciles the instances ({@link Instances#reconcile}). */
    public void replace(AggregatorConfig next) {
        this.config = next;
    }
}
