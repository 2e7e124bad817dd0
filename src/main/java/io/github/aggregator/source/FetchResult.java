package io.github.aggregator.source;

import com.fasterxml.jackson.databind.JsonNode;

/** The outcome of one upstream call: a value, never an exception. */
public sealed interface FetchResult {

    /** The upstream answered with usable JSON; {@code data} is already selected. */
    record Success(JsonNode data) implements FetchResult {}

    /** The call failed; {@code reason} is short, specific and free of secrets. */
    record Failure(String reason) implements FetchResult {}
}
