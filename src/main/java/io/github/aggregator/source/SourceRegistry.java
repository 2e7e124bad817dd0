package io.github.aggregator.source;

import java.util.List;
import java.util.Optional;

/** The config in force. Reads are lock-free; the config may be replaced whole (hot reload). Thread-safe. */
public final class SourceRegistry {
    private volatile AggregatorConfig config;

    public SourceRegistry(AggregatorConfig config) {
        this.config = config;
    }

    /** The config in force. */
    public AggregatorConfig config() {
        return config;
    }

    /** The enabled source with {@code id}. */
    public Optional<SourceConfig> find(String id) {
        for (SourceConfig s : config.sources()) {
            if (s.enabled() && s.id().equals(id)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** Every enabled source, in file order. */
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

    /** Puts {@code next} in force. */
    public void replace(AggregatorConfig next) {
        this.config = next;
    }
}
