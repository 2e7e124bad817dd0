package io.github.aggregator.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A few Server-Sent Events streams, possibly to several services, each read by its own platform thread with a
 * blocking socket, so an event is stamped ({@link System#nanoTime}) as soon as the read that carries it returns. Of
 * each event only the {@code data:} line is looked at: the upstream body inside the envelope carries {@code
 * "change":N} ({@link Upstream#body}), and the first time a stream sees change N its receive time is kept. Unlike
 * {@link Subscribers} (which maps event ids to changes and scales to thousands of streams on one selector), this
 * identifies each update by the upstream's own sequence number, so it does not depend on the services' versions.
 *
 * <p>The HTTP/1.1 chunked encoding is decoded. Thread-safe.
 */
final class ChangeStreams implements AutoCloseable {
    private static final byte[] CHANGE = "\"change\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);

    /** One stream to instance {@code instance}; {@code receivedAt} maps change number to receive time. */
    static final class Stream {
        final int instance;
        final Map<Integer, Long> receivedAt = new ConcurrentHashMap<>();
        volatile boolean established;
        volatile String failure;

        Stream(int instance) {
            this.instance = instance;
        }
    }

    private final List<Stream> streams = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();
    private final AtomicInteger established = new AtomicInteger();
    private volatile boolean closing;

    /** Opens one stream to {@code 127.0.0.1:port} on {@code path}, counted as instance {@code instance}. */
    synchronized Stream open(int instance, int port, String path) throws IOException {
        Stream s = new Stream(instance);
        Socket socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.getOutputStream()
                .write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAccept: text/event-stream\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        Thread t = new Thread(() -> read(s, socket), "stream-" + instance + "-" + streams.size());
        t.setDaemon(true);
        streams.add(s);
        sockets.add(socket);
        threads.add(t);
        t.start();
        return s;
    }

    synchronized List<Stream> streams() {
        return List.copyOf(streams);
    }

    /** Streams whose first event (the snapshot) has arrived. */
    int established() {
        return established.get();
    }

    /** Streams that ended before {@link #close}, by reason. */
    Map<String, Integer> failures() {
        return new TreeMap<>(failures);
    }

    private void read(Stream s, Socket socket) {
        Decoder d = new Decoder(s);
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = socket.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                long now = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    d.accept(buf[i], now);
                }
                if (d.failed != null) {
                    throw new IOException(d.failed);
                }
            }
            if (!closing) {
                fail(s, "closed by the server");
            }
        } catch (IOException | RuntimeException e) {
            if (!closing) {
                fail(s, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }

    private void fail(Stream s, String reason) {
        s.failure = reason;
        failures.merge(reason, 1, Integer::sum);
    }

    /** HTTP head, chunk framing, then SSE lines; touched only by the stream's thread. */
    private final class Decoder {
        private static final int STATUS = 0, HEADER = 1, CHUNK_SIZE = 2, CHUNK_DATA = 3, CHUNK_END = 4, RAW = 5;
        private final Stream stream;
        private final StringBuilder head = new StringBuilder();
        private byte[] line = new byte[4096];
        private int length;
        private int phase = STATUS;
        private boolean chunked;
        private long chunkLeft;
        String failed;

        Decoder(Stream stream) {
            this.stream = stream;
        }

        void accept(byte b, long now) {
            switch (phase) {
                case STATUS, HEADER, CHUNK_SIZE, CHUNK_END -> {
                    if (b == '\r') {
                        return;
                    }
                    if (b != '\n') {
                        head.append((char) b);
                        return;
                    }
                    String h = head.toString();
                    head.setLength(0);
                    headLine(h);
                }
                case CHUNK_DATA -> {
                    sse(b, now);
                    if (--chunkLeft == 0) {
                        phase = CHUNK_END;
                    }
                }
                default -> sse(b, now);
            }
        }

        private void headLine(String h) {
            switch (phase) {
                case STATUS -> {
                    if (!h.startsWith("HTTP/1.1 200")) {
                        failed = "status " + h;
                    }
                    phase = HEADER;
                }
                case HEADER -> {
                    if (h.isEmpty()) {
                        phase = chunked ? CHUNK_SIZE : RAW;
                    } else if (h.regionMatches(true, 0, "transfer-encoding: chunked", 0, 26)) {
                        chunked = true;
                    }
                }
                case CHUNK_SIZE -> {
                    int semi = h.indexOf(';');
                    long size = Long.parseLong((semi < 0 ? h : h.substring(0, semi)).trim(), 16);
                    if (size == 0) {
                        failed = "stream ended by the server";
                        return;
                    }
                    chunkLeft = size;
                    phase = CHUNK_DATA;
                }
                default -> phase = CHUNK_SIZE; // the CRLF after a chunk's data
            }
        }

        private void sse(byte b, long now) {
            if (b == '\r') {
                return;
            }
            if (b != '\n') {
                if (length == line.length) {
                    line = Arrays.copyOf(line, line.length * 2);
                }
                line[length++] = b;
                return;
            }
            int n = length;
            length = 0;
            if (!startsWith(line, n, DATA, 0)) {
                return;
            }
            if (!stream.established) {
                stream.established = true;
                established.incrementAndGet();
            }
            for (int i = DATA.length; i + CHANGE.length < n; i++) {
                if (startsWith(line, n, CHANGE, i)) {
                    int change = 0;
                    int j = i + CHANGE.length;
                    for (; j < n && line[j] >= '0' && line[j] <= '9'; j++) {
                        change = change * 10 + (line[j] - '0');
                    }
                    if (j > i + CHANGE.length) {
                        stream.receivedAt.putIfAbsent(change, now);
                    }
                    return;
                }
            }
        }
    }

    private static boolean startsWith(byte[] line, int length, byte[] prefix, int at) {
        if (at + prefix.length > length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (line[at + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** Closes every stream and waits for the reading threads. */
    @Override
    public synchronized void close() throws InterruptedException {
        closing = true;
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // already gone
            }
        }
        for (Thread t : threads) {
            t.join(2000);
        }
    }
}
