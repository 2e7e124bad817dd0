package io.github.aggregator.source;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The instances of parametrised sources that exist now, created on demand from their templates. Each template keeps
 * at most its {@code maxKeys} instances: beyond that the least recently used idle one is evicted, and while every one
 * is live a new one is refused ({@link Full}). Thread-safe.
 */
public final class Instances {
    /** An instance kept here. */
    public record Entry(SourceTemplate template, SortedMap<String, String> params, SourceConfig config) {}

    /** What addressing an instance came to. */
    public sealed interface Lookup {}

    /** The instance, existing or just created. */
    public record Found(Entry entry) implements Lookup {}

    /** No template of that id (nor a plain source): 404. */
    public record Unknown(String id) implements Lookup {}

    /** A parameter is refused: 400 naming it. */
    public record Refused(String param, String reason) implements Lookup {}

    /** {@code maxKeys} instances of the template are live: 503, live instances unaffected. */
    public record Full(SourceTemplate template) implements Lookup {}

    private final LinkedHashMap<String, Entry> byId = new LinkedHashMap<>(16, 0.75f, true); // guarded by this
    private volatile Predicate<String> live = id -> false;
    private volatile Consumer<SourceConfig> created = s -> {};
    private volatile Consumer<SourceConfig> evicted = s -> {};

    /**
     * Wires the instances to the polling: {@code live} tells an instance someone reads from an idle one, {@code
     * created} starts polling a new one, {@code evicted} stops it and drops its data. Called under this object's lock.
     */
    public void wire(Predicate<String> live, Consumer<SourceConfig> created, Consumer<SourceConfig> evicted) {
        this.live = live;
        this.created = created;
        this.evicted = evicted;
    }

    /** The instance of {@code template} that {@code given} names, created when new (evicting an idle one if full). */
    public synchronized Lookup resolve(SourceTemplate template, Map<String, String> given) {
        SourceTemplate.Resolution r = template.resolve(given);
        if (r instanceof SourceTemplate.Refused refused) {
            return new Refused(refused.param(), refused.reason());
        }
        SourceTemplate.Instance instance = (SourceTemplate.Instance) r;
        Entry existing = byId.get(instance.id());
        if (existing != null) {
            return new Found(existing);
        }
        List<String> ofTemplate = new ArrayList<>();
        byId.forEach((id, e) -> {
            if (e.template().id().equals(template.id())) {
                ofTemplate.add(id); // least recently used first
            }
        });
        if (ofTemplate.size() >= template.maxKeys()) {
            Optional<String> idle =
                    ofTemplate.stream().filter(id -> !live.test(id)).findFirst();
            if (idle.isEmpty()) {
                return new Full(template);
            }
            evicted.accept(byId.remove(idle.get()).config());
        }
        Entry entry = new Entry(template, instance.params(), instance.config());
        byId.put(instance.id(), entry);
        created.accept(entry.config());
        return new Found(entry);
    }

    /** The instance named {@code id} (canonical form), if it exists now. Counts as a use. */
    public synchronized Optional<Entry> find(String id) {
        Entry e = byId.getOrDefault(id, null);
        return Optional.ofNullable(e);
    }

    /** The instances of template {@code templateId}, least recently used first. */
    public synchronized List<Entry> of(String templateId) {
        return byId.values().stream()
                .filter(e -> e.template().id().equals(templateId))
                .toList();
    }

    /** Whether instance {@code id} is read or subscribed now (an idle one may be evicted). */
    public boolean live(String id) {
        return live.test(id);
    }

    /** Every instance now. */
    public synchronized List<Entry> all() {
        return List.copyOf(byId.values());
    }

    /**
     * Puts {@code templates} in force: each instance is resolved again against its template's new version. Those no
     * longer allowed (or whose template is gone) are removed and returned in {@code removed}; those whose config
     * changed are replaced and returned in {@code changed} (the caller restarts their polling).
     */
    public synchronized Reconciled reconcile(Map<String, SourceTemplate> templates) {
        List<SourceConfig> removed = new ArrayList<>();
        List<SourceConfig> changed = new ArrayList<>();
        Map<String, Entry> replaced = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, Entry>> it = byId.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Entry> e = it.next();
            SourceTemplate next = templates.get(e.getValue().template().id());
            SourceTemplate.Resolution r =
                    next == null ? null : next.resolve(e.getValue().params());
            if (!(r instanceof SourceTemplate.Instance instance)
                    || !instance.id().equals(e.getKey())) {
                removed.add(e.getValue().config());
                it.remove();
            } else if (!instance.config().equals(e.getValue().config())
                    || next != e.getValue().template()) {
                if (!instance.config().equals(e.getValue().config())) {
                    changed.add(instance.config());
                }
                replaced.put(e.getKey(), new Entry(next, instance.params(), instance.config()));
            }
        }
        byId.putAll(replaced);
        return new Reconciled(removed, changed);
    }

    /** What {@link #reconcile} did. */
    public record Reconciled(List<SourceConfig> removed, List<SourceConfig> changed) {}
}
