package io.github.aggregator.source;

/**
 * A config record refuses a value: names the field (dotted, as in the file, e.g. {@code access.jwt.leeway}) and says
 * why, so the config reader can point at the field's line without parsing the message. The message is {@code FIELD:
 * REASON}.
 */
public final class InvalidField extends IllegalArgumentException {
    private final String field;
    private final String reason;

    public InvalidField(String field, String reason) {
        super(field + ": " + reason, null);
        this.field = field;
        this.reason = reason;
    }

    /** The field, dotted from its section (e.g. {@code headers.Accept}, {@code cors.maxAge}). */
    public String field() {
        return field;
    }

    /** Why the value is refused, without the field name. */
    public String reason() {
        return reason;
    }
}
