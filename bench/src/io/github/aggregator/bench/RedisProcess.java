package io.github.aggregator.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark's own {@code redis-server}: a free port on 127.0.0.1, no persistence ({@code --save ""},
 * {@code --appendonly no}), its files in the work folder. It never touches a Redis the machine already runs. Its pid is
 * appended to the file the calling script stops on exit.
 */
final class RedisProcess implements AutoCloseable {
    private final Process process;
    private final int port;

    private RedisProcess(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /**
     * Starts {@code binary} and waits until it answers PING; tries three ports in case one is taken meanwhile.
     *
     * @param pids file the pid is appended to
     */
    static RedisProcess start(String binary, Path dir, Path pids) throws IOException, InterruptedException {
        Path log = dir.resolve("redis.log");
        for (int attempt = 1; ; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Process p = new ProcessBuilder(List.of(
                            binary,
                            "--port",
                            Integer.toString(port),
                            "--bind",
                            "127.0.0.1",
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--dir",
                            dir.toAbsolutePath().toString()))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            Files.writeString(pids, p.pid() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            RedisProcess r = new RedisProcess(p, port);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (p.isAlive() && System.nanoTime() - deadline < 0) {
                try {
                    if (r.command("PING").equals("PONG")) {
                        return r;
                    }
                } catch (IOException e) {
                    // not listening yet
                }
                Thread.sleep(20);
            }
            r.close();
            if (attempt == 3) {
                throw new IOException("redis-server did not start: " + Files.readString(log).strip());
            }
        }
    }

    /** {@code redis://127.0.0.1:PORT}. */
    String url() {
        return "redis://127.0.0.1:" + port;
    }

    /**
     * Sends one command (inline form: words without spaces) and returns the answer: a simple string, an integer or a
     * bulk string's text.
     */
    String command(String... words) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write((String.join(" ", words) + "\r\n").getBytes(StandardCharsets.UTF_8));
            InputStream in = s.getInputStream();
            String first = line(in);
            if (first.startsWith("$")) {
                int n = Integer.parseInt(first.substring(1));
                return n < 0 ? "" : new String(in.readNBytes(n), StandardCharsets.UTF_8);
            }
            return first.isEmpty() ? "" : first.substring(1);
        }
    }

    /**
     * Times {@code PING} round trips on one open connection, one every {@code everyMillis}, on a daemon thread until
     * {@link Probe#stop}: a loopback round trip to another process is two wake-ups, so on an idle machine it takes
     * tens of microseconds and on a busy one it shows how long a woken thread waits for a core.
     */
    Probe probe(long everyMillis) throws IOException {
        return new Probe(port, everyMillis);
    }

    static final class Probe {
        private final Socket socket = new Socket();
        private final long[] rtt = new long[100_000];
        private final Thread thread;
        private volatile boolean stop;
        private int n;

        private Probe(int port, long everyMillis) throws IOException {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            socket.setSoTimeout(5000);
            byte[] ping = "PING\r\n".getBytes(StandardCharsets.US_ASCII);
            this.thread = new Thread(
                    () -> {
                        try {
                            InputStream in = socket.getInputStream();
                            while (!stop && n < rtt.length) {
                                long t = System.nanoTime();
                                socket.getOutputStream().write(ping);
                                line(in);
                                rtt[n++] = System.nanoTime() - t;
                                Thread.sleep(everyMillis);
                            }
                        } catch (IOException | InterruptedException e) {
                            // stopped
                        }
                    },
                    "redis-probe");
            thread.setDaemon(true);
            thread.start();
        }

        /** Stops probing; returns the round trips in nanoseconds. */
        long[] stop() throws InterruptedException {
            stop = true;
            thread.join(10_000);
            try {
                socket.close();
            } catch (IOException e) {
                // already gone
            }
            return Arrays.copyOf(rtt, n);
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                out.write(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
