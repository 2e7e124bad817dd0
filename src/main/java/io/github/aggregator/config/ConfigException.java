package io.github.aggregator.config;

/**
 * A configuration file that cannot be used. The message is one line: {@code FILE[:LINE]: [source "ID" ]field "NAME":
 * REASON}, or {@code FILE[:LINE]: REASON} for a problem of the file as a whole; the parts are also kept, typed, for
 * callers that want them. Header values, keys and tokens are never part of it.
 */
public final class ConfigException extends RuntimeException {
    private final String file;
    private final int line;
    private final String source;
    private final String field;
    private final String reason;

    /** A problem of field {@code field} (of source {@code source}, null outside one) at {@code line} (0: unknown). */
    public ConfigException(String file, int line, String source, String field, String reason) {
        super(message(file, line, source, field, reason), null, false, false);
        this.file = file;
        this.line = line;
        this.source = source;
        this.field = field;
        this.reason = reason;
    }

    /** A problem of the file as a whole (unreadable, not YAML, a section missing). */
    public ConfigException(String file, int line, String reason) {
        this(file, line, null, null, reason);
    }

    /** The file, as named to the reader. */
    public String file() {
        return file;
    }

    /** The 1-based line of the problem; 0 when it has none (e.g. a value from the environment). */
    public int line() {
        return line;
    }

    /** The id of the source the field belongs to; null outside a source. */
    public String source() {
        return source;
    }

    /** The dotted field name; null for a problem of the file as a whole. */
    public String field() {
        return field;
    }

    /** What is wrong, without file, line and field. */
    public String reason() {
        return reason;
    }

    private static String message(String file, int line, String source, String field, String reason) {
        StringBuilder sb = new StringBuilder(file);
        if (line > 0) {
            sb.append(':').append(line);
        }
        sb.append(": ");
        if (source != null) {
            sb.append("source \"").append(source).append("\" ");
        }
        if (field != null) {
            sb.append("field \"").append(field).append("\": ");
        }
        return sb.append(reason).toString();
    }
}
