package io.github.aggregator.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * N Server-Sent Events connections to one URL, all driven by one selector thread, so the client costs one core at
 * most and stamps every event with {@link System#nanoTime} the moment its bytes are read.
 *
 * <p>Connections are opened at most {@code maxPending} at a time (a connection is pending from {@code connect} until
 * its first event arrives), which keeps the server's accept backlog from overflowing. A subscriber is established
 * when its first event (the {@code snapshot}) arrives. After {@link #expectFrom} names the version every subscriber
 * holds, an event whose {@code id:} is that version plus {@code k} is change {@code k}: its receive time is kept per
 * subscriber. The HTTP/1.1 chunked encoding is decoded; of each SSE line only the {@code id:} field is read.
 *
 * <p>Counters may be read from any thread; the receive times of a change are safe to read once {@link #received}
 * says every subscriber got it (the counter is written after the time).
 */
final class Subscribers implements AutoCloseable {
    private static final int STATUS = 0, HEADER = 1, CHUNK_SIZE = 2, CHUNK_DATA = 3, CHUNK_END = 4, RAW = 5;
    private static final byte[] ID = "id: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHANGE = "\"change\":".getBytes(StandardCharsets.US_ASCII);

    private final InetSocketAddress server;
    private final byte[] request;
    private final boolean byChange;
    private final int total;
    private final int maxPending;
    private final long connectTimeoutNanos;
    private final Selector selector;
    private final Thread loop;
    private final Conn[] conns;
    private final long[] connectNanos;
    private final long[][] receivedAt; // [change - 1][subscriber]
    private final AtomicIntegerArray received;
    private final AtomicLong established = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();
    private volatile long base = Long.MIN_VALUE;
    private volatile boolean stop;
    private int opened;
    private int pending;

    /** One connection's parser state; touched only by the selector thread. */
    private static final class Conn {
        final int index;
        final SocketChannel channel;
        final long startedAt;
        ByteBuffer out;
        int phase = STATUS;
        final byte[] line = new byte[64]; // the start of the current HTTP line
        int lineLength;
        long chunkLeft;
        final byte[] sse = new byte[24]; // the start of the current SSE line
        int sseLength;
        boolean chunked;
        int changeMatched = 0; // bytes of "change": matched so far; CHANGE.length + 1 while reading its digits
        long change;
        boolean established;
        boolean done;

        Conn(int index, SocketChannel channel, long startedAt) {
            this.index = index;
            this.channel = channel;
            this.startedAt = startedAt;
        }
    }

    /**
     * @param server the service's address
     * @param path the SSE path, e.g. {@code /api/sources/bench/events}
     * @param total connections to open
     * @param changes the highest change number that will be recorded
     * @param maxPending connections being set up at the same time
     */
    Subscribers(InetSocketAddress server, String path, int total, int changes, int maxPending) throws IOException {
        this(server, path, total, changes, maxPending, false);
    }

    /**
     * @param byChange true to number events by the {@code "change":N} in their data (the upstream's change number,
     *     whatever server relays it) instead of by their {@code id:}; {@link #expectFrom} then names a change number
     */
    Subscribers(InetSocketAddress server, String path, int total, int changes, int maxPending, boolean byChange)
            throws IOException {
        this.server = server;
        this.byChange = byChange;
        this.request = ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.getPort()
                        + "\r\nAccept: text/event-stream\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        this.total = total;
        this.maxPending = maxPending;
        this.connectTimeoutNanos = TimeUnit.SECONDS.toNanos(30);
        this.selector = Selector.open();
        this.conns = new Conn[total];
        this.connectNanos = new long[total];
        this.receivedAt = new long[changes][total];
        this.received = new AtomicIntegerArray(changes);
        this.loop = new Thread(this::run, "subscribers");
        loop.setDaemon(true);
    }

    /** Starts opening the connections on the selector thread; returns at once. */
    void start() {
        loop.start();
    }

    long established() {
        return established.get();
    }

    long failed() {
        return failed.get();
    }

    /** Established subscribers whose connection ended before {@link #close}. */
    long dropped() {
        return dropped.get();
    }

    /** Failures by reason, for the report. */
    Map<String, Integer> failures() {
        return new TreeMap<>(failures);
    }

    /** Time from {@code connect} to the first event of every established subscriber, in nanoseconds. */
    long[] connectTimes() {
        long[] out = new long[(int) established.get()];
        int j = 0;
        for (int i = 0; i < total && j < out.length; i++) {
            if (connectNanos[i] > 0) {
                out[j++] = connectNanos[i];
            }
        }
        return Arrays.copyOf(out, j);
    }

    /** From now on an event with id {@code version + k} is change {@code k}. */
    void expectFrom(long version) {
        base = version;
    }

    /** Subscribers that received change {@code k} (1-based). */
    int received(int k) {
        return received.get(k - 1);
    }

    /** The receive times of change {@code k}, 0 for a subscriber that did not receive it. */
    long[] receivedAt(int k) {
        return receivedAt[k - 1];
    }

    private void run() {
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        long lastSweep = System.nanoTime();
        try {
            while (!stop) {
                while (opened < total && pending < maxPending) {
                    open();
                }
                selector.select(50);
                for (SelectionKey key : selector.selectedKeys()) {
                    Conn c = (Conn) key.attachment();
                    try {
                        if (key.isConnectable()) {
                            connected(key, c);
                        } else if (key.isWritable()) {
                            flush(key, c);
                        } else if (key.isReadable()) {
                            read(key, c, buf);
                        }
                    } catch (IOException | RuntimeException e) {
                        end(c, e.getClass().getSimpleName());
                    }
                }
                selector.selectedKeys().clear();
                long now = System.nanoTime();
                if (now - lastSweep > TimeUnit.SECONDS.toNanos(1)) {
                    lastSweep = now;
                    for (int i = 0; i < opened; i++) {
                        Conn c = conns[i];
                        if (!c.done && !c.established && now - c.startedAt > connectTimeoutNanos) {
                            end(c, "no snapshot within 30 s");
                        }
                    }
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (!stop) {
                failures.merge("selector: " + e, 1, Integer::sum);
            }
        }
    }

    private void open() {
        int i = opened++;
        pending++;
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.SO_LINGER, 0); // close resets: no TIME_WAIT, the server notices at once
            Conn c = new Conn(i, ch, System.nanoTime());
            conns[i] = c;
            if (ch.connect(server)) {
                ch.register(selector, 0, c);
                send(ch.keyFor(selector), c);
            } else {
                ch.register(selector, SelectionKey.OP_CONNECT, c);
            }
        } catch (IOException e) {
            conns[i] = new Conn(i, ch, System.nanoTime());
            end(conns[i], "open: " + e.getMessage());
        }
    }

    private void connected(SelectionKey key, Conn c) throws IOException {
        c.channel.finishConnect();
        send(key, c);
    }

    private void send(SelectionKey key, Conn c) throws IOException {
        c.out = ByteBuffer.wrap(request);
        flush(key, c);
    }

    private void flush(SelectionKey key, Conn c) throws IOException {
        c.channel.write(c.out);
        key.interestOps(c.out.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        if (!c.out.hasRemaining()) {
            c.out = null;
        }
    }

    private void read(SelectionKey key, Conn c, ByteBuffer buf) throws IOException {
        buf.clear();
        int n = c.channel.read(buf);
        long now = System.nanoTime();
        if (n < 0) {
            end(c, "closed by the server");
            return;
        }
        for (int i = 0; i < n && !c.done; i++) {
            accept(c, buf.get(i), now);
        }
    }

    /** One byte of the response: HTTP head, chunk framing, then the event stream. */
    private void accept(Conn c, byte b, long now) {
        switch (c.phase) {
            case STATUS, HEADER, CHUNK_SIZE, CHUNK_END -> {
                if (b == '\r') {
                    return;
                }
                if (b != '\n') {
                    if (c.lineLength < c.line.length) {
                        c.line[c.lineLength] = b;
                    }
                    c.lineLength++;
                    return;
                }
                String line = new String(c.line, 0, Math.min(c.lineLength, c.line.length), StandardCharsets.US_ASCII);
                c.lineLength = 0;
                headLine(c, line);
            }
            case CHUNK_DATA -> {
                sse(c, b, now);
                if (--c.chunkLeft == 0) {
                    c.phase = CHUNK_END;
                }
            }
            default -> sse(c, b, now);
        }
    }

    private void headLine(Conn c, String line) {
        switch (c.phase) {
            case STATUS -> {
                if (!line.startsWith("HTTP/1.1 200")) {
                    end(c, "HTTP " + (line.length() >= 12 ? line.substring(9, 12) : line));
                    return;
                }
                c.phase = HEADER;
            }
            case HEADER -> {
                if (line.isEmpty()) {
                    c.phase = c.chunked ? CHUNK_SIZE : RAW;
                } else if (line.regionMatches(true, 0, "transfer-encoding: chunked", 0, 26)) {
                    c.chunked = true;
                }
            }
            case CHUNK_SIZE -> {
                int semi = line.indexOf(';');
                long size = Long.parseLong((semi < 0 ? line : line.substring(0, semi)).trim(), 16);
                if (size == 0) {
                    end(c, "stream ended by the server");
                    return;
                }
                c.chunkLeft = size;
                c.phase = CHUNK_DATA;
            }
            case CHUNK_END -> c.phase = CHUNK_SIZE; // the CRLF after a chunk's data
            default -> throw new IllegalStateException("phase " + c.phase);
        }
    }

    /** One byte of the event stream; an {@code id:} line is an event with the version it starts with. */
    private void sse(Conn c, byte b, long now) {
        if (byChange) {
            change(c, b, now);
            return;
        }
        if (b == '\r') {
            return; // the service ends lines with LF; a CR before it is not part of the line
        }
        if (b != '\n') {
            if (c.sseLength < c.sse.length) {
                c.sse[c.sseLength] = b;
            }
            c.sseLength++;
            return;
        }
        int length = Math.min(c.sseLength, c.sse.length);
        c.sseLength = 0;
        if (length <= ID.length || length == c.sse.length) {
            return;
        }
        for (int i = 0; i < ID.length; i++) {
            if (c.sse[i] != ID[i]) {
                return;
            }
        }
        long version = 0;
        int i = ID.length;
        for (; i < length && c.sse[i] != '-'; i++) { // the id is VERSION-CONTENTHASH: the version is before the dash
            int d = c.sse[i] - '0';
            if (d < 0 || d > 9) {
                return;
            }
            version = version * 10 + d;
        }
        if (i == ID.length) {
            return;
        }
        event(c, version, now);
    }

    /** One byte of the event stream, in change mode: the first {@code "change":N} of an event numbers it. */
    private void change(Conn c, byte b, long now) {
        if (c.changeMatched == CHANGE.length + 1) {
            if (b >= '0' && b <= '9') {
                c.change = c.change * 10 + (b - '0');
                return;
            }
            c.changeMatched = 0;
            event(c, c.change, now);
        }
        if (b == CHANGE[c.changeMatched]) {
            if (++c.changeMatched == CHANGE.length) {
                c.changeMatched = CHANGE.length + 1;
                c.change = 0;
            }
        } else {
            c.changeMatched = b == CHANGE[0] ? 1 : 0;
        }
    }

    private void event(Conn c, long version, long now) {
        if (!c.established) {
            c.established = true;
            connectNanos[c.index] = Math.max(1, now - c.startedAt);
            pending--;
            established.incrementAndGet();
            return;
        }
        long b = base;
        if (b == Long.MIN_VALUE) {
            return;
        }
        long k = version - b;
        if (k >= 1 && k <= receivedAt.length && receivedAt[(int) k - 1][c.index] == 0) {
            receivedAt[(int) k - 1][c.index] = now;
            received.incrementAndGet((int) k - 1);
        }
    }

    private void end(Conn c, String reason) {
        if (c.done) {
            return;
        }
        c.done = true;
        if (c.established) {
            dropped.incrementAndGet();
            failures.merge("dropped: " + reason, 1, Integer::sum);
        } else {
            pending--;
            failed.incrementAndGet();
            failures.merge(reason, 1, Integer::sum);
        }
        try {
            if (c.channel != null) {
                c.channel.close();
            }
        } catch (IOException e) {
            // already gone
        }
    }

    /** Resets every connection (the server sees the subscribers leave) and stops the selector thread. */
    @Override
    public void close() throws InterruptedException {
        stop = true;
        selector.wakeup();
        loop.join(10_000);
        for (int i = 0; i < opened; i++) {
            try {
                if (conns[i] != null && conns[i].channel != null) {
                    conns[i].channel.close();
                }
            } catch (IOException e) {
                // already gone
            }
        }
        try {
            selector.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
