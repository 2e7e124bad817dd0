package io.github.aggregator.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.aggregator.observe.StartupTrace;
import io.github.aggregator.source.Json;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;

/**
 * Built-in demo upstreams, so the shipped config shows live data with no network and no API key. They are polled
 * over HTTP like any other upstream.
 *
 * <ul>
 *   <li>{@code /demo/ticker}: a made-up price that takes one random step every 2 seconds (the same for every caller)
 *   <li>{@code /demo/ticker/{symbol}}: the same for one symbol (letters, at most 8), each with its own walk
 *   <li>{@code /demo/clock}: the UTC wall-clock time to the second
 * </ul>
 */
public final class DemoService implements HttpService {
    private static final long STEP_SECONDS = 2;
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);
    private final Clock clock;

    public DemoService(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/ticker", (req, res) -> ticker(res, "DEMO"))
                .get("/ticker/{symbol}", this::symbol)
                .get("/clock", this::clock);
    }

    private void symbol(ServerRequest req, ServerResponse res) {
        String symbol = req.path().pathParameters().get("symbol");
        if (!symbol.matches("[A-Za-z]{1,8}")) {
            res.status(Status.NOT_FOUND_404).send();
            return;
        }
        ticker(res, symbol.toUpperCase(java.util.Locale.ROOT));
    }

    private void ticker(ServerResponse res, String symbol) {
        long step = clock.instant().getEpochSecond() / STEP_SECONDS;
        // the price is a pure function of the symbol and the step, so every instance and every caller agrees on it
        double price = 100.0;
        long seed = symbol.equals("DEMO") ? 0 : symbol.hashCode();
        SplittableRandom walk = new SplittableRandom(step / 1000 + seed);
        for (long i = (step / 1000) * 1000; i <= step; i++) {
            price = Math.max(1.0, price + (walk.nextDouble() - 0.5) * 2.0);
        }
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("symbol", symbol);
        n.put("currency", "USD");
        n.put("price", BigDecimal.valueOf(price).setScale(2, RoundingMode.HALF_UP));
        n.put("tick", step);
        send(res, n);
    }

    private void clock(ServerRequest req, ServerResponse res) {
        Instant now = clock.instant();
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("utc", TIME.format(now));
        n.put("epochSecond", now.getEpochSecond());
        send(res, n);
    }

    private static void send(ServerResponse res, ObjectNode body) {
        StartupTrace.mark("demo upstream answers");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        res.send(Json.bytes(body));
    }
}
