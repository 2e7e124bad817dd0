package io.github.aggregator.access;

import io.github.aggregator.source.Scope;
import java.time.Instant;

/** What checking one token found: a valid credential and what it grants, or why it was refused. */
public sealed interface Verdict {

    /**
     * A valid credential.
     *
     * @param scope the sources it may read (possibly none)
     * @param expiresAt when it stops being accepted (a JWT's {@code exp} plus the configured leeway), or null for never
     *     (a static key, a JWT without {@code exp})
     */
    record Valid(Scope scope, Instant expiresAt) implements Verdict {}

    /**
     * A refused credential.
     *
     * @param reason a short reason that is safe to send back: never the token or any part of it
     */
    record Invalid(String reason) implements Verdict {}
}
