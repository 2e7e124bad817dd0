package io.github.aggregator.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/** The outcome of one upstream call (or one recombination): a value, never an exception. */
public sealed interface FetchResult {

    /** The upstream answered with usable data; {@code data} is already selected and transformed. */
    record Success(JsonNode data) implements FetchResult {}

    /** The upstream answered {@code 304 Not Modified} to a conditional request: the data held is still current. */
    record NotModified() implements FetchResult {}

    /**
     * The call failed.
     *
     * @param reason short, specific and free of secrets
     * @param retryAfter when the upstream asked not to be called before (429/503 with Retry-After), or null
     */
    record Failure(String reason, Instant retryAfter) implements FetchResult {
        public Failure(String reason) {
            this(reason, null);
        }
    }

    /**
     * No request was sent (or no further one, for a fetch that needed several): the source's request budget allows
     * none before {@code notBefore}. Not a failure: the data held stays as it is, fresh as of its {@code fetchedAt}.
     */
    record Deferred(Instant notBefore) implements FetchResult {}

    /** Usable data that is nevertheless stale, e.g. a combined source one of whose parts is failing. */
    record Partial(JsonNode data, String reason) implements FetchResult {}
}
