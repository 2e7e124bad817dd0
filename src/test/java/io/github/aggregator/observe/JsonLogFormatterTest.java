package io.github.aggregator.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;
import org.junit.jupiter.api.Test;

/**
 * Records logged through a real JUL logger and handler with {@link JsonLogFormatter}: one JSON object per line, whatever
 * the message or exception holds.
 */
class JsonLogFormatterTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void aRecordIsOneObjectWithTimeLevelLoggerThreadAndMessage() throws IOException {
        List<String> lines = log(logger ->
                logger.log(Level.INFO, "source {0}: recovered at version {1}", new Object[] {"demo-clock", 7}));
        assertEquals(1, lines.size(), lines.toString());
        JsonNode r = MAPPER.readTree(lines.get(0));
        assertEquals("INFO", r.get("level").asText());
        assertEquals("test.json", r.get("logger").asText());
        assertEquals(
                "source demo-clock: recovered at version 7", r.get("message").asText());
        assertEquals(Thread.currentThread().getName(), r.get("thread").asText());
        assertTrue(
                r.get("time").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z"), r.toString());
        assertFalse(r.has("exception"), r.toString());
    }

    @Test
    void multiLineMessagesAndExceptionsStayOnOneLine() throws IOException {
        String message = "first line\nsecond \"quoted\" line\r\n\ttabbed \\ backslash \u0001 control \u2028 separator";
        IllegalStateException e = new IllegalStateException("outer\nmessage", new java.io.IOException("inner cause"));
        List<String> lines = log(logger -> logger.log(Level.SEVERE, message, e));
        assertEquals(1, lines.size(), "one line: " + lines);
        assertFalse(lines.get(0).contains("\u2028"), "no raw line separator: " + lines.get(0));
        JsonNode r = MAPPER.readTree(lines.get(0));
        assertEquals("SEVERE", r.get("level").asText());
        assertEquals(message, r.get("message").asText(), "the message survives escaping exactly");
        String trace = r.get("exception").asText();
        assertTrue(trace.startsWith("java.lang.IllegalStateException: outer\nmessage\n\tat "), trace);
        assertTrue(trace.contains("Caused by: java.io.IOException: inner cause"), trace);
        assertTrue(trace.contains(JsonLogFormatterTest.class.getName()), trace);
    }

    @Test
    void aRecordWithoutLoggerNameOrThreadNameIsStillValid() throws Exception {
        JsonLogFormatter formatter = new JsonLogFormatter();
        LogRecord record = new LogRecord(Level.WARNING, "plain");
        String[] out = new String[1];
        Thread t = Thread.ofVirtual().unstarted(() -> out[0] = formatter.format(record)); // virtual: no name
        t.start();
        t.join();
        assertTrue(out[0].endsWith("}\n") && out[0].indexOf('\n') == out[0].length() - 1, out[0]);
        JsonNode r = MAPPER.readTree(out[0]);
        assertEquals("", r.get("logger").asText());
        assertFalse(r.has("thread"), r.toString());
        assertEquals("plain", r.get("message").asText());
    }

    /** What {@code logging} writes through a logger whose only handler uses the formatter, line by line. */
    private static List<String> log(java.util.function.Consumer<Logger> logging) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StreamHandler handler = new StreamHandler(bytes, new JsonLogFormatter());
        Logger logger = Logger.getLogger("test.json");
        logger.setUseParentHandlers(false);
        logger.addHandler(handler);
        try {
            logging.accept(logger);
            handler.flush();
        } finally {
            logger.removeHandler(handler);
            logger.setUseParentHandlers(true);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        if (!text.endsWith("\n")) {
            throw new UncheckedIOException(new IOException("no line end: " + text));
        }
        return text.lines().toList();
    }
}
