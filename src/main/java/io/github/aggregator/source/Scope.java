package io.github.aggregator.source;

import java.util.Set;

/**
 * The sources a credential may read: every source, or the listed ids. Immutable.
 *
 * @param all true for every source
 * @param ids the sources covered when {@code all} is false
 */
public record Scope(boolean all, Set<String> ids) {
    /** Covers nothing: a token that authenticates but grants no source. */
    public static final Scope NONE = new Scope(false, Set.of());

    public Scope {
        ids = Set.copyOf(ids);
    }

    /** Every source. */
    public static Scope everything() {
        return new Scope(true, Set.of());
    }

    /** True when source {@code id} is covered; an instance is covered by its template's id. */
    public boolean covers(String id) {
        return all || ids.contains(id) || ids.contains(InstanceId.base(id));
    }
}
