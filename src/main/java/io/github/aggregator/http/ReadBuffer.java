package io.github.aggregator.http;

import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PlainSocket;
import java.lang.System.Logger.Level;
import java.lang.reflect.Field;

/**
 * Helidon 4.5's blocking socket ({@link PlainSocket}, and {@code TlsSocket} which extends it) reads into an 8 KiB array
 * that it keeps for as long as the connection lives: a third of the heap a parked SSE subscriber holds
 * (bench/README.md, memory per subscriber), although a stream reads nothing from its connection after the request.
 * While a stream runs, that array is swapped for a small one, and a new full-size one is put back as the stream ends,
 * before Helidon reads the connection's next request. Both swaps happen on the connection's own thread, the only one
 * that reads the socket (an HTTP/1.1 handler runs on it, and Helidon reads nothing while the handler runs), so no read
 * ever sees the swap; a read during a stream would still be correct, only in smaller pieces.
 *
 * <p>Helidon has no setting for the array, so it is reached by reflection; where that fails (another Helidon version, a
 * JVM that refuses to write the field) nothing is swapped and one DEBUG line says so. {@code ReadBufferTest} checks
 * that the swap happens, so an upgrade that breaks it fails a test rather than silently costing memory.
 */
final class ReadBuffer {
    private static final System.Logger LOG = System.getLogger(ReadBuffer.class.getName());
    /** The array while a stream runs: enough for anything a client might still send, read in small pieces. */
    static final int STREAMING = 256;

    private static final Field FIELD = field();
    private static final Release NOTHING = () -> {};

    private ReadBuffer() {}

    /** Puts the full-size array back. */
    @FunctionalInterface
    interface Release extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Swaps {@code socket}'s read array for a small one until the returned release is closed; nothing when {@code
     * socket} is null (not an HTTP/1.1 connection served by this thread), not a Helidon plain or TLS socket, or the
     * field cannot be written.
     */
    static Release shrink(HelidonSocket socket) {
        if (FIELD == null || !(socket instanceof PlainSocket plain)) {
            return NOTHING;
        }
        int full;
        try {
            full = ((byte[]) FIELD.get(plain)).length;
            if (full <= STREAMING) {
                return NOTHING;
            }
            FIELD.set(plain, new byte[STREAMING]);
        } catch (IllegalAccessException | RuntimeException e) {
            return NOTHING;
        }
        return () -> {
            try {
                FIELD.set(plain, new byte[full]);
            } catch (IllegalAccessException | RuntimeException e) {
                // the small array stays: reads are still correct, in smaller pieces
            }
        };
    }

    /** The length of {@code socket}'s read array now, or -1 when it cannot be read (for tests). */
    static int length(HelidonSocket socket) {
        try {
            return FIELD != null && socket instanceof PlainSocket plain ? ((byte[]) FIELD.get(plain)).length : -1;
        } catch (IllegalAccessException | RuntimeException e) {
            return -1;
        }
    }

    private static Field field() {
        try {
            Field f = PlainSocket.class.getDeclaredField("readBuffer");
            if (f.getType() != byte[].class) {
                throw new NoSuchFieldException("readBuffer is a " + f.getType().getSimpleName());
            }
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException | RuntimeException e) {
            LOG.log(Level.DEBUG, "socket read buffers stay full-size while streaming: " + e.getMessage());
            return null;
        }
    }
}
