package io.github.aggregator.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.cluster.RedisTransport;
import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.fetch.Combiner;
import io.github.aggregator.fetch.Fetcher;
import io.github.aggregator.fetch.auth.Tokens;
import io.github.aggregator.fetch.budget.Budgets;
import io.github.aggregator.fetch.budget.LocalLedger;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.Frames;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code check-config --fetch}: what each enabled source (or one) would serve, before the config goes live. Fetches
 * every upstream once, with the source's headers, {@code select} and {@code transform}, through the service's own
 * {@link Fetcher}, builds combined sources from their parts with the service's {@link Combiner}, and prints one JSON
 * line per source: the envelope {@code GET /api/sources/{id}} would serve, with its size and content hash, or the
 * error. Nothing is published or stored.
 *
 * <p>Request budgets: each request of the preview counts against its source's budget. With a clustered config it is
 * counted in the cluster's Redis, with the running instances' requests (and deferred, with no request sent, when the
 * budget allows none now); that is the only use of Redis here, and while Redis cannot be reached it is counted here
 * alone. Without a cluster this process has no view of the running service's count: the preview's one request per
 * source comes on top of what the service spends.
 *
 * <p>A source whose URL is only a path names the running service: it is fetched from {@code server.port} on this
 * machine, so the demo sources preview while the service runs.
 */
final class ConfigPreview {
    private final ConfigFile config;
    private final Clock clock;
    private final Tokens tokens; // one token request per endpoint and credentials, as the service makes
    private final PrintStream out;
    private final PrintStream err;
    private Budgets budgets = new Budgets(new LocalLedger(InstantSource.system()), List.of());

    ConfigPreview(ConfigFile config, Clock clock, PrintStream out, PrintStream err) {
        this.config = config;
        this.clock = clock;
        this.tokens = new Tokens(clock);
        this.out = out;
        this.err = err;
    }

    /**
     * Previews {@code only} (null: every enabled source; see {@link SourceRegistry#targets} for how a parametrised
     * source is named and what {@code params} may give).
     *
     * @return 0 when every source previewed has fresh data, 1 when one failed (or is stale, or its budget allows no request now), 2 when {@code only} and
     *     {@code params} name no enabled source or instance
     */
    int run(String only, Map<String, String> params) throws InterruptedException {
        SourceRegistry registry = new SourceRegistry(config.aggregator());
        List<SourceConfig> targets;
        switch (registry.targets(only, params, true)) {
            case SourceRegistry.NotChosen n -> {
                err.println("aggregator: check-config: " + n.reason());
                return 2;
            }
            case SourceRegistry.Chosen c -> {
                targets = c.sources();
                c.notes().forEach(note -> err.println("aggregator: check-config: " + note));
            }
        }
        Set<SourceConfig> upstreams = new LinkedHashSet<>();
        targets.forEach(t -> collectUpstreams(t, registry, upstreams));
        SnapshotStore store = new SnapshotStore(config.aggregator().historySize());
        Map<String, Instant> deferred = new LinkedHashMap<>();
        try (RedisTransport cluster = config.cluster() == null
                ? null
                : new RedisTransport(
                        config.cluster(), store, config.aggregator().historySize())) {
            // counted with the running service's requests where that count is reachable: in the cluster's Redis
            budgets = new Budgets(
                    cluster == null ? new LocalLedger(clock) : cluster.ledger(clock),
                    config.aggregator().budgets());
            fetchAll(upstreams, store, deferred);
        }
        Map<String, Optional<Snapshot>> combined = new LinkedHashMap<>();
        int failed = 0;
        int held = 0; // deferred by their budget, counted among the failed
        for (SourceConfig s : targets) {
            Snapshot snap = s.combined() ? combine(s, registry, store, combined).orElse(null) : latest(store, s);
            ObjectNode line =
                    deferred.containsKey(s.id()) ? deferredLine(s, deferred.get(s.id())) : line(s, snap, store);
            if (!line.path("result").asText().equals("ok")) {
                failed++;
            }
            if (line.path("result").asText().equals("deferred")) {
                held++;
            }
            out.println(Json.text(line));
        }
        err.println("aggregator: check-config: " + config.file() + " is valid; previewed " + targets.size()
                + " source(s): " + (targets.size() - failed) + " ok, " + (failed - held) + " failed"
                + (held == 0 ? "" : ", " + held + " deferred by their budget"));
        return failed == 0 ? 0 : 1;
    }

    /** {@code s} itself when it has a URL, else every upstream its parts (at any depth) come from. */
    private static void collectUpstreams(SourceConfig s, SourceRegistry registry, Set<SourceConfig> into) {
        if (!s.combined()) {
            into.add(s);
            return;
        }
        for (String part : s.combine()) {
            registry.find(part).ifPresent(p -> collectUpstreams(p, registry, into));
        }
    }

    /** One fetch per upstream, all at once, each bounded by its source's timeout. */
    private void fetchAll(Set<SourceConfig> upstreams, SnapshotStore store, Map<String, Instant> deferred)
            throws InterruptedException {
        // the web client's one-time start-up (the service does it while it starts) is not part of any source's timeout
        Fetcher.preload(List.copyOf(upstreams));
        Map<SourceConfig, Future<FetchResult>> running = new LinkedHashMap<>();
        try (ExecutorService fetches = Executors.newVirtualThreadPerTaskExecutor()) {
            for (SourceConfig s : upstreams) {
                running.put(s, fetches.submit(() -> fetch(s)));
            }
            for (Map.Entry<SourceConfig, Future<FetchResult>> e : running.entrySet()) {
                FetchResult result;
                try {
                    result = e.getValue().get();
                } catch (ExecutionException ex) {
                    result = new FetchResult.Failure(
                            "internal error: " + ex.getCause().getClass().getSimpleName());
                }
                if (result instanceof FetchResult.Deferred d) {
                    deferred.put(e.getKey().id(), d.notBefore()); // not sent: the budget allows none now
                } else {
                    store.record(e.getKey().id(), result, clock.instant());
                }
            }
        }
    }

    private FetchResult fetch(SourceConfig s) {
        URI self = null;
        if (s.url().getScheme() == null) {
            self = selfBase();
            if (self == null) {
                return new FetchResult.Failure(
                        "a path URL names the running service, and server.port 0 does not say where it listens");
            }
        }
        URI base = self;
        return new Fetcher(s, config.aggregator().userAgent(), () -> base, clock, tokens, budgets.gate(s)).fetch();
    }

    /** Where the running service listens, as its own path sources reach it; null when the port is chosen at start. */
    private URI selfBase() {
        String port = config.server().getOrDefault("server.port", "8080");
        if (port.equals("0")) {
            return null;
        }
        boolean tls = config.server().keySet().stream().anyMatch(k -> k.startsWith("server.tls."));
        return URI.create((tls ? "https" : "http") + "://127.0.0.1:" + port);
    }

    /** A combined source's snapshot from its parts' (built first, as the service builds them when a part changes). */
    private Optional<Snapshot> combine(
            SourceConfig s, SourceRegistry registry, SnapshotStore store, Map<String, Optional<Snapshot>> done) {
        if (done.containsKey(s.id())) {
            return done.get(s.id());
        }
        for (String part : s.combine()) {
            registry.find(part).filter(SourceConfig::combined).ifPresent(p -> combine(p, registry, store, done));
        }
        Optional<Snapshot> snap = Combiner.combine(s, store::latest).map(r -> store.record(s.id(), r, clock.instant()));
        done.put(s.id(), snap);
        return snap;
    }

    private static Snapshot latest(SnapshotStore store, SourceConfig s) {
        return store.latest(s.id()).orElse(null);
    }

    private static ObjectNode line(SourceConfig s, Snapshot snap, SnapshotStore store) {
        ObjectNode line = Json.MAPPER.createObjectNode();
        line.put("id", s.id());
        if (s.combined()) {
            line.set("combine", Json.MAPPER.valueToTree(s.combine()));
        } else {
            line.put("url", s.safeUrl()); // no query string, no user info: those may hold secrets
        }
        if (snap == null || !snap.hasData()) {
            line.put("result", "failed");
            line.put("error", snap != null ? snap.error() : "none of its parts has data: " + partErrors(s, store));
            return line;
        }
        byte[] envelope = Frames.envelopeBytes(snap);
        line.put("result", snap.stale() ? "stale" : "ok");
        line.put("size", envelope.length);
        line.put("hash", snap.hash());
        try {
            line.set("envelope", Json.MAPPER.readTree(envelope));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // our own JSON: cannot happen
        }
        return line;
    }

    private static ObjectNode deferredLine(SourceConfig s, Instant notBefore) {
        ObjectNode line = Json.MAPPER.createObjectNode();
        line.put("id", s.id());
        line.put("url", s.safeUrl());
        line.put("result", "deferred");
        line.put("error", "the request budget " + s.budget() + " allows none before " + notBefore);
        return line;
    }

    private static String partErrors(SourceConfig s, SnapshotStore store) {
        List<String> errors = new ArrayList<>();
        for (String part : s.combine()) {
            errors.add(part + ": " + store.latest(part).map(Snapshot::error).orElse("no data"));
        }
        return String.join("; ", errors);
    }
}
