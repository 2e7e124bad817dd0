package io.github.aggregator.stream;

import io.github.aggregator.source.Snapshot;
import java.util.function.Consumer;

/**
 * The seam between producing snapshots and fanning them out: the local transport hands each snapshot straight to this
 * instance's hub; a distributed one delivers it to the hub of every instance.
 */
public interface Transport extends AutoCloseable {

    /** Delivers {@code snapshot}, just stored by this instance, to every instance (this one included). */
    void publish(Snapshot snapshot);

    /** Sets the one receiver of snapshots published by any instance. Called once, before the first publish. */
    void onSnapshot(Consumer<Snapshot> receiver);

    @Override
    void close();
}
