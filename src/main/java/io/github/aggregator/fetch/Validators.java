package io.github.aggregator.fetch;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.webclient.api.HttpClientRequest;

/**
 * The validators ({@code ETag}, {@code Last-Modified}) of a source's last good response, sent back as a conditional
 * request ({@code If-None-Match}, {@code If-Modified-Since}). Only the configured origin's answers set them and only
 * requests to it carry them. Thread-safe; the poller never runs two fetches of a source at once.
 */
final class Validators {
    private volatile Known current = new Known(null, null);

    /** The validators as one fetch sees them from its start to its end. */
    record Known(String etag, String lastModified) {
        /** Whether a request with these is conditional. */
        boolean conditional() {
            return etag != null || lastModified != null;
        }

        void addTo(HttpClientRequest request) {
            if (etag != null) {
                request.header(HeaderNames.IF_NONE_MATCH, etag);
            }
            if (lastModified != null) {
                request.header(HeaderNames.IF_MODIFIED_SINCE, lastModified);
            }
        }
    }

    Known known() {
        return current;
    }

    /** A 304 may carry updated validators (RFC 9110 15.4.5); those it carries replace the known ones. */
    void notModified(Headers headers) {
        Known k = current;
        current = new Known(
                headers.first(HeaderNames.ETAG).orElse(k.etag()),
                headers.first(HeaderNames.LAST_MODIFIED).orElse(k.lastModified()));
    }

    /** A good response: its validators, or none when it came from another origin (after a redirect). */
    void succeeded(Headers headers, boolean sameOrigin) {
        current = sameOrigin
                ? new Known(
                        headers.first(HeaderNames.ETAG).orElse(null),
                        headers.first(HeaderNames.LAST_MODIFIED).orElse(null))
                : new Known(null, null);
    }
}
