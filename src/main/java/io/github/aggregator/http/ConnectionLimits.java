package io.github.aggregator.http;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http1.Http1ConnectionListener;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * What Helidon 4.5's HTTP/1.1 connection does not bound or end by itself, per connection:
 *
 * <ul>
 *   <li>a request with {@code Connection: close} ends the connection after its response ({@link #filter(Front)});
 *       Helidon would go on reading, and parse an unread body as further requests;
 *   <li>the request headers must arrive within {@code headerTimeout} of the request line ({@link #receiveListener()});
 *   <li>a kept-alive connection may wait at most {@code keepAliveTimeout} for its next request line;
 *   <li>a {@code 414} or {@code 431} answer is written before the rest of the oversized request is read and discarded
 *       ({@link #sendListener()}): closing with unread input makes the kernel reset the connection, and the client
 *       loses the answer.
 * </ul>
 *
 * <p>A deadline interrupts the connection's thread, which on a virtual thread (Helidon's default) closes the socket
 * under the blocked read. Arming and disarming, twice per request, is one volatile write on the connection thread's
 * own {@link Deadline}; one {@code connection-deadlines} thread sweeps them every tenth of the shorter timeout (10 ms
 * to 1 s), so a deadline ends up to one sweep late. (A timer task scheduled and cancelled per request was 7 % of the JSON
 * endpoint's CPU samples, see bench/README.md.) Thread-safe: the per-connection state is the
 * connection thread's own.
 */
public final class ConnectionLimits implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ConnectionLimits.class.getName());
    /** Answers after which the rest of the request is read and discarded before the connection closes. */
    private static final Set<Integer> LINGER = Set.of(413, 414, 431);
    /** At most this much of an oversized request is read and discarded. */
    private static final long MAX_DISCARD = 4L << 20;
    /** At most this much of the body of a {@code Connection: close} request is read before the connection closes. */
    private static final long MAX_DRAIN_BODY = 64 << 10;

    /** Helidon's HTTP/1.1 connection logger; held so that its filter stays (JUL keeps loggers weakly). */
    private static final java.util.logging.Logger HTTP1 =
            java.util.logging.Logger.getLogger("io.helidon.webserver.http1.Http1Connection");

    static {
        // a client that leaves in the middle of its request (or is cut off by a deadline) makes Helidon log
        // "Internal server error" with a stack trace; that is client behaviour, worth one debug line
        java.util.logging.Filter previous = HTTP1.getFilter();
        HTTP1.setFilter(record -> {
            if (record.getThrown() != null && leftEarly(record.getThrown())) {
                LOG.log(Level.DEBUG, "a client left in the middle of its request");
                return false;
            }
            return previous == null || previous.isLoggable(record);
        });
    }

    private final Duration headerTimeout;
    private final Duration keepAliveTimeout;
    /** The deadline of every live connection thread that has armed one; a finished thread's goes at the next sweep. */
    private final Set<Deadline> deadlines = ConcurrentHashMap.newKeySet();

    /** The calling connection thread's own state (one thread per HTTP/1.1 connection). */
    private final ThreadLocal<Deadline> deadline = new ThreadLocal<>();

    private final long sweepNanos;
    private final Thread sweeper;
    private volatile boolean closed;

    /**
     * @param headerTimeout how long the request headers may take after the request line
     * @param keepAliveTimeout how long a kept-alive connection may wait for its next request
     */
    public ConnectionLimits(Duration headerTimeout, Duration keepAliveTimeout) {
        if (headerTimeout.isNegative() || headerTimeout.isZero()) {
            throw new IllegalArgumentException("server.header-timeout must be positive");
        }
        if (keepAliveTimeout.isNegative() || keepAliveTimeout.isZero()) {
            throw new IllegalArgumentException("server.keep-alive-timeout must be positive");
        }
        this.headerTimeout = headerTimeout;
        this.keepAliveTimeout = keepAliveTimeout;
        long shorter = Math.min(headerTimeout.toNanos(), keepAliveTimeout.toNanos());
        this.sweepNanos = Math.clamp(shorter / 10, 10_000_000L, 1_000_000_000L);
        this.sweeper = Thread.ofPlatform().daemon().name("connection-deadlines").unstarted(this::sweep);
        sweeper.start();
    }

    /** Times the request headers: armed on the request line, disarmed when the headers are in. */
    public Http1ConnectionListener receiveListener() {
        return new Http1ConnectionListener() {
            @Override
            public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
                Deadline d = arm(headerTimeout);
                if (d.connection != ctx) { // once per connection: a thread serves one for its life
                    d.connection = ctx;
                }
            }

            @Override
            public void headers(ConnectionContext ctx, Headers headers) {
                disarm();
            }
        };
    }

    /** Reads and discards the rest of an oversized request after writing its {@code 414}/{@code 431} answer. */
    public Http1ConnectionListener sendListener() {
        return new Http1ConnectionListener() {
            @Override
            public void status(ConnectionContext ctx, Status status) {
                if (LINGER.contains(status.code())) {
                    own().answered = status;
                }
            }

            @Override
            public void data(ConnectionContext ctx, BufferData data) {
                Deadline d = deadline.get();
                if (d == null || d.answered == null) {
                    return;
                }
                d.answered = null;
                // written here and now (which consumes the buffer, so Helidon's own write after this sends nothing),
                // then the rest of the request is read, so that closing does not reset the connection
                ctx.dataWriter().writeNow(data);
                arm(headerTimeout);
                try {
                    discardRequest(ctx.dataReader());
                } catch (RuntimeException e) {
                    LOG.log(
                            Level.DEBUG,
                            "oversized request: the client left ("
                                    + e.getClass().getSimpleName() + ")");
                } finally {
                    disarm();
                    Thread.interrupted();
                }
            }
        };
    }

    /** A step before the routes, run inside the connection filter: it may answer a request itself. */
    @FunctionalInterface
    public interface Front {
        /** @return true when it answered {@code req}, so that the routes do not run */
        boolean answered(RoutingRequest req, RoutingResponse res);
    }

    /**
     * The one routing filter: runs {@code front} (CORS) and then the routes, unless {@code front} answered; after the
     * response to an HTTP/1.1 request that carries {@code Connection: close}, ends the connection (RFC 9112 9.6: no
     * further request on it is processed); after any other HTTP/1.1 response, starts the keep-alive timeout. One
     * filter rather than one per concern: a stream's handler stays parked inside every filter around it, and each adds
     * three frames to each parked stream's stack (see bench/README.md, memory per subscriber).
     */
    public Filter filter(Front front) {
        return new Filter() {
            @Override
            public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
                if (!"1.1".equals(req.prologue().protocolVersion())) {
                    proceed(chain, req, res);
                    return;
                }
                boolean close = req.headers().containsToken(HeaderValues.CONNECTION_CLOSE);
                if (!close) {
                    proceed(chain, req, res);
                    arm(keepAliveTimeout);
                    return;
                }
                try {
                    proceed(chain, req, res);
                } catch (CloseConnectionException e) {
                    throw e;
                } catch (RuntimeException e) {
                    Routes.failed(req, res, e);
                }
                if (res.hasEntity() && !res.isSent()) {
                    res.commit();
                }
                drainSmallBody(req);
                throw new CloseConnectionException("the client asked to close the connection");
            }

            private void proceed(FilterChain chain, RoutingRequest req, RoutingResponse res) {
                if (!front.answered(req, res)) {
                    chain.proceed();
                }
            }
        };
    }

    private static void drainSmallBody(RoutingRequest req) {
        try {
            long length = req.headers().contentLength().orElse(-1);
            if (length > 0 && length <= MAX_DRAIN_BODY && !req.content().consumed()) {
                req.content().consume();
            }
        } catch (RuntimeException e) {
            // the body was not framed or the client left: the connection closes either way
        }
    }

    /** Reads until the end of the request's header block ({@code CRLF CRLF}), end of input, or {@link #MAX_DISCARD}. */
    private static void discardRequest(DataReader reader) {
        long read = 0;
        int tail = 0; // the last four bytes seen, as an int
        while (read < MAX_DISCARD) {
            reader.ensureAvailable();
            int n = reader.available();
            byte[] bytes = reader.readBytes(n);
            for (byte b : bytes) {
                tail = (tail << 8) | (b & 0xff);
                if (tail == 0x0d0a0d0a) {
                    return;
                }
            }
            read += n;
        }
    }

    /** Whether {@code t} comes from the client's side going away: end of input, or a failed socket read. */
    static boolean leftEarly(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof DataReader.InsufficientDataAvailableException
                    || c instanceof java.io.IOException
                    || c instanceof InterruptedException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The socket of the HTTP/1.1 connection that the calling thread serves, when that connection's id is {@code
     * socketId} (a request's {@code socketId()}); null on any other thread, such as an HTTP/2 stream's.
     */
    public HelidonSocket socket(String socketId) {
        ConnectionContext ctx = connection(socketId);
        return ctx == null ? null : ctx.serverSocket();
    }

    /**
     * The HTTP/1.1 connection that the calling thread serves, when its id is {@code socketId}; null on any other
     * thread, such as an HTTP/2 stream's.
     */
    public ConnectionContext connection(String socketId) {
        Deadline d = deadline.get();
        ConnectionContext ctx = d == null ? null : d.connection;
        return ctx != null && ctx.childSocketId().equals(socketId) ? ctx : null;
    }

    /**
     * The length of the read array of each live HTTP/1.1 connection's socket ({@link ReadBuffer}), -1 where it cannot
     * be read: what the connections hold while they wait or stream (diagnostics; tests).
     */
    public List<Integer> readBufferLengths() {
        List<Integer> out = new ArrayList<>();
        for (Deadline d : deadlines) {
            ConnectionContext ctx = d.connection;
            if (ctx != null && d.thread.isAlive()) {
                out.add(ReadBuffer.length(ctx.serverSocket()));
            }
        }
        return out;
    }

    private Deadline own() {
        Deadline d = deadline.get();
        if (d == null) {
            d = new Deadline(Thread.currentThread());
            deadline.set(d);
            deadlines.add(d);
        }
        return d;
    }

    /** @return the calling thread's deadline, now due {@code after} from now */
    private Deadline arm(Duration after) {
        Deadline d = own();
        d.arm(System.nanoTime() + after.toNanos());
        return d;
    }

    private void disarm() {
        Deadline d = deadline.get();
        if (d != null) {
            d.disarm();
        }
    }

    /** Every {@link #sweepNanos}: interrupts the threads whose deadline has passed, forgets the finished ones. */
    private void sweep() {
        while (!closed) {
            LockSupport.parkNanos(sweepNanos);
            long now = System.nanoTime();
            for (Deadline d : deadlines) {
                if (!d.thread.isAlive()) {
                    deadlines.remove(d);
                } else {
                    d.expire(now);
                }
            }
        }
    }

    /**
     * One connection thread's deadline: a due time, or {@link #OFF}. The thread arms and disarms it; the sweeper
     * interrupts the thread when the due time has passed, unless it was disarmed or moved first. It also holds the
     * thread's connection and a pending 414/431, which only the thread itself reads and writes.
     */
    private static final class Deadline {
        private static final long OFF = Long.MIN_VALUE;
        private static final java.lang.invoke.VarHandle DUE;

        static {
            try {
                DUE = java.lang.invoke.MethodHandles.lookup().findVarHandle(Deadline.class, "due", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Thread thread;
        /** The connection the thread serves, from its first request line on (read by readBufferLengths). */
        private volatile ConnectionContext connection;
        /** A 414/431 status being sent, whose body write is followed by discarding the rest of the request. */
        private Status answered;

        @SuppressWarnings("unused") // through DUE
        private volatile long due = OFF;

        Deadline(Thread thread) {
            this.thread = thread;
        }

        void arm(long at) {
            due = at == OFF ? at + 1 : at;
        }

        void disarm() {
            due = OFF;
        }

        void expire(long now) {
            long at = due;
            if (at != OFF && now - at >= 0 && DUE.compareAndSet(this, at, OFF)) {
                thread.interrupt();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(sweeper);
    }
}
