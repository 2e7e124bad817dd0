package io.github.aggregator.http;

import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.Instances;
import io.github.aggregator.source.SourceConfig;
import io.github.aggregator.source.SourceRegistry;
import io.github.aggregator.source.SourceTemplate;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns what a request names ({@code weather?city=NYC}, {@code weather(city=NYC)} or a plain id) into the source it
 * reads, creating an instance of a parametrised source on first use; answers 404, 400 naming the parameter, or 503
 * with Retry-After itself.
 */
final class Addressing {
    /** Query parameters of our own endpoints, never taken as a source's parameters. */
    private static final Set<String> OWN = Set.of("lastEventId", "delta", "select", "sources", "fields");

    private final SourceRegistry registry;
    private final Guard guard;

    Addressing(SourceRegistry registry, Guard guard) {
        this.registry = registry;
        this.guard = guard;
    }

    /**
     * The source a {@code /api/sources/{id}...} request names, read from the raw path: Helidon's path parameter ends
     * at a {@code ;} (a matrix parameter), which separates an instance's parameters. An instance name's values stay
     * percent-encoded for {@link InstanceId#parse}; a plain id is decoded.
     */
    static String name(ServerRequest req) {
        String raw = req.prologue().uriPath().rawPath();
        int at = raw.indexOf("/sources/");
        if (at < 0) {
            return req.path().pathParameters().get("id");
        }
        String segment = raw.substring(at + "/sources/".length());
        int slash = segment.indexOf('/');
        segment = slash < 0 ? segment : segment.substring(0, slash);
        if (segment.indexOf('(') < 0) {
            segment = InstanceId.decode(segment);
        }
        return segment;
    }

    /**
     * The source {@code name} with the request's own query parameters names, or empty after an answer was sent. A
     * template's access is checked before an instance is made, so a refused caller creates nothing.
     */
    Optional<SourceConfig> source(ServerRequest req, ServerResponse res, String name, Guard.Caller caller) {
        Map<String, String> query = new LinkedHashMap<>();
        String tokenParameter = guard.tokenParameter();
        try {
            for (String key : req.query().names()) {
                if (!OWN.contains(key) && !key.equals(tokenParameter)) {
                    List<String> all = req.query().all(key);
                    if (all.size() > 1) {
                        Problem.send(
                                req,
                                res,
                                Status.BAD_REQUEST_400,
                                "parameter \"" + Problem.echo(key) + "\" is given twice",
                                key);
                        return Optional.empty();
                    }
                    query.put(key, all.get(0));
                }
            }
        } catch (RuntimeException e) {
            Problem.send(req, res, Status.BAD_REQUEST_400, "the query string cannot be decoded");
            return Optional.empty();
        }
        return source(req, res, name, query, caller);
    }

    /** As {@link #source(ServerRequest, ServerResponse, String, Guard.Caller)} with {@code query} given. */
    Optional<SourceConfig> source(
            ServerRequest req, ServerResponse res, String name, Map<String, String> query, Guard.Caller caller) {
        Optional<SourceTemplate> template = registry.template(InstanceId.base(name));
        if (template.isPresent()
                && !guard.admit(req, res, caller, List.of(template.get().base()))) {
            return Optional.empty();
        }
        Instances.Lookup found = registry.lookup(name, query);
        switch (found) {
            case Instances.Found f -> {
                return Optional.of(f.entry().config());
            }
            case Instances.Unknown u ->
                Problem.send(req, res, Status.NOT_FOUND_404, "no source with id \"" + Problem.echo(u.id()) + "\"");
            case Instances.Refused r -> Problem.send(req, res, Status.BAD_REQUEST_400, r.reason(), r.param());
            case Instances.Full f -> {
                res.header(
                        HeaderNames.RETRY_AFTER,
                        Long.toString(
                                Math.max(1, f.template().base().idleAfter().toSeconds())));
                Problem.send(
                        req,
                        res,
                        Status.SERVICE_UNAVAILABLE_503,
                        "source \"" + f.template().id() + "\" has "
                                + f.template().maxKeys() + " live instances already; try again later");
            }
        }
        return Optional.empty();
    }
}
