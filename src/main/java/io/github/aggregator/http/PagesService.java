package io.github.aggregator.http;

import io.github.aggregator.source.Json;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaType;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The dashboard ({@code /}) and the embeddable widget ({@code /widget.js}): a fixed list of static files packaged in
 * the jar under {@code web/}, each read, compressed and hashed once, at its first request (not at start, which they
 * would slow down), and served from memory.
 *
 * <p>Only the names listed here are routed, so no request path ever reaches the class path or the file system; any
 * other name gets the usual 404 problem+json. Each file has a strong {@code ETag} (content hash) and {@code
 * Cache-Control: no-cache}, so browsers revalidate with a cheap {@code 304} and see a new version right after a deploy.
 * {@code /} answers with the JSON index instead of the page to clients that accept JSON but not HTML.
 */
public final class PagesService implements HttpService {
    private static final HeaderName CSP = HeaderNames.create("Content-Security-Policy");
    private static final HeaderName NOSNIFF = HeaderNames.create("X-Content-Type-Options");
    /** The dashboard loads only its own files and talks only to this service. */
    private static final String PAGE_POLICY =
            "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

    private static final Map<String, HttpMediaType> FILES = files();
    private static final byte[] INDEX = Json.bytes(Json.MAPPER
            .createObjectNode()
            .put("service", "aggregator")
            .put("dashboard", "/")
            .put("widget", "/widget.js")
            .put("sources", "/api/sources")
            .put("source", "/api/sources/{id}")
            .put("events", "/api/sources/{id}/events")
            .put("multiplexed", "/api/events?sources={id},{id}")
            .put("openapi", "/openapi.json"));

    /** {@code gzipped} is null for files too small to gain from it; it has its own ETag, as RFC 9110 asks. */
    private record Page(byte[] body, byte[] gzipped, HttpMediaType type, String etag, String gzippedEtag) {}

    private final Map<String, LazyPage> pages = new LinkedHashMap<>();

    /** One file, loaded at its first request. */
    private static final class LazyPage {
        private final String name;
        private final HttpMediaType type;
        private volatile Page page;

        LazyPage(String name, HttpMediaType type) {
            this.name = name;
            this.type = type;
        }

        Page get() {
            Page p = page;
            if (p == null) {
                synchronized (this) {
                    p = page;
                    if (p == null) {
                        p = load(name, type);
                        page = p;
                    }
                }
            }
            return p;
        }
    }

    /** Checks that every file is on the class path (a missing one is a packaging bug and fails startup). */
    public PagesService() {
        FILES.forEach((name, type) -> {
            if (PagesService.class.getClassLoader().getResource("web/" + name) == null) {
                throw new IllegalStateException("web/" + name + " is missing from the class path");
            }
            pages.put(name, new LazyPage(name, type));
        });
    }

    private static Map<String, HttpMediaType> files() {
        Map<String, HttpMediaType> m = new LinkedHashMap<>();
        m.put("index.html", HttpMediaType.create("text/html; charset=UTF-8"));
        m.put("app.css", HttpMediaType.create("text/css; charset=UTF-8"));
        m.put("app.js", HttpMediaType.create("text/javascript; charset=UTF-8"));
        m.put("widget.js", HttpMediaType.create("text/javascript; charset=UTF-8"));
        m.put("widget.d.ts", HttpMediaType.create("text/plain; charset=UTF-8"));
        m.put("openapi.json", HttpMediaType.create("application/json"));
        return m;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::root).head("/", this::root);
        for (String name : pages.keySet()) {
            LazyPage page = pages.get(name);
            rules.get("/" + name, (req, res) -> send(req, res, page.get()))
                    .head("/" + name, (req, res) -> send(req, res, page.get()));
        }
    }

    private void root(ServerRequest req, ServerResponse res) {
        if (wantsJson(req.headers().first(HeaderNames.ACCEPT).orElse(""))) {
            res.header(HeaderNames.VARY, "Accept");
            res.headers().contentType(MediaTypes.APPLICATION_JSON);
            if (req.prologue().method() == Method.HEAD) {
                res.send();
            } else {
                res.send(INDEX);
            }
            return;
        }
        res.header(HeaderNames.VARY, "Accept, Accept-Encoding");
        send(req, res, pages.get("index.html").get());
    }

    /** JSON for clients that ask for it and not for HTML; browsers (and {@code curl}'s {@code *}/{@code *}) get the page. */
    static boolean wantsJson(String accept) {
        String a = accept.toLowerCase(Locale.ROOT);
        return a.contains("application/json") && !a.contains("text/html");
    }

    private static void send(ServerRequest req, ServerResponse res, Page page) {
        boolean gzip = page.gzipped() != null
                && JsonBody.acceptsGzip(
                        req.headers().first(HeaderNames.ACCEPT_ENCODING).orElse(""));
        String etag = gzip ? page.gzippedEtag() : page.etag();
        res.header(HeaderNames.ETAG, etag);
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.header(NOSNIFF, "nosniff");
        if (page.type().subtype().equals("html")) {
            res.header(CSP, PAGE_POLICY);
        }
        if (!res.headers().contains(HeaderNames.VARY)) {
            res.header(HeaderNames.VARY, "Accept-Encoding");
        }
        if (req.headers()
                .first(HeaderNames.IF_NONE_MATCH)
                .map(inm -> Revalidation.matches(inm, etag))
                .orElse(false)) {
            res.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        res.headers().contentType(page.type());
        byte[] body = gzip ? page.gzipped() : page.body();
        if (gzip) {
            res.header(HeaderNames.CONTENT_ENCODING, "gzip");
        }
        if (req.prologue().method() == Method.HEAD) {
            res.header(HeaderNames.CONTENT_LENGTH, Integer.toString(body.length));
            res.send();
        } else {
            res.send(body);
        }
    }

    private static Page load(String name, HttpMediaType type) {
        String resource = "web/" + name;
        try (InputStream in = PagesService.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the class path");
            }
            byte[] body = in.readAllBytes();
            byte[] gzipped = body.length >= JsonBody.MIN_GZIP_SIZE ? JsonBody.gzip(body) : null;
            String hash = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(body))
                    .substring(0, 16);
            return new Page(body, gzipped, type, "\"" + hash + "\"", "\"" + hash + "-gz\"");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
