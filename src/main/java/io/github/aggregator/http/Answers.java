package io.github.aggregator.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.aggregator.source.Snapshot;
import io.github.aggregator.stream.Frames;
import io.helidon.http.DateTime;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * What the polling endpoint answers for one snapshot, prepared once however many clients ask for it: the entity tag,
 * the {@code ETag} and {@code Last-Modified} headers (with their HTTP/1.1 bytes), the envelope's bytes and, on first
 * demand, their gzip form. The snapshot of the last answer is checked first, so the readers of one version between
 * two changes share it without a cache lookup; other snapshots are kept weakly (an entry goes with its snapshot).
 * Thread-safe.
 */
final class Answers {
    private static final Cache<Snapshot, Answer> PREPARED =
            Caffeine.newBuilder().weakKeys().maximumSize(8192).build();

    /** The answer {@link #of} gave last. */
    private static volatile Answer last;

    /** {@code Cache-Control: max-age=N} for N below this, made once each, public and private. */
    private static final int CACHED_MAX_AGES = 3600;

    private static final Header[] PUBLIC_MAX_AGE = new Header[CACHED_MAX_AGES];
    private static final Header[] PRIVATE_MAX_AGE = new Header[CACHED_MAX_AGES];

    private Answers() {}

    /** One snapshot's answer; {@link #gzipped()} compresses on first use. Do not modify the arrays. */
    static final class Answer {
        private final Snapshot snapshot;
        private final String etag;
        private final Header etagHeader;
        private final Header lastModified;
        private final byte[] body;
        private volatile byte[] gzipped;

        private Answer(Snapshot s) {
            this.snapshot = s;
            this.etag = s.etag();
            this.etagHeader = HeaderValues.createCached(HeaderNames.ETAG, etag);
            this.lastModified = HeaderValues.createCached(HeaderNames.LAST_MODIFIED, httpDate(s.changedAt()));
            this.body = Frames.envelopeBytes(s);
        }

        String etag() {
            return etag;
        }

        Header etagHeader() {
            return etagHeader;
        }

        Header lastModified() {
            return lastModified;
        }

        byte[] body() {
            return body;
        }

        /** The body gzipped; two first readers at once may both compress it, with the same result. */
        byte[] gzipped() {
            byte[] g = gzipped;
            if (g == null) {
                g = JsonBody.gzip(body);
                gzipped = g;
            }
            return g;
        }
    }

    /** The answer for {@code s} (which has data). */
    static Answer of(Snapshot s) {
        Answer a = last;
        if (a != null && a.snapshot == s) {
            return a;
        }
        a = PREPARED.get(s, Answer::new);
        last = a;
        return a;
    }

    /** {@code Cache-Control: [private, ]max-age=seconds}. */
    static Header cacheControl(boolean personal, long seconds) {
        if (seconds < 0 || seconds >= CACHED_MAX_AGES) {
            return HeaderValues.create(HeaderNames.CACHE_CONTROL, (personal ? "private, " : "") + "max-age=" + seconds);
        }
        Header[] made = personal ? PRIVATE_MAX_AGE : PUBLIC_MAX_AGE;
        int i = (int) seconds;
        Header h = made[i];
        if (h == null) {
            h = HeaderValues.createCached(HeaderNames.CACHE_CONTROL, (personal ? "private, " : "") + "max-age=" + i);
            made[i] = h; // a race makes an equal header twice
        }
        return h;
    }

    private static String httpDate(Instant t) {
        return ZonedDateTime.ofInstant(t, ZoneOffset.UTC).format(DateTime.RFC_1123_DATE_TIME);
    }
}
