package io.github.aggregator.fetch;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.github.aggregator.source.FetchResult;
import io.github.aggregator.source.Json;
import io.github.aggregator.source.SourceConfig;
import io.helidon.http.HttpMediaType;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * An upstream body becomes a source's data: parsed as JSON (or taken as text), narrowed by {@code select} (a JSON
 * Pointer), then shaped by {@code transform} (jq). Every problem is a {@link FetchResult.Failure}. Stateless.
 */
final class Transform {
    private Transform() {}

    static FetchResult interpret(SourceConfig source, byte[] body, Optional<HttpMediaType> contentType) {
        JsonNode data;
        if (source.format() == SourceConfig.Format.TEXT) {
            Charset charset = contentType
                    .flatMap(HttpMediaType::charset)
                    .flatMap(Transform::charset)
                    .orElse(StandardCharsets.UTF_8);
            data = TextNode.valueOf(new String(body, charset));
        } else {
            String type = contentType.map(m -> m.mediaType().text()).orElse("");
            FetchResult parsed = parseJson(source, body, type);
            if (!(parsed instanceof FetchResult.Success ok)) {
                return parsed;
            }
            data = ok.data();
        }
        return jq(source.transform(), data);
    }

    /** {@code data} through the jq expression {@code transform} (none when null). */
    static FetchResult jq(String transform, JsonNode data) {
        if (transform == null) {
            return new FetchResult.Success(data);
        }
        try {
            return new FetchResult.Success(Jq.of(transform).apply(data));
        } catch (IllegalStateException | IllegalArgumentException e) {
            return fail("transform failed: " + e.getMessage());
        }
    }

    private static Optional<Charset> charset(String name) {
        try {
            return Optional.of(Charset.forName(name));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static FetchResult parseJson(SourceConfig source, byte[] body, String contentType) {
        if (body.length == 0) {
            return fail("empty response body");
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (JsonParseException e) {
            String what = contentType.isEmpty() ? "" : " (" + contentType + ")";
            var loc = e.getLocation();
            return fail("response is not valid JSON" + what + " at line " + loc.getLineNr() + " column "
                    + loc.getColumnNr());
        } catch (JsonProcessingException e) {
            return fail("response is not valid JSON");
        } catch (IOException e) {
            return fail("response could not be read as JSON");
        }
        if (root == null || root.isMissingNode()) {
            return fail("empty response body");
        }
        if (source.select() == null) {
            return new FetchResult.Success(root);
        }
        JsonNode selected;
        try {
            selected = root.at(source.select());
        } catch (IllegalArgumentException e) {
            return fail("select " + source.select() + " is not a valid JSON Pointer");
        }
        if (selected.isMissingNode()) {
            return fail("select " + source.select() + " matched nothing in the response");
        }
        return new FetchResult.Success(selected);
    }

    private static FetchResult fail(String reason) {
        return new FetchResult.Failure(reason);
    }
}
