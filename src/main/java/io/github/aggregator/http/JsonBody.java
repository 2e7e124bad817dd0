package io.github.aggregator.http;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
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

    private static final Header VARY_ACCEPT_ENCODING = HeaderValues.createCached(HeaderNames.VARY, "Accept-Encoding");
    private static final Header CONTENT_ENCODING_GZIP = HeaderValues.createCached(HeaderNames.CONTENT_ENCODING, "gzip");

    private JsonBody() {}

    static void send(ServerRequest req, ServerResponse res, byte[] body) {
        send(req, res, body, () -> gzip(body));
    }

    /** As {@link #send(ServerRequest, ServerResponse, byte[])}, with {@code gzipped} giving the body compressed. */
    static void send(ServerRequest req, ServerResponse res, byte[] body, Supplier<byte[]> gzipped) {
        res.headers().set(HeaderValues.CONTENT_TYPE_JSON);
        res.headers().add(VARY_ACCEPT_ENCODING); // added: CORS may have set Vary: Origin
        if (body.length >= MIN_GZIP_SIZE
                && acceptsGzip(req.headers().first(HeaderNames.ACCEPT_ENCODING).orElse(""))) {
            res.header(CONTENT_ENCODING_GZIP);
            res.send(gzipped.get());
        } else {
            res.send(body);
        }
    }

    /** True when an Accept-Encoding value allows gzip (by name or {@code *}) with a non-zero weight. */
    static boolean acceptsGzip(String acceptEncoding) {
        if (acceptEncoding.indexOf(';') < 0) {
            return namesGzip(acceptEncoding); // no weights: most clients, and no allocation
        }
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

    /** True when a list of codings without weights names gzip, x-gzip or {@code *}. */
    private static boolean namesGzip(String codings) {
        int n = codings.length();
        for (int start = 0; start < n; ) {
            int end = codings.indexOf(',', start);
            if (end < 0) {
                end = n;
            }
            int a = start, b = end;
            while (a < b && Character.isWhitespace(codings.charAt(a))) {
                a++;
            }
            while (b > a && Character.isWhitespace(codings.charAt(b - 1))) {
                b--;
            }
            int len = b - a;
            if ((len == 4 && codings.regionMatches(true, a, "gzip", 0, 4))
                    || (len == 6 && codings.regionMatches(true, a, "x-gzip", 0, 6))
                    || (len == 1 && codings.charAt(a) == '*')) {
                return true;
            }
            start = end + 1;
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
