package io.github.aggregator.fetch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** Reads a response body within the fetch's size limit and its whole-call deadline. Stateless. */
final class BodyReader {
    private BodyReader() {}

    /**
     * The body of {@code in}; null as soon as it grows past {@code maxBytes} (the rest is not read).
     *
     * @param deadline the {@link System#nanoTime} by which the body must be read
     * @throws Deadline when the deadline passes between two reads
     */
    static byte[] read(InputStream in, long deadline, long maxBytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16 * 1024];
        while (true) {
            if (System.nanoTime() > deadline) {
                throw new Deadline();
            }
            int n = in.read(buf);
            if (n < 0) {
                return out.toByteArray();
            }
            if (out.size() + n > maxBytes) {
                return null;
            }
            out.write(buf, 0, n);
        }
    }

    /** Thrown by {@link #read} when the whole-call deadline passes; caught by the fetcher, never leaves the package. */
    static final class Deadline extends RuntimeException {
        Deadline() {
            super(null, null, false, false);
        }
    }
}
