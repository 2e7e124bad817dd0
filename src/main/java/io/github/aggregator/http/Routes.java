package io.github.aggregator.http;

import io.github.aggregator.source.Json;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.lang.System.Logger.Level;

/** The whole HTTP surface: filters, services, the dashboard, the JSON 404 for everything else, the error mapping. */
public final class Routes {
    private static final System.Logger LOG = System.getLogger(Routes.class.getName());

    /** Helidon's message for a header block over its limit (seen with {@code error-handling.include-entity}). */
    private static final String HEADERS_TOO_LARGE = "Header size exceeded";

    private static final Status HEADERS_TOO_LARGE_431 = Status.create(431, "Request Header Fields Too Large");

    private Routes() {}

    /**
     * Problem+json answers for requests Helidon refuses before routing (malformed request line, bad encoding, too
     * large headers), so that no response of this service is plain text or carries request text back.
     */
    public static DirectHandlers directHandlers() {
        DirectHandlers.Builder b = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            b.addHandler(type, (request, eventType, given, headers, message) -> {
                // Helidon answers a header block over server.protocols.http_1_1.max-headers-size with a plain 400
                Status status =
                        given.code() == 400 && HEADERS_TOO_LARGE.equals(message) ? HEADERS_TOO_LARGE_431 : given;
                String body = Json.text(Json.MAPPER
                        .createObjectNode()
                        .put("type", "about:blank")
                        .put("title", status.reasonPhrase())
                        .put("status", status.code())
                        .put("detail", "the request could not be processed (" + status.reasonPhrase() + ")"));
                DirectHandler.TransportResponse.Builder response = DirectHandler.TransportResponse.builder()
                        .status(status)
                        .headers(headers)
                        .header(HeaderNames.CONTENT_TYPE, Problem.PROBLEM_JSON.text())
                        .keepAlive(eventType.keepAlive());
                if (!"HEAD".equalsIgnoreCase(request.method())) {
                    response.entity(body); // a HEAD answer has no body, or the next response would start with it
                }
                return response.build();
            });
        }
        return b.build();
    }

    /**
     * Registers every route and the one filter of the service on {@code routing}: the connection limits (around
     * everything, so that a {@code Connection: close} request's unread body is never read as further requests) with
     * CORS inside them, health, metrics, the admin refresh
     * (when {@code admin} is not null), pages, SSE, polling, the demo upstreams, the JSON 404 / 405 for everything else
     * and the error mapping. The service is wired only through here, so every test that starts one goes through it.
     */
    public static void routing(
            HttpRouting.Builder routing,
            ConnectionLimits limits,
            Cors cors,
            HealthService health,
            MetricsService metrics,
            PollService poll,
            EventsService events,
            DemoService demo,
            AdminService admin) {
        routing.addFilter(limits.filter(cors))
                .register("/observe/health", health)
                .register("/observe/metrics", metrics);
        if (admin != null) {
            routing.register("/api/refresh", admin);
        }
        // polling first: its routes are one segment under /api/sources, which no stream route is, and the JSON
        // endpoint is the busiest; routes are tried in order
        routing.register("/api/sources", poll)
                .register(new PagesService())
                .register("/api", events)
                .register("/demo", demo)
                .any((req, res) -> {
                    String path = req.path().path();
                    Method method = req.prologue().method();
                    if (path.startsWith("/api/")
                            && !path.startsWith("/api/refresh")
                            && method != Method.GET
                            && method != Method.HEAD) {
                        res.header(HeaderNames.ALLOW, "GET, HEAD");
                        Problem.send(req, res, Status.METHOD_NOT_ALLOWED_405, "only GET is supported here");
                        return;
                    }
                    Problem.send(req, res, Status.NOT_FOUND_404, "no such resource");
                })
                .error(Throwable.class, Routes::failed);
    }

    /** A request that failed inside the service: one log line, and a 500 problem when nothing was sent yet. */
    static void failed(ServerRequest req, ServerResponse res, Throwable t) {
        LOG.log(
                Level.WARNING,
                "request " + req.prologue().method().text() + " " + req.path().path() + " failed: "
                        + t.getClass().getSimpleName());
        if (!res.isSent()) {
            Problem.send(req, res, Status.INTERNAL_SERVER_ERROR_500, "internal error");
        }
    }
}
