package io.github.aggregator.http;

import io.helidon.webserver.http.ServerResponse;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.function.BooleanSupplier;

/**
 * Tells whether the client of a streaming response is still there, where a failed write does not.
 *
 * <p>Over HTTP/1.1 a client that left is noticed when a write fails. Over HTTP/2 it is not: a client that closes its
 * EventSource resets the stream but keeps the connection, and Helidon 4.5 goes on accepting writes to the reset stream
 * without an error (until its flow-control window runs dry), and offers no callback. The stream's own state is public
 * ({@code Http2ServerStream.streamState()}), but the response keeps the stream in a private field, so this class reads
 * it reflectively, once per response. When the field is not there (HTTP/1.1, another Helidon version) the answer is
 * always "alive" and write failures are the only signal, as before.
 */
final class StreamLiveness {
    private static final System.Logger LOG = System.getLogger(StreamLiveness.class.getName());
    /** The check of a response that is not an HTTP/2 stream (or whose state is not readable): always alive. */
    static final BooleanSupplier ALWAYS = () -> true;

    private StreamLiveness() {}

    /** A check that is false once the client reset the stream of {@code res}. Cheap; call it before each write. */
    static BooleanSupplier of(ServerResponse res) {
        if (!res.getClass().getSimpleName().equals("Http2ServerResponse")) {
            return ALWAYS;
        }
        try {
            Field field = res.getClass().getDeclaredField("stream");
            field.setAccessible(true);
            Object stream = field.get(res);
            Method state = stream.getClass().getMethod("streamState");
            state.setAccessible(true); // the method is public, its class is not
            state.invoke(stream);
            return () -> {
                try {
                    return !"CLOSED".equals(String.valueOf(state.invoke(stream)));
                } catch (ReflectiveOperationException | RuntimeException e) {
                    return true;
                }
            };
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.log(
                    System.Logger.Level.DEBUG,
                    "HTTP/2 stream state not readable: " + e.getClass().getSimpleName());
            return ALWAYS;
        }
    }
}
