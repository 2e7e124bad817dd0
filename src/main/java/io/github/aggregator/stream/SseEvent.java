package io.github.aggregator.stream;

import java.nio.charset.StandardCharsets;

/**
 * One Server-Sent Events frame, already encoded. A frame with only a comment is a heartbeat or a closing note.
 *
 * @param name the {@code event:} field, or null
 * @param id the {@code id:} field, or null
 * @param data the {@code data:} payload (split on line breaks), or null
 * @param comment a {@code :} comment line, or null
 */
public record SseEvent(String name, String id, String data, String comment) {

    /** A heartbeat / note comment frame. */
    public static SseEvent comment(String text) {
        return new SseEvent(null, null, null, text);
    }

    /** The {@code retry:} frame that sets the client's reconnect delay. */
    public static byte[] retry(long millis) {
        return ("retry: " + millis + "\n\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** The frame as it goes on the wire, terminated by a blank line. */
    public byte[] encode() {
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
            for (String line : data.split("\r\n|\r|\n", -1)) {
                sb.append("data: ").append(line).append('\n');
            }
        }
        sb.append('\n');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String clean(String s) {
        return s.replace('\r', ' ').replace('\n', ' ');
    }
}
