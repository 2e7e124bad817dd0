package io.github.aggregator.http;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.observe.Metrics;
import io.github.aggregator.observe.PrometheusText;
import io.github.aggregator.observe.RuntimeMetrics;
import io.github.aggregator.source.Instances;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.Hub;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /observe/metrics}: every enabled source's counters and gauges in the Prometheus text format (0.0.4),
 * labelled {@code source="id"}. Fetch metrics are shown for upstream sources only (combined sources are not fetched).
 * The process, the JVM and the build follow ({@link RuntimeMetrics}).
 */
public final class MetricsService implements HttpService {
    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Hub hub;
    private final Metrics metrics;

    public MetricsService(SourceRegistry registry, SnapshotStore store, Hub hub, Metrics metrics) {
        this.registry = registry;
        this.store = store;
        this.hub = hub;
        this.metrics = metrics;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::scrape);
    }

    private void scrape(ServerRequest req, ServerResponse res) {
        // set as written: Helidon's media type would reorder the parameters
        res.header(HeaderNames.CONTENT_TYPE, PrometheusText.CONTENT_TYPE);
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(text().getBytes(StandardCharsets.UTF_8));
    }

    /** The ids whose snapshots make up source {@code id}: its instances for a parametrised source, else itself. */
    private List<String> instanceIds(String id) {
        if (registry.template(id).isEmpty()) {
            return List.of(id);
        }
        return registry.instances().of(id).stream().map(e -> e.config().id()).toList();
    }

    private boolean stale(String id) {
        return store.latest(id).map(Snapshot::stale).orElse(false);
    }

    /** The whole exposition, one family after the other. */
    String text() {
        // a parametrised source is one label whatever its number of instances: metrics stay bounded
        List<SourceConfig> sources = new ArrayList<>(registry.enabled());
        registry.config().templates().forEach(t -> sources.add(t.base()));
        Map<String, Metrics.Reading> readings = new LinkedHashMap<>();
        sources.forEach(s -> readings.put(s.id(), metrics.read(s.id())));
        List<SourceConfig> upstream =
                sources.stream().filter(s -> !s.combined()).toList();
        PrometheusText out = new PrometheusText();

        out.family(
                "aggregator_fetches_total", "counter", "Upstream fetches by outcome (success, not_modified, failure).");
        for (SourceConfig s : upstream) {
            for (Metrics.Outcome o : Metrics.Outcome.values()) {
                out.sample(
                        "aggregator_fetches_total",
                        readings.get(s.id()).fetches(o),
                        "source",
                        s.id(),
                        "outcome",
                        o.label());
            }
        }
        out.family(
                "aggregator_fetch_duration_seconds",
                "histogram",
                "Time of one upstream fetch, connect to last body byte, in seconds.");
        for (SourceConfig s : upstream) {
            Metrics.Reading r = readings.get(s.id());
            out.histogram("aggregator_fetch_duration_seconds", r.latencyBuckets(), r.latencyNanos(), "source", s.id());
        }
        out.family(
                "aggregator_changes_total", "counter", "New versions of the source's data recorded by this instance.");
        readings.forEach((id, r) -> out.sample("aggregator_changes_total", r.changes(), "source", id));
        out.family("aggregator_stale", "gauge", "1 while the source serves its last good data after a failed fetch.");
        readings.forEach((id, r) ->
                out.sample("aggregator_stale", instanceIds(id).stream().anyMatch(this::stale) ? 1 : 0, "source", id));
        out.family("aggregator_subscribers", "gauge", "Open SSE streams that follow the source.");
        readings.forEach((id, r) -> out.sample(
                "aggregator_subscribers",
                instanceIds(id).stream().mapToInt(hub::subscribers).sum(),
                "source",
                id));
        out.family(
                "aggregator_instances",
                "gauge",
                "Instances of a parametrised source kept now, by state (live: read or subscribed; idle: kept until"
                        + " evicted).");
        for (var t : registry.config().templates()) {
            List<Instances.Entry> all = registry.instances().of(t.id());
            long live = all.stream()
                    .filter(e -> registry.instances().live(e.config().id()))
                    .count();
            out.sample("aggregator_instances", live, "source", t.id(), "state", "live");
            out.sample("aggregator_instances", all.size() - live, "source", t.id(), "state", "idle");
        }
        out.family(
                "aggregator_events_delivered_total",
                "counter",
                "Update and status events handed to the source's subscribers (one per subscriber).");
        readings.forEach((id, r) -> out.sample("aggregator_events_delivered_total", r.delivered(), "source", id));
        out.family(
                "aggregator_queue_overflows_total",
                "counter",
                "Subscriber queues that overflowed and collapsed into one snapshot of the latest state.");
        readings.forEach((id, r) -> out.sample("aggregator_queue_overflows_total", r.overflows(), "source", id));
        out.family("aggregator_streams", "gauge", "Open SSE streams in total (a multiplexed stream counts once).");
        out.sample("aggregator_streams", hub.total());
        store.durable().ifPresent(d -> {
            out.family(
                    "aggregator_store_up",
                    "gauge",
                    "1 while the durable store writes, 0 while the service runs in memory only (see /observe/health).");
            out.sample("aggregator_store_up", d.problem() == null ? 1 : 0);
            out.family("aggregator_store_commits_total", "counter", "Writes of the durable store (each one commit).");
            out.sample("aggregator_store_commits_total", d.writes());
            out.family(
                    "aggregator_store_failures_total",
                    "counter",
                    "Durable store opens and writes that failed (unwritable, locked, full, vanished or unreadable).");
            out.sample("aggregator_store_failures_total", d.failures());
            out.family(
                    "aggregator_store_pending",
                    "gauge",
                    "Sources whose latest change is not on disk yet (what a crash now would lose).");
            out.sample("aggregator_store_pending", d.pending());
            out.family("aggregator_store_bytes", "gauge", "Size of the durable store's file after its last write.");
            out.sample("aggregator_store_bytes", d.bytes());
            out.family(
                    "aggregator_store_ceiling_waits_total",
                    "counter",
                    "Changes that waited for the version ceiling on disk to be raised (0 unless the disk falls behind).");
            out.sample("aggregator_store_ceiling_waits_total", d.ceilingWaits());
        });
        RuntimeMetrics.write(out);
        return out.text();
    }
}
