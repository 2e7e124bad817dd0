package io.github.aggregator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.source.Json;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaType;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** RFC 9457 {@code application/problem+json} responses. Details never carry stack traces or secrets. */
final class Problem {
    static final HttpMediaType PROBLEM_JSON = HttpMediaType.create("application/problem+json");

    private Problem() {}

    /**
     * Answers {@code status} with a problem body, or, when {@code req} is a HEAD request, with the same status and
     * headers and no body: bytes after a HEAD answer's head would be read as the next response on the connection.
     */
    static void send(ServerRequest req, ServerResponse res, Status status, String detail) {
        send(req, res, status, detail, null);
    }

    /** As {@link #send(ServerRequest, ServerResponse, Status, String)} with a {@code parameter} member naming it. */
    static void send(ServerRequest req, ServerResponse res, Status status, String detail, String parameter) {
        res.status(status);
        res.headers().contentType(PROBLEM_JSON);
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        if (req.prologue().method() == Method.HEAD) {
            res.send();
            return;
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("type", "about:blank");
        body.put("title", status.reasonPhrase());
        body.put("status", status.code());
        body.put("detail", detail);
        if (parameter != null) {
            body.put("parameter", echo(parameter));
        }
        res.send(Json.bytes(body));
    }

    /** {@code text} cut to a length that is safe to echo in a detail. */
    static String echo(String text) {
        if (text == null) {
            return "";
        }
        String t = text.length() > 64 ? text.substring(0, 64) + "…" : text;
        StringBuilder sb = new StringBuilder();
        t.codePoints().forEach(c -> sb.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return sb.toString();
    }
}
