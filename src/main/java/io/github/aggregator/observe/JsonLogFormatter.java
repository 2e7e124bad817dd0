package io.github.aggregator.observe;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * Formats each log record as one JSON object on one line, for log collectors: {@code {"time":"2026-12-01T20:47:20.768Z",
 * "level":"INFO","logger":"io.github.aggregator.app.Aggregator","thread":"main","message":"..."}}, plus {@code
 * "exception"} (the stack trace as one string) when the record has one. Line breaks and other control characters in a
 * message or a stack trace are escaped, so a record is always exactly one line. It writes what the text format writes
 * (the formatted message and the exception), nothing more: no environment, no context maps. Thread-safe.
 *
 * <p>Turned on with env {@code AGGREGATOR_LOG_FORMAT=json}, or named as a handler's formatter in a {@code
 * logging.properties} ({@code io.helidon.logging.jul.HelidonConsoleHandler.formatter=...JsonLogFormatter}).
 */
public final class JsonLogFormatter extends Formatter {
    @Override
    public String format(LogRecord record) {
        StringBuilder out = new StringBuilder(256);
        out.append("{\"time\":");
        string(out, record.getInstant().toString());
        out.append(",\"level\":");
        string(out, record.getLevel().getName());
        out.append(",\"logger\":");
        string(out, record.getLoggerName() == null ? "" : record.getLoggerName());
        // the record is formatted on the thread that logged it (console handlers publish synchronously)
        String thread = Thread.currentThread().getName();
        if (!thread.isEmpty()) {
            out.append(",\"thread\":");
            string(out, thread);
        }
        out.append(",\"message\":");
        string(out, formatMessage(record));
        if (record.getThrown() != null) {
            StringWriter trace = new StringWriter();
            try (PrintWriter w = new PrintWriter(trace)) {
                record.getThrown().printStackTrace(w);
            }
            out.append(",\"exception\":");
            string(out, trace.toString().stripTrailing());
        }
        return out.append("}\n").toString();
    }

    /** Appends {@code s} as a JSON string: quotes, backslashes and every control character escaped. */
    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
