package io.github.aggregator.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real SSE client over the JDK HttpClient: reads the stream on a virtual thread and parses it into frames, which
 * tests take with a deadline.
 */
public final class SseClient implements AutoCloseable {

    /**
     * One parsed frame. A frame with only comments is a heartbeat; {@code retry} is set for the retry frame.
     */
    public record Frame(String event, String id, String data, List<String> comments, String retry) {
        public boolean isComment() {
            return event == null && data == null && retry == null;
        }

        /** The version a single-source event id names ({@code 7-967c7cb03b89} → 7); -1 without an id. */
        public long version() {
            if (id == null || id.isEmpty()) {
                return -1;
            }
            int dash = id.indexOf('-');
            return Long.parseLong(dash < 0 ? id : id.substring(0, dash));
        }
    }

    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private final HttpResponse<InputStream> response;
    private final Thread reader;
    private volatile boolean ended;

    private SseClient(HttpResponse<InputStream> response) {
        this.response = response;
        this.reader = Thread.ofVirtual().start(this::read);
    }

    /** Opens {@code uri} with optional header name/value pairs. */
    public static SseClient open(HttpClient client, URI uri, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().header("Accept", "text/event-stream");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            return new SseClient(client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public int status() {
        return response.statusCode();
    }

    public HttpHeaders headers() {
        return response.headers();
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String event = null;
            String id = null;
            String retry = null;
            StringBuilder data = null;
            List<String> comments = new ArrayList<>();
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty()) {
                    if (event != null || id != null || data != null || retry != null || !comments.isEmpty()) {
                        frames.add(new Frame(event, id, data == null ? null : data.toString(), comments, retry));
                    }
                    event = null;
                    id = null;
                    retry = null;
                    data = null;
                    comments = new ArrayList<>();
                } else if (line.startsWith(":")) {
                    comments.add(line.substring(1).trim());
                } else {
                    int colon = line.indexOf(':');
                    String field = colon < 0 ? line : line.substring(0, colon);
                    String value = colon < 0 ? "" : line.substring(colon + 1);
                    if (value.startsWith(" ")) {
                        value = value.substring(1);
                    }
                    switch (field) {
                        case "event" -> event = value;
                        case "id" -> id = value;
                        case "retry" -> retry = value;
                        case "data" ->
                            data = data == null
                                    ? new StringBuilder(value)
                                    : data.append('\n').append(value);
                        default -> {}
                    }
                }
            }
        } catch (IOException e) {
            // stream closed
        } finally {
            ended = true;
        }
    }

    /** The next frame within {@code timeout}, or null. */
    public Frame next(Duration timeout) throws InterruptedException {
        return frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The next frame that is not a comment-only frame, within {@code timeout}, or null. */
    public Frame nextEvent(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            Frame f = frames.poll(left, TimeUnit.NANOSECONDS);
            if (f == null || !f.isComment()) {
                return f;
            }
        }
    }

    /** True once the server ended the stream (and every frame was parsed). */
    public boolean ended() {
        return ended;
    }

    @Override
    public void close() {
        try {
            response.body().close();
        } catch (IOException e) {
            // already closed
        }
        reader.interrupt();
    }
}
