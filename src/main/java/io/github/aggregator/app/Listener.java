package io.github.aggregator.app;

import io.helidon.webserver.WebServer;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Filter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Starts the web server so that a listener which cannot bind (the port taken, a host not on this machine, a port
 * below 1024 without the right) fails the start with one exception carrying the system's reason. Helidon itself
 * logs such a failure at SEVERE with a stack trace and leaves the server stopped with port -1, which would otherwise
 * go on as a running service that listens nowhere.
 */
final class Listener {
    /** The logger Helidon's server reports a listener that did not start on. */
    private static final String HELIDON_SERVER = "io.helidon.webserver.LoomServer";

    private Listener() {}

    /** A server that does not listen: the message is one line, the address and the system's reason. */
    static final class Failed extends IllegalStateException {
        Failed(String message) {
            super(message);
        }
    }

    /** Starts {@code server}; throws {@link Failed} when it does not listen. */
    static void start(WebServer server) {
        Logger log = Logger.getLogger(HELIDON_SERVER);
        Filter previous = log.getFilter();
        AtomicReference<LogRecord> failure = new AtomicReference<>();
        log.setFilter(r -> {
            if (r.getLevel().intValue() >= Level.SEVERE.intValue()) {
                if (r.getThrown() != null) {
                    failure.compareAndSet(null, r); // said once, in the exception below
                }
                return false; // and "failed to start, shutting down" after it
            }
            return previous == null || previous.isLoggable(r);
        });
        try {
            server.start();
        } finally {
            log.setFilter(previous);
        }
        if (!server.isRunning() || server.port() < 0) {
            server.stop(); // the listeners that did start, if any
            throw new Failed(describe(failure.get()));
        }
    }

    private static String describe(LogRecord failure) {
        if (failure == null) {
            return "the server did not start listening";
        }
        String where = failure.getMessage() == null ? "" : failure.getMessage();
        int slash = where.lastIndexOf('/');
        String address = slash >= 0 ? where.substring(slash + 1) : "";
        Throwable t = failure.getThrown();
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String reason = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return (address.isEmpty() ? "cannot listen" : "cannot listen on " + address) + ": " + reason;
    }
}
