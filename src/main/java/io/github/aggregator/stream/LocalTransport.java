package io.github.aggregator.stream;

import io.github.aggregator.source.Snapshot;
import java.util.function.Consumer;

/** Single-instance transport: a published snapshot goes straight to the receiver, on the publishing thread. */
public final class LocalTransport implements Transport {
    private volatile Consumer<Snapshot> receiver = s -> {};

    @Override
    public boolean publish(Snapshot snapshot) {
        receiver.accept(snapshot);
        return true;
    }

    @Override
    public void onSnapshot(Consumer<Snapshot> receiver) {
        this.receiver = receiver;
    }

    @Override
    public void close() {
        receiver = s -> {};
    }
}
