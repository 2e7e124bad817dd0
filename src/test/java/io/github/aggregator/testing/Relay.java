package io.github.aggregator.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on a free loopback port in front of a server: it passes bytes both ways, keeps the head (request line
 * and headers) of every connection's first request, and can cut every open connection, as a network drop would, while
 * the server keeps running. Thread-safe.
 */
public final class Relay implements AutoCloseable {
    private final ServerSocket listener;
    private final int target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final List<String> heads = new CopyOnWriteArrayList<>();

    /** Relays to {@code 127.0.0.1:target}. */
    public Relay(int target) {
        this.target = target;
        try {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().start(this::accept);
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** The heads of the first request of every connection so far, in order. */
    public List<String> heads() {
        return List.copyOf(heads);
    }

    /** Cuts every open connection (both sides); new connections are relayed as before. */
    public void drop() {
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException e) {
                // closed already
            }
        }
        open.clear();
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), target));
                open.add(client);
                open.add(server);
                Thread.ofVirtual().start(() -> pipe(client, server, true));
                Thread.ofVirtual().start(() -> pipe(server, client, false));
            } catch (IOException e) {
                // listener closed, or the server is not there: the client sees its connection end
            }
        }
    }

    private void pipe(Socket from, Socket to, boolean request) {
        StringBuilder head = request ? new StringBuilder() : null;
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                if (head != null) {
                    head.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
                    int end = head.indexOf("\r\n\r\n");
                    if (end >= 0) {
                        heads.add(head.substring(0, end));
                        head = null;
                    }
                }
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // dropped
        } finally {
            try {
                from.close();
                to.close();
            } catch (IOException e) {
                // closed already
            }
        }
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException e) {
            // closed already
        }
        drop();
    }
}
