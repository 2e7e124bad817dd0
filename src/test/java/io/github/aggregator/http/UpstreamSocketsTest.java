package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.aggregator.source.Json;
import io.github.aggregator.testing.Await;
import io.github.aggregator.testing.Service;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Upstreams over raw sockets: one that closes idle keep-alive connections (this process must not keep its ends open in
 * {@code CLOSE_WAIT}), and ones that answer with huge headers or with bytes that are not HTTP (the error says so in
 * words).
 */
class UpstreamSocketsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final byte[] OK = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n"
                    + "{\"v\":1}")
            .getBytes(StandardCharsets.US_ASCII);

    @Test
    void connectionsTheUpstreamClosedAreClosedHereToo() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/net/tcp")), "needs /proc");
        // answers as keep-alive, then closes a connection that stays idle for 100 ms
        try (RawUpstream up = new RawUpstream(request -> OK, Duration.ofMillis(100))) {
            StringBuilder yaml = new StringBuilder("aggregator:\n  sources:\n");
            for (int i = 0; i < 10; i++) {
                yaml.append("    - id: s")
                        .append(i)
                        .append("\n      url: http://127.0.0.1:")
                        .append(up.port())
                        .append("/s")
                        .append(i)
                        .append("\n      interval: 200ms\n");
            }
            try (Service svc = Service.start(yaml.toString())) {
                int before = up.requests.get();
                Await.isTrue(() -> up.requests.get() >= before + 150, WAIT, "150 fetches");
                int closeWait = closeWait(up.port());
                assertTrue(closeWait <= 3, closeWait + " sockets to the upstream left in CLOSE_WAIT after 150 fetches");
            }
        }
    }

    @Test
    void hugeHeadersAndNonHttpAnswersAreNamedInWords() throws Exception {
        byte[] huge = ("HTTP/1.1 200 OK\r\nX-Big: " + "h".repeat(256 * 1024) + "\r\nContent-Length: 2\r\n\r\n{}")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] garbage = "SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] binary =
                new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03, '\r', '\n'};
        try (RawUpstream big = new RawUpstream(r -> huge, Duration.ofSeconds(5));
                RawUpstream ssh = new RawUpstream(r -> garbage, Duration.ofSeconds(5));
                RawUpstream tls = new RawUpstream(r -> binary, Duration.ofSeconds(5));
                Service svc = Service.start(
                        "aggregator:\n  sources:\n" + source("big", big) + source("ssh", ssh) + source("tls", tls))) {
            assertEquals("response headers too large", lastError(svc, "big"));
            assertEquals("not an HTTP response", lastError(svc, "ssh"));
            assertEquals("not an HTTP response", lastError(svc, "tls"));
        }
    }

    private static String source(String id, RawUpstream up) {
        return "    - id: " + id + "\n      url: http://127.0.0.1:" + up.port() + "/" + id
                + "\n      interval: 1h\n      timeout: 5s\n";
    }

    private static String lastError(Service svc, String id) throws Exception {
        JsonNode[] entry = new JsonNode[1];
        Await.isTrue(
                () -> {
                    for (JsonNode s :
                            Json.MAPPER.readTree(svc.get("/api/sources").body()).get("sources")) {
                        if (s.get("id").asText().equals(id) && s.hasNonNull("lastError")) {
                            entry[0] = s;
                            return true;
                        }
                    }
                    return false;
                },
                WAIT,
                id + " has failed");
        return entry[0].get("lastError").asText();
    }

    /**
     * This process's TCP sockets to {@code port} in {@code CLOSE_WAIT}: the sockets of /proc/self/net/tcp(6) in state
     * 08 whose inode is one of this process's open file descriptors.
     */
    static int closeWait(int port) throws IOException {
        Set<String> inodes = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException e) {
                    // closed while listing
                }
            }
        }
        String remote = String.format(":%04X", port);
        int n = 0;
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            Path p = Path.of(table);
            if (!Files.isReadable(p)) {
                continue;
            }
            List<String> lines = Files.readAllLines(p);
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                // f[2] remote address:port, f[3] state, f[9] inode
                if (f[2].endsWith(remote) && f[3].equals("08") && inodes.contains(f[9])) {
                    n++;
                }
            }
        }
        return n;
    }

    /** A loopback HTTP/1.1 upstream on a raw server socket; closes a connection idle for {@code idle}. */
    private static final class RawUpstream implements AutoCloseable {
        private final ServerSocket server;
        private final AtomicInteger requests = new AtomicInteger();

        RawUpstream(Function<String, byte[]> answer, Duration idle) throws IOException {
            server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> serve(s, answer, idle));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        private void serve(Socket s, Function<String, byte[]> answer, Duration idle) {
            try (s) {
                s.setSoTimeout((int) idle.toMillis());
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                while (true) {
                    String head = readHead(in);
                    if (head == null) {
                        return;
                    }
                    requests.incrementAndGet();
                    out.write(answer.apply(head));
                    out.flush();
                    if (head.toLowerCase().contains("connection: close")) {
                        return;
                    }
                }
            } catch (IOException e) {
                // idle: closed, as upstreams do
            }
        }

        private static String readHead(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int tail = 0;
            try {
                while (true) {
                    int b = in.read();
                    if (b < 0) {
                        return null;
                    }
                    head.write(b);
                    tail = (tail << 8) | b;
                    if (tail == 0x0d0a0d0a) {
                        return head.toString(StandardCharsets.ISO_8859_1);
                    }
                }
            } catch (SocketTimeoutException e) {
                return null;
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
