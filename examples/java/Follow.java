import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/**
 * Follows a stream of the aggregator with the JDK's HttpClient and prints every event. After a drop it waits the
 * server's retry: delay and reconnects with Last-Event-ID, so the server resumes where it left off.
 * Run: java Follow.java http://localhost:8080/api/sources/demo-ticker/events
 */
public class Follow {
    public static void main(String[] args) throws InterruptedException {
        URI uri = URI.create(args.length > 0 ? args[0] : "http://localhost:8080/api/sources/demo-ticker/events");
        HttpClient client = HttpClient.newHttpClient();
        String lastId = null;
        long retry = 3000;
        while (true) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
            if (lastId != null) {
                request.header("Last-Event-ID", lastId);
            }
            try {
                HttpResponse<InputStream> response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
                if (response.statusCode() != 200) {
                    System.err.println("refused: HTTP " + response.statusCode());
                    if (response.statusCode() < 500) {
                        return; // 4xx: the same request gets the same answer
                    }
                } else {
                    System.err.println("connected");
                    try (BufferedReader in = new BufferedReader(
                            new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                        String event = "message";
                        StringBuilder data = new StringBuilder();
                        for (String line; (line = in.readLine()) != null; ) {
                            if (line.isEmpty()) { // a blank line ends a frame
                                if (!data.isEmpty()) {
                                    System.out.println(event + " id=" + lastId + " " + data);
                                }
                                event = "message";
                                data.setLength(0);
                                continue;
                            }
                            int colon = line.indexOf(':');
                            String field = colon < 0 ? line : line.substring(0, colon);
                            String value = colon < 0 ? "" : line.substring(colon + 1);
                            value = value.startsWith(" ") ? value.substring(1) : value;
                            switch (field) {
                                case "event" -> event = value;
                                case "data" -> data.append(data.isEmpty() ? "" : "\n").append(value);
                                case "id" -> lastId = value;
                                case "retry" -> retry = Long.parseLong(value);
                                default -> {} // "" is a comment (": keep-alive")
                            }
                        }
                    }
                }
            } catch (IOException e) {
                // the connection dropped or could not be made: try again below
            }
            System.err.println("connection lost; reconnecting in " + retry + " ms with Last-Event-ID: " + lastId);
            Thread.sleep(retry);
        }
    }
}
