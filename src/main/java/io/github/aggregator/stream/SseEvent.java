package io.github.aggregator.stream;

import java.nio.charset.StandardCharsets;

/**
 * One Server-Sent Events frame. A frame with only a comment is a heartbeat or a closing note. Immutable; the wire form
 * is computed once, so one frame shared by many subscribers is encoded once. Thread-safe.
 */
public final class SseEvent {
    private final String name;
    private final String id;
    private final String data;
    private final String comment;
    private volatile byte[] encoded;
    private volatile byte[] chunked;

    /**
     * @param name the {@code event:} field, or null
     * @param id the {@code id:} field, or null
     * @param data the {@code data:} payload (split on line breaks), or null
     * @param comment a {@code :} comment line, or null
     */
    public SseEvent(String name, String id, String data, String comment) {
        this.name = name;
        this.id = id;
        this.data = data;
        this.comment = comment;
    }

    /** A heartbeat / note comment frame. */
    public static SseEvent comment(String text) {
        return new SseEvent(null, null, null, text);
    }

    /** The {@code retry:} frame that sets the client's reconnect delay. */
    public static SseEvent retryFrame(long millis) {
        SseEvent e = new SseEvent(null, null, null, null);
        e.encoded = ("retry: " + millis + "\n\n").getBytes(StandardCharsets.US_ASCII);
        return e;
    }

    public String name() {
        return name;
    }

    public String id() {
        return id;
    }

    public String data() {
        return data;
    }

    public String comment() {
        return comment;
    }

    /** The frame as it goes on the wire, terminated by a blank line. Do not modify the array. */
    public byte[] encode() {
        byte[] e = encoded;
        if (e == null) {
            e = wire().getBytes(StandardCharsets.UTF_8);
            encoded = e;
        }
        return e;
    }

    /**
     * The frame as one HTTP/1.1 chunk ({@code SIZE CRLF frame CRLF}, RFC 9112 7.1), computed once like {@link
     * #encode}: what a fan-out worker writes to a chunked response's connection as it is. Do not modify the array.
     */
    public byte[] chunk() {
        byte[] c = chunked;
        if (c == null) {
            byte[] e = encode();
            byte[] size = Integer.toHexString(e.length).getBytes(StandardCharsets.US_ASCII);
            c = new byte[size.length + 2 + e.length + 2];
            System.arraycopy(size, 0, c, 0, size.length);
            c[size.length] = '\r';
            c[size.length + 1] = '\n';
            System.arraycopy(e, 0, c, size.length + 2, e.length);
            c[c.length - 2] = '\r';
            c[c.length - 1] = '\n';
            chunked = c;
        }
        return c;
    }

    private String wire() {
        StringBuilder sb = new StringBuilder();
        if (comment != null) {
            sb.append(": ").append(clean(comment)).append('\n');
        }
        if (name != null) {
            sb.append("event: ").append(clean(name)).append('\n');
        }
        if (id != null) {
            sb.append("id: ").append(clean(id)).append('\n');
        }
        if (data != null) {
            // one data: line per line of the payload (CRLF, CR or LF), split by hand: this runs once per event
            sb.append("data: ");
            for (int i = 0; i < data.length(); i++) {
                char c = data.charAt(i);
                if (c == '\r' || c == '\n') {
                    if (c == '\r' && i + 1 < data.length() && data.charAt(i + 1) == '\n') {
                        i++;
                    }
                    sb.append("\ndata: ");
                } else {
                    sb.append(c);
                }
            }
            sb.append('\n');
        }
        sb.append('\n');
        return sb.toString();
    }

    private static String clean(String s) {
        return s.replace('\r', ' ').replace('\n', ' ');
    }

    @Override
    public String toString() {
        return wire();
    }
}
