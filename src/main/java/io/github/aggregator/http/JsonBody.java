package io.github.aggregator.http;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.zip.GZIPOutputStream;

/** Sends JSON bodies, gzip-compressed when the client accepts it and the body is big enough to gain from it. */
final class JsonBody {
    /** Below this size gzip's header and CPU cost outweigh the saving. */
    static final int MIN_GZIP_SIZE = 1024;

    private JsonBody() {}

    static void send(ServerRequest req, ServerResponse res, byte[] body) {
        send(req, res, body, () -> gzip(body));
    }

    /** As {@link #send(ServerRequest, ServerResponse, byte[])}, with {@code gzipped} giving the body compressed. */
    static void send(ServerRequest req, ServerResponse res, byte[] body, Supplier<byte[]> gzipped) {
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        res.headers().add(HeaderNames.VARY, "Accept-Encoding"); // added: CORS may have set Vary: Origin
        if (body.length >= MIN_GZIP_SIZE
                && acceptsGzip(req.headers().first(HeaderNames.ACCEPT_ENCODING).orElse(""))) {
            res.header(HeaderNames.CONTENT_ENCODING, "gzip");
            res.send(gzipped.get());
        } else {
            res.send(body);
        }
    }

    /** True when an Accept-Encoding value allows gzip (by name or {@code *}) with a non-zero weight. */
    static boolean acceptsGzip(String acceptEncoding) {
        for (String part : acceptEncoding.toLowerCase(Locale.ROOT).split(",")) {
            String[] fields = part.trim().split(";");
            String coding = fields[0].trim();
            if (!coding.equals("gzip") && !coding.equals("x-gzip") && !coding.equals("*")) {
                continue;
            }
            boolean zero = false;
            for (int i = 1; i < fields.length; i++) {
                String f = fields[i].trim();
                if (f.startsWith("q=")) {
                    zero = f.substring(2).trim().matches("0(\\.0{0,3})?");
                }
            }
            if (!zero) {
                return true;
            }
        }
        return false;
    }

    static byte[] gzip(byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length / 4 + 64);
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
