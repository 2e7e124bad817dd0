package io.github.aggregator.http;

import io.github.aggregator.cache.SnapshotStore;
import io.github.aggregator.fetch.Poller;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.stream.EventStream;
import io.github.aggregator.stream.Hub;
import io.github.aggregator.stream.SseEvent;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaType;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * {@code GET /api/sources/{id}/events}: a Server-Sent Events stream of one source.
 *
 * <p>The handler stays in the request for the life of the stream (Helidon ends the response when it returns) and
 * drains its own bounded queue on its own virtual thread. The stream is written by hand rather than through {@code
 * SseSink}, which cannot emit the {@code retry:} field. A client that left is noticed on the next write, at the
 * latest at the next heartbeat.
 */
public final class EventsService implements HttpService {
    private static final System.Logger LOG = System.getLogger(EventsService.class.getName());
    static final HttpMediaType EVENT_STREAM = HttpMediaType.create("text/event-stream");
    static final HeaderName LAST_EVENT_ID = HeaderNames.create("Last-Event-ID");
    static final HeaderName ACCEL_BUFFERING = HeaderNames.create("X-Accel-Buffering");

    private final SourceRegistry registry;
    private final SnapshotStore store;
    private final Hub hub;
    private final Poller poller;

    public EventsService(SourceRegistry registry, SnapshotStore store, Hub hub, Poller poller) {
        this.registry = registry;
        this.store = store;
        this.hub = hub;
        this.poller = poller;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/{id}/events", this::events);
    }

    private void events(ServerRequest req, ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        if (registry.find(id).isEmpty()) {
            Problem.send(res, Status.NOT_FOUND_404, "no source with id \"" + Problem.echo(id) + "\"");
            return;
        }
        String lastEventId = req.headers()
                .first(LAST_EVENT_ID)
                .orElseGet(() -> req.query().first("lastEventId").orElse(null));
        res.status(Status.OK_200);
        res.headers().contentType(EVENT_STREAM);
        res.header(HeaderNames.CACHE_CONTROL, "no-cache, no-transform");
        res.header(ACCEL_BUFFERING, "no");
        try (EventStream stream =
                        new EventStream(hub, store, id, registry.config().heartbeat());
                OutputStream out = res.outputStream()) {
            out.write(SseEvent.retry(registry.config().retry().toMillis()));
            write(out, stream.start(lastEventId));
            out.flush();
            while (!stream.ended()) {
                write(out, stream.next());
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.log(Level.DEBUG, "source " + id + ": subscriber left");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // Helidon reports a write to a connection the client closed as a plain RuntimeException
            LOG.log(
                    Level.DEBUG,
                    "source " + id + ": subscriber stream ended: "
                            + e.getClass().getSimpleName());
        }
    }

    private static void write(OutputStream out, List<SseEvent> events) throws IOException {
        if (events.isEmpty()) {
            return;
        }
        for (SseEvent e : events) {
            out.write(e.encode());
        }
        out.flush();
    }
}
