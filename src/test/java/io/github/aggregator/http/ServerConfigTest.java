package io.github.aggregator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.aggregator.testing.Ports;
import io.github.aggregator.testing.Service;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The {@code server} section is read by Helidon's own YAML config, so an option as Helidon documents it works, lists
 * included: here an extra named listener ({@code sockets}) next to the default one.
 */
class ServerConfigTest {
    @Test
    void helidonListOptionsWorkAsDocumented() throws Exception {
        int extra = Ports.free();
        try (Service svc = Service.start("""
                server:
                  port: 0
                  host: 127.0.0.1
                  sockets:
                    - name: extra
                      port: %d
                      host: 127.0.0.1
                aggregator:
                  sources: []
                """.formatted(extra))) {
            assertEquals(200, svc.get("/api/sources").statusCode());
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", extra), 5_000);
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                String status = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
                assertTrue(status.startsWith("HTTP/1.1 "), "the extra listener answers HTTP: " + status);
            }
        }
    }
}
