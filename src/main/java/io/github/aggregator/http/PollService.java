package io.github.aggregator.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.access.Verdict;
import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.observe.Metrics;
import io.github.aggregator.observe.StartupTrace;
import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.Instances;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.ParamRule;
import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.source.SourceTemplate;
import io.github.aggregator.stream.FieldViews;
import io.github.aggregator.stream.Hub;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * JSON polling: {@code GET /api/sources} (status of every source the caller may read) and {@code GET
 * /api/sources/{id}} (the envelope, with ETag / 304, Last-Modified and a max-age that ends at the next fetch). Token
 * sources answer only a caller whose token covers them (see {@link Guard}), and are marked {@code private} for caches.
 */
public final class PollService implements HttpService {
    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Poller poller;
    private final Hub hub;
    private final Clock clock;
    private final Scheduler time;
    private final Guard guard;
    private final Supplier<Map<String, String>> notes;
    private final Addressing addressing;
    private FieldViews views;
    private Metrics metrics;

    /**
     * @param time the clock that bounds a read's wait for a first fetch ({@code coldWait})
     * @param notes top-level fields of the status list, e.g. {@code cluster} ("ok" / "degraded") and {@code
     *     configError}
     */
    public PollService(
            SourceRegistry registry,
            SnapshotStore store,
            Poller poller,
            Hub hub,
            Clock clock,
            Scheduler time,
            Guard guard,
            Supplier<Map<String, String>> notes) {
        this.notes = notes;
        this.registry = registry;
        this.store = store;
        this.poller = poller;
        this.hub = hub;
        this.clock = clock;
        this.time = time;
        this.guard = guard;
        this.addressing = new Addressing(registry, guard);
    }

    /** Serves {@code ?select=/pointer} from {@code views}; without it {@code select} is refused. Returns this. */
    public PollService select(FieldViews views) {
        this.views = views;
        return this;
    }

    /**
     * Counts reads in {@code metrics} and shows, per source and in total, what was served against what the upstreams
     * were asked for. Returns this.
     */
    public PollService counting(Metrics metrics) {
        this.metrics = metrics;
        return this;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", (req, res) -> list(req, res, false))
                .head("/", (req, res) -> list(req, res, true))
                .get("/{id}", (req, res) -> one(req, res, false))
                .head("/{id}", (req, res) -> one(req, res, true))
                .register(new HistoryService(registry, store, guard));
    }

    /**
     * The status of every source the caller may read: public ones, and those its token covers. An invalid token is
     * refused (401) rather than silently showing less. Upstream URLs (never with credentials or query) only for the
     * admin token, which sees every source's status.
     */
    private void list(ServerRequest req, ServerResponse res, boolean head) {
        Guard.Caller caller = guard.caller(req);
        if (caller.verdict() instanceof Verdict.Invalid invalid) {
            Guard.unauthorized(req, res, invalid);
            return;
        }
        ArrayNode sources = Json.MAPPER.createArrayNode();
        long[] totals = new long[4];
        for (SourceConfig s : registry.enabled()) {
            if (!caller.admin() && !caller.mayRead(s)) {
                continue;
            }
            ObjectNode n = sources.addObject();
            Optional<Snapshot> snap = store.latest(s.id());
            Optional<Poller.State> state = poller.state(s.id());
            n.put("id", s.id());
            if (s.combined()) {
                s.combine().forEach(n.putArray("combine")::add);
            } else {
                if (caller.admin()) {
                    n.put("url", s.safeUrl());
                    if (s.auth() != null) {
                        n.put("auth", s.auth().describe()); // the kind and token endpoint host, never a secret
                    }
                }
                n.put("interval", s.interval().toMillis() / 1000.0);
                BudgetView.source(n, s, poller);
                n.put("poll", s.poll() == SourceConfig.Poll.ALWAYS ? "always" : "on-demand");
            }
            n.put("state", active(s) ? "active" : "idle");
            n.put("version", snap.map(Snapshot::version).orElse(0L));
            n.put(
                    "fetchedAt",
                    snap.map(Snapshot::fetchedAt).map(Instant::toString).orElse(null));
            n.put(
                    "changedAt",
                    snap.map(Snapshot::changedAt).map(Instant::toString).orElse(null));
            n.put("nextFetchAt", nextFetchAt(s).map(Instant::toString).orElse(null));
            n.put("stale", snap.map(Snapshot::stale).orElse(false));
            n.put("lastError", snap.map(Snapshot::error).orElse(null));
            if (snap.map(Snapshot::restored).orElse(false)) {
                n.put("restored", true); // read back from the durable store at start, not fetched since
            }
            n.put(
                    "consecutiveFailures",
                    state.map(Poller.State::consecutiveFailures).orElse(0));
            n.put("subscribers", views == null ? hub.subscribers(s.id()) : views.subscribers(s.id()));
            if (metrics != null) {
                Metrics.Served served = metrics.served(s.id());
                n.put("clientReads", served.reads());
                n.put("streamsOpened", served.streams());
                n.put("eventsServed", served.events());
                if (!s.combined()) {
                    n.put("upstreamCalls", served.upstreamCalls());
                    n.put("lastFetchSeconds", served.lastFetchNanos() < 0 ? null : served.lastFetchNanos() / 1e9);
                }
                totals[0] += served.reads();
                totals[1] += served.streams();
                totals[2] += served.events();
                totals[3] += served.upstreamCalls();
            }
        }
        for (SourceTemplate t : registry.config().templates()) {
            if (caller.admin() || caller.mayRead(t.base())) {
                template(sources.addObject(), t, caller.admin(), totals);
            }
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        notes.get().forEach(body::put);
        BudgetView.budgets(body, poller.budgets());
        body.set("sources", sources);
        if (metrics != null) {
            body.putObject("totals")
                    .put("clientReads", totals[0])
                    .put("streamsOpened", totals[1])
                    .put("eventsServed", totals[2])
                    .put("upstreamCalls", totals[3]);
        }
        boolean personal = caller.admin() || caller.verdict() != null;
        res.header(HeaderNames.CACHE_CONTROL, personal ? "private, no-cache" : "no-cache");
        if (head) {
            res.headers().contentType(MediaTypes.APPLICATION_JSON);
            res.send();
        } else {
            JsonBody.send(req, res, Json.bytes(body));
        }
    }

    /** A parametrised source: its rules once, and each instance kept now with its own state. */
    private void template(ObjectNode n, SourceTemplate t, boolean admin, long[] totals) {
        n.put("id", t.id());
        if (admin) {
            n.put("url", SourceConfig.redact(java.net.URI.create(SourceTemplate.sample(t.url()))));
        }
        n.put("interval", t.base().interval().toMillis() / 1000.0);
        n.put("poll", "on-demand");
        ObjectNode rules = n.putObject("params");
        for (ParamRule p : t.params()) {
            ObjectNode r = rules.putObject(p.name());
            if (!p.values().isEmpty()) {
                p.values().forEach(r.putArray("values")::add);
            } else {
                r.put("pattern", p.pattern());
            }
            if (p.dflt() != null) {
                r.put("default", p.dflt());
            }
        }
        n.put("maxKeys", t.maxKeys());
        if (metrics != null) { // every instance's reads, streams, events and upstream calls, by the template's id
            Metrics.Served served = metrics.served(t.id());
            long[] counts = {served.reads(), served.streams(), served.events(), served.upstreamCalls()};
            String[] names = {"clientReads", "streamsOpened", "eventsServed", "upstreamCalls"};
            for (int k = 0; k < counts.length; k++) {
                n.put(names[k], counts[k]);
                totals[k] += counts[k];
            }
        }
        List<Instances.Entry> instances = registry.instances().of(t.id());
        n.put("instances", instances.size());
        ArrayNode live = n.putArray("live");
        for (Instances.Entry e : instances) {
            String id = e.config().id();
            ObjectNode i = live.addObject();
            i.put("instance", id);
            ObjectNode params = i.putObject("params");
            e.params().forEach(params::put);
            Optional<Snapshot> snap = store.latest(id);
            i.put("state", active(e.config()) ? "active" : "idle");
            i.put("version", snap.map(Snapshot::version).orElse(0L));
            i.put(
                    "fetchedAt",
                    snap.map(Snapshot::fetchedAt).map(Instant::toString).orElse(null));
            i.put("nextFetchAt", nextFetchAt(e.config()).map(Instant::toString).orElse(null));
            BudgetView.source(i, e.config(), poller);
            i.put("stale", snap.map(Snapshot::stale).orElse(false));
            i.put("lastError", snap.map(Snapshot::error).orElse(null));
            i.put("subscribers", views == null ? hub.subscribers(id) : views.subscribers(id)); // fields included
        }
    }

    /** An upstream source is active unless it idles on demand; a combined one while any part is active. */
    private boolean active(SourceConfig s) {
        if (!s.combined()) {
            return poller.state(s.id()).map(Poller.State::active).orElse(false);
        }
        return s.combine().stream()
                .map(registry::find)
                .flatMap(Optional::stream)
                .anyMatch(p -> p != s && active(p));
    }

    /** When the source's data may next change: its next fetch, or for a combined source the soonest of its parts. */
    private Optional<Instant> nextFetchAt(SourceConfig s) {
        if (!s.combined()) {
            return poller.state(s.id()).map(Poller.State::nextFetchAt);
        }
        return s.combine().stream()
                .map(registry::find)
                .flatMap(Optional::stream)
                .filter(p -> p != s)
                .map(this::nextFetchAt)
                .flatMap(Optional::stream)
                .min(Instant::compareTo);
    }

    /** The envelope of one source; for HEAD the same status and headers without the body. */
    private void one(ServerRequest req, ServerResponse res, boolean head) throws InterruptedException {
        StartupTrace.mark("first request for a source");
        String name = Addressing.name(req);
        Optional<SourceConfig> source = addressing.source(req, res, name, guard.caller(req));
        if (source.isEmpty()) {
            return;
        }
        String id = source.get().id();
        // contains first: first() of an absent name looks up Helidon's global mapper on every call
        String select =
                req.query().contains("select") ? req.query().first("select").orElse("") : "";
        String problem = views == null && !select.isEmpty() ? "select is not served here" : FieldViews.problem(select);
        if (problem != null) {
            Problem.send(req, res, Status.BAD_REQUEST_400, problem);
            return;
        }
        boolean token = source.get().access() == SourceConfig.Access.TOKEN;
        if (token && !guard.admit(req, res, guard.caller(req), List.of(source.get()))) {
            return; // before any read is recorded: a refused request wakes no on-demand source
        }
        Optional<Snapshot> snap = awaitData(id);
        if (snap.isEmpty() || !snap.get().hasData()) {
            String why = snap.map(Snapshot::error)
                    .map(e -> "; last attempt failed: " + e)
                    .orElse("");
            res.header(HeaderNames.RETRY_AFTER, Long.toString(secondsToNextFetch(source.get())));
            Problem.send(req, res, Status.SERVICE_UNAVAILABLE_503, "source \"" + id + "\" has no data yet" + why);
            return;
        }
        Snapshot s = select.isEmpty()
                ? snap.get()
                : views.latest(FieldViews.key(id, select)).orElse(snap.get());
        Answers.Answer answer = Answers.of(s);
        String etag = answer.etag();
        res.header(answer.etagHeader());
        res.header(answer.lastModified());
        res.header(Answers.cacheControl(token, secondsToNextFetch(source.get())));
        if (metrics != null) {
            metrics.clientRead(InstanceId.base(id)); // an instance counts for its template, as its fetches do
        }
        // a tag naming the number the same content had before a restart after a crash renumbered it matches too (the
        // 304 carries the current tag); not for a field view, whose versions are its own
        Predicate<String> before = select.isEmpty() ? tag -> heldBefore(s, tag) : tag -> false;
        if (Revalidation.notModified(req, etag, before, s.changedAt())) {
            res.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        if (head) {
            res.headers().contentType(MediaTypes.APPLICATION_JSON);
            res.send();
        } else {
            JsonBody.send(req, res, answer.body(), answer::gzipped);
            StartupTrace.mark("first 200 with data sent");
        }
    }

    /**
     * The snapshot after recording this read. When the read wakes an idle on-demand source, or there is no data yet,
     * waits up to the cold-wait for that fetch; a source never fetched yet (the service just started) is fetched now
     * rather than after its start-up jitter.
     */
    private Optional<Snapshot> awaitData(String id) throws InterruptedException {
        Optional<CompletableFuture<Void>> woken = poller.touch(id);
        Optional<Snapshot> snap = store.latest(id);
        Optional<CompletableFuture<Void>> wait = woken.isPresent()
                ? woken
                : snap.isPresent() && snap.get().hasData()
                        ? Optional.empty()
                        : snap.isEmpty() ? poller.fetchFirst(id) : poller.nextCompletion(id);
        Duration coldWait = registry.config().coldWait();
        if (wait.isPresent() && !coldWait.isZero()) {
            ColdWait.await(wait.get(), coldWait, time); // then answer with what there is
            return store.latest(id);
        }
        return snap;
    }

    private long secondsToNextFetch(SourceConfig source) {
        Instant next = nextFetchAt(source).orElse(clock.instant().plus(source.interval()));
        long millis = Duration.between(clock.instant(), next).toMillis();
        return Math.max(1, (millis + 999) / 1000);
    }

    /** Whether entity tag {@code tag} ({@code "<version>-<hash>"}) names {@code latest}'s content under a former number. */
    private boolean heldBefore(Snapshot latest, String tag) {
        Revalidation.Tag t = Revalidation.Tag.parse(tag);
        return t != null && store.heldBefore(latest, t.version(), t.hash());
    }
}
