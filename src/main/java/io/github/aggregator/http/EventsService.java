package io.github.aggregator.http;

import io.github.aggregator.access.Verdict;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.Scheduler;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.Deltas;
import io.github.aggregator.stream.EventStream;
import io.github.aggregator.stream.FieldViews;
import io.github.aggregator.stream.Hub;
import io.github.aggregator.stream.SseEvent;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataWriter;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.HttpMediaType;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

/**
 * Server-Sent Events: {@code GET /api/sources/{id}/events} (one source) and {@code GET /api/events?sources=a,b}
 * (several sources multiplexed on one connection; all when {@code sources} is absent). {@code ?delta=json-patch}
 * turns changes after the first snapshot into RFC 6902 patches.
 *
 * <p>The handler stays in the request for the life of the stream (Helidon ends the response when it returns) and
 * drains its own bounded queue on its own virtual thread; over HTTP/1.1 the hub's fan-out workers write most changes
 * to the response themselves while the handler waits (see {@code stream.Fanout}). The stream is written by hand
 * rather than through {@code SseSink}, which cannot emit the {@code retry:} field. A client that left is noticed on
 * the next write, at the latest at the next heartbeat.
 *
 * <p>Token sources are streamed only to a caller whose token covers them (a multiplexed stream is refused with 403
 * when any listed source is not covered; without {@code sources} it carries every source the caller may read). A
 * stream opened with an expiring token ends when the token expires, at the next event or heartbeat.
 */
public final class EventsService implements HttpService {
    private static final System.Logger LOG = System.getLogger(EventsService.class.getName());
    static final HttpMediaType EVENT_STREAM = HttpMediaType.create("text/event-stream");
    static final HeaderName LAST_EVENT_ID = HeaderNames.create("Last-Event-ID");
    static final HeaderName ACCEL_BUFFERING = HeaderNames.create("X-Accel-Buffering");

    private final SourceRegistry registry;
    private final Hub hub;
    private final Poller poller;
    private final Deltas deltas = new Deltas();
    private final WriteWatchdog watchdog;
    private final Guard guard;
    private final Addressing addressing;
    private final FieldViews views;
    private final ConnectionLimits connections;

    /**
     * @param views the latest state and history of sources and of field views ({@code ?select=}, {@code
     *     sources=id/pointer}), which the service keeps current
     * @param time measures and sweeps blocked writes ({@code writeTimeout})
     * @param connections the server's connection limits, which know each HTTP/1.1 connection's socket (a stream's
     *     socket keeps a small read buffer while it streams, see {@link ReadBuffer})
     */
    public EventsService(
            SourceRegistry registry,
            FieldViews views,
            Hub hub,
            Poller poller,
            Guard guard,
            Scheduler time,
            ConnectionLimits connections) {
        this.connections = connections;
        this.registry = registry;
        this.views = views;
        this.hub = hub;
        this.poller = poller;
        this.guard = guard;
        this.addressing = new Addressing(registry, guard);
        this.watchdog = new WriteWatchdog(registry.config().writeTimeout(), time);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/sources/{id}/events", this::one)
                .get("/events", this::many)
                .head("/sources/{id}/events", EventsService::noHead)
                .head("/events", EventsService::noHead);
    }

    /** A stream has no head of its own to give: 405, as for other methods. */
    private static void noHead(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.ALLOW, "GET");
        Problem.send(req, res, Status.METHOD_NOT_ALLOWED_405, "an event stream answers GET only");
    }

    private void one(ServerRequest req, ServerResponse res) {
        String name = Addressing.name(req);
        Guard.Caller caller = guard.caller(req);
        Optional<SourceConfig> source = addressing.source(req, res, name, caller);
        if (source.isEmpty()) {
            return;
        }
        String id = source.get().id();
        String select = req.query().first("select").orElse("");
        String problem = FieldViews.problem(select);
        if (problem != null) {
            Problem.send(req, res, Status.BAD_REQUEST_400, problem);
            return;
        }
        if (guard.admit(req, res, caller, List.of(source.get()))) {
            stream(req, res, List.of(FieldViews.key(id, select)), false, caller);
        }
    }

    private void many(ServerRequest req, ServerResponse res) {
        Optional<String> param = req.query().first("sources").asOptional();
        Guard.Caller caller = guard.caller(req);
        List<String> ids = new ArrayList<>();
        if (param.isEmpty()) {
            if (caller.verdict() instanceof Verdict.Invalid invalid) {
                Guard.unauthorized(req, res, invalid);
                return;
            }
            registry.enabled().stream().filter(caller::mayRead).forEach(s -> ids.add(s.id()));
        } else {
            Set<String> listed = new LinkedHashSet<>();
            for (String part : param.get().split(",")) {
                if (!part.isBlank()) {
                    listed.add(part.trim());
                }
            }
            int max = registry.config().maxSourcesPerStream();
            if (listed.size() > max) {
                Problem.send(
                        req,
                        res,
                        Status.BAD_REQUEST_400,
                        "at most " + max + " sources per stream, got " + listed.size());
                return;
            }
            // instances by their canonical names (a field view keeps its pointer), created on first use; a refused
            // one answers for the whole stream
            Set<String> named = new LinkedHashSet<>();
            for (String part : listed) {
                String base = FieldViews.sourceOf(part);
                if (InstanceId.isInstance(base) || registry.template(base).isPresent()) {
                    Optional<SourceConfig> instance = addressing.source(req, res, base, Map.of(), caller);
                    if (instance.isEmpty()) {
                        return;
                    }
                    named.add(instance.get().id() + part.substring(base.length()));
                } else {
                    named.add(part);
                }
            }
            listed = named;
            Optional<String> badField = listed.stream()
                    .map(k -> FieldViews.problem(
                            k.substring(FieldViews.sourceOf(k).length())))
                    .filter(p -> p != null)
                    .findFirst();
            if (badField.isPresent()) {
                Problem.send(req, res, Status.BAD_REQUEST_400, badField.get());
                return;
            }
            List<String> unknown = listed.stream()
                    .map(FieldViews::sourceOf)
                    .filter(s -> registry.find(s).isEmpty())
                    .distinct()
                    .toList();
            if (listed.isEmpty() || !unknown.isEmpty()) {
                Problem.send(
                        req,
                        res,
                        Status.BAD_REQUEST_400,
                        listed.isEmpty()
                                ? "sources lists no source"
                                : "unknown sources: " + Problem.echo(String.join(", ", unknown)));
                return;
            }
            List<SourceConfig> sources = listed.stream()
                    .map(FieldViews::sourceOf)
                    .distinct()
                    .map(registry::find)
                    .flatMap(Optional::stream)
                    .toList();
            if (!guard.admit(req, res, caller, sources)) {
                return;
            }
            ids.addAll(listed);
        }
        if (ids.size() > registry.config().maxSourcesPerStream()) {
            Problem.send(
                    req,
                    res,
                    Status.BAD_REQUEST_400,
                    "more than " + registry.config().maxSourcesPerStream() + " sources; list the ones you need");
            return;
        }
        stream(req, res, ids, true, caller);
    }

    private void stream(
            ServerRequest req, ServerResponse res, List<String> ids, boolean multiplexed, Guard.Caller caller) {
        Optional<String> delta = req.query().first("delta").asOptional();
        if (delta.isPresent() && !delta.get().equals("json-patch")) {
            Problem.send(req, res, Status.BAD_REQUEST_400, "delta must be json-patch");
            return;
        }
        String lastEventId = req.headers()
                .first(LAST_EVENT_ID)
                .orElseGet(() -> req.query().first("lastEventId").orElse(null));
        AggregatorConfig config = registry.config();
        String client = clientAddress(req, config);
        if (client == null) {
            LOG.log(Level.DEBUG, "stream of " + ids.size() + " source(s): the client left before it started");
            return;
        }
        EventStream stream;
        ids.forEach(views::open);
        List<String> sourceIds =
                ids.stream().map(FieldViews::sourceOf).distinct().toList();
        try {
            stream = new EventStream(
                    hub, views, delta.isPresent() ? deltas : null, ids, multiplexed, client, config.heartbeat());
        } catch (Hub.LimitReached e) {
            res.header(HeaderNames.RETRY_AFTER, Long.toString(Math.max(1, retryMillis(config) / 1000)));
            Problem.send(req, res, Status.SERVICE_UNAVAILABLE_503, e.getMessage());
            return;
        }
        res.status(Status.OK_200);
        res.headers().contentType(EVENT_STREAM);
        res.header(HeaderNames.CACHE_CONTROL, "no-cache, no-transform");
        res.header(ACCEL_BUFFERING, "no");
        ConnectionContext connection = http1Connection(req);
        try (stream;
                Ending reading = () -> sourceIds.forEach(poller::touch); // before the stream unsubscribes (below)
                OutputStream out = res.outputStream();
                WriteWatchdog.Slot slot = watchdog.slot();
                ReadBuffer.Release buffer = ReadBuffer.shrink(connection == null ? null : connection.serverSocket());
                Ending direct = stream::stopDirect) { // closed first: no worker writes once the response ends
            sourceIds.forEach(poller::touch); // wakes idle on-demand sources; the subscription keeps them active
            List<SseEvent> first = new ArrayList<>();
            first.add(SseEvent.retryFrame(retryMillis(config)));
            first.addAll(stream.start(lastEventId));
            write(out, slot, first);
            BooleanSupplier alive = StreamLiveness.of(res);
            if (alive == StreamLiveness.ALWAYS && caller.expiresAt() == null) {
                // HTTP/1.1 and no token to outlive: changes may be written by the hub's fan-out workers (HTTP/2
                // streams and expiring tokens keep their checks before every write on this thread)
                DataWriter chunks = chunkWriter(connection, res);
                stream.direct(
                        chunks == null
                                ? events -> write(out, slot, events)
                                : events -> writeChunks(chunks, slot, events));
            }
            while (!stream.ended()) {
                List<SseEvent> events = stream.next();
                if (guard.expired(caller)) {
                    write(out, slot, List.of(SseEvent.comment("access token expired")));
                    break;
                }
                if (!alive.getAsBoolean()) {
                    LOG.log(Level.DEBUG, "stream of " + ids.size() + " source(s): HTTP/2 stream reset by the client");
                    break;
                }
                write(out, slot, events);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.log(Level.DEBUG, "stream of " + ids.size() + " source(s): subscriber left");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // Helidon reports a write to a connection the client closed as a plain RuntimeException
            LOG.log(Level.DEBUG, "stream ended: " + e.getClass().getSimpleName());
        } finally {
            Thread.interrupted(); // a write cut off by the watchdog leaves the flag set; the thread goes on serving
            sourceIds.forEach(poller::touch); // idleAfter counts from the last subscriber leaving
        }
    }

    /**
     * The HTTP/1.1 connection {@code req} came on (its socket keeps a small read buffer while the stream runs, and
     * fan-out workers may write chunks to it), null for HTTP/2: asked only for HTTP/1.1, since the lookup on an HTTP/2
     * stream's thread would create that thread's thread-local map for nothing.
     */
    private ConnectionContext http1Connection(ServerRequest req) {
        return "1.1".equals(req.prologue().protocolVersion()) ? connections.connection(req.socketId()) : null;
    }

    /**
     * Where fan-out workers write this stream's events as ready-made chunks ({@link SseEvent#chunk}, framed once per
     * event for every subscriber), straight to the connection, instead of through the response's stream, which frames
     * and copies each event again for each subscriber: the connection's writer, once the response's headers and first
     * chunk are out and when the body is chunked and not content-encoded; null otherwise (then the workers write
     * through the response's stream). The handler's own writes always go through the response's stream, and since
     * every one of them is flushed and only one party writes at a time, the two never interleave.
     */
    private static DataWriter chunkWriter(ConnectionContext connection, ServerResponse res) {
        if (connection == null
                || res.headers().contains(HeaderNames.CONTENT_ENCODING)
                || res.headers().contains(HeaderNames.CONTENT_LENGTH)
                || !res.headers().containsToken(HeaderValues.TRANSFER_ENCODING_CHUNKED)) {
            return null;
        }
        return connection.dataWriter();
    }

    /** Writes {@code events} as chunks to {@code chunks}, watched like {@link #write}. */
    private static void writeChunks(DataWriter chunks, WriteWatchdog.Slot slot, List<SseEvent> events)
            throws IOException {
        watched(slot, events, () -> {
            try {
                if (events.size() == 1) {
                    chunks.writeNow(BufferData.create(events.getFirst().chunk()));
                } else {
                    BufferData[] all = new BufferData[events.size()];
                    for (int i = 0; i < all.length; i++) {
                        all[i] = BufferData.create(events.get(i).chunk());
                    }
                    chunks.writeNow(all);
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        });
    }

    /**
     * A step as the stream ends that throws nothing: touching its sources before it unsubscribes (a scheduled fetch in
     * between would otherwise find an on-demand source neither subscribed nor recently read, and idle it before
     * idleAfter), stopping direct writes before the response's stream closes.
     */
    private interface Ending extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * The address the per-client limit counts: the connection's peer, or behind a reverse proxy the last entry of the
     * configured header (the address the nearest proxy saw; entries before it can be forged by the client). Null when
     * the connection is already gone.
     */
    static String clientAddress(ServerRequest req, AggregatorConfig config) {
        if (config.clientAddressHeader() != null) {
            Optional<String> forwarded = req.headers().first(HeaderNames.create(config.clientAddressHeader()));
            if (forwarded.isPresent()) {
                String[] hops = forwarded.get().split(",");
                String last = hops[hops.length - 1].trim();
                if (!last.isEmpty()) {
                    return last.length() > 64 ? last.substring(0, 64) : last;
                }
            }
        }
        try {
            return req.remotePeer().host();
        } catch (RuntimeException e) {
            // Helidon reads the address from the socket, which throws once the connection is gone (HTTP/2 streams
            // of a dropped connection still run)
            return null;
        }
    }

    /** The reconnect delay for one client: the configured base plus a random part of the spread. */
    private static long retryMillis(AggregatorConfig config) {
        long spread = config.retrySpread().toMillis();
        return config.retry().toMillis()
                + (spread > 0 ? ThreadLocalRandom.current().nextLong(spread + 1) : 0);
    }

    private static void write(OutputStream out, WriteWatchdog.Slot slot, List<SseEvent> events) throws IOException {
        watched(slot, events, () -> {
            for (SseEvent e : events) {
                out.write(e.encode());
            }
            out.flush();
        });
    }

    /** One write of a stream's events. */
    @FunctionalInterface
    private interface Writing {
        void run() throws IOException;
    }

    /**
     * Runs {@code writing} (nothing when {@code events} is empty) marked in {@code slot} for the write watchdog; a write
     * the watchdog cut off after writeTimeout fails.
     */
    private static void watched(WriteWatchdog.Slot slot, List<SseEvent> events, Writing writing) throws IOException {
        if (events.isEmpty()) {
            return;
        }
        slot.started();
        boolean cut;
        try {
            writing.run();
        } finally {
            cut = slot.finished();
        }
        if (cut) {
            throw new IOException("write blocked longer than writeTimeout");
        }
    }
}
