package io.github.aggregator.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Everything logged (through JUL, which {@code System.Logger} and Helidon use) at INFO or above while open: each
 * record's formatted message and any exception with its stack trace, so tests can assert that no secret is ever
 * logged. Thread-safe.
 */
public final class LogCapture implements AutoCloseable {
    private final List<String> records = new CopyOnWriteArrayList<>();
    private final Logger root = Logger.getLogger("");
    private final Handler handler = new Handler() {
        private final SimpleFormatter formatter = new SimpleFormatter();

        @Override
        public void publish(LogRecord record) {
            StringBuilder sb = new StringBuilder(record.getLoggerName() + ": " + formatter.formatMessage(record));
            if (record.getThrown() != null) {
                StringWriter trace = new StringWriter();
                record.getThrown().printStackTrace(new PrintWriter(trace));
                sb.append('\n').append(trace);
            }
            records.add(sb.toString());
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    private LogCapture() {
        handler.setLevel(Level.INFO);
        root.addHandler(handler);
    }

    /** Starts capturing. */
    public static LogCapture start() {
        return new LogCapture();
    }

    /** Every record so far. */
    public List<String> records() {
        return List.copyOf(records);
    }

    /** Fails naming the record when any record so far contains one of {@code secrets}. */
    public void assertNoneContain(List<String> secrets) {
        for (String r : records) {
            for (String secret : secrets) {
                if (r.contains(secret)) {
                    throw new AssertionError("a log record contains a secret: " + r);
                }
            }
        }
    }

    @Override
    public void close() {
        root.removeHandler(handler);
    }
}
