package io.github.aggregator.http;

import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import java.lang.System.Logger.Level;

/** The whole HTTP surface: services, the JSON 404 for everything else, and the error mapping. */
public final class Routes {
    private static final System.Logger LOG = System.getLogger(Routes.class.getName());

    private Routes() {}

    /** Registers every route on {@code routing}; tests reuse this with their own services. */
    public static void routing(HttpRouting.Builder routing, PollService poll, EventsService events, DemoService demo) {
        routing.register("/api/sources", poll, events)
                .register("/demo", demo)
                .any((req, res) -> {
                    String path = req.path().path();
                    Method method = req.prologue().method();
                    if (path.startsWith("/api/") && method != Method.GET && method != Method.HEAD) {
                        res.header(HeaderNames.ALLOW, "GET");
                        Problem.send(res, Status.METHOD_NOT_ALLOWED_405, "only GET is supported here");
                        return;
                    }
                    Problem.send(res, Status.NOT_FOUND_404, "no such resource");
                })
                .error(Throwable.class, (req, res, t) -> {
                    LOG.log(
                            Level.WARNING,
                            "request " + req.prologue().method().text() + " "
                                    + req.path().path() + " failed: "
                                    + t.getClass().getSimpleName());
                    if (!res.isSent()) {
                        Problem.send(res, Status.INTERNAL_SERVER_ERROR_500, "internal error");
                    }
                });
    }
}
