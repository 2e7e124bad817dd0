package io.github.aggregator.source;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Service-wide settings and the list of sources. Immutable.
 *
 * @param sources every configured source, enabled or not, in file order
 * @param historySize versions kept per source for SSE resume (default 64)
 * @param coldWait how long a request waits for a source's first fetch before 503 (default 5s)
 * @param heartbeat interval of the SSE {@code : keep-alive} comment (default 15s)
 * @param retry reconnect delay sent to SSE clients in the {@code retry:} line (default 3s)
 * @param subscriberQueue events buffered per SSE subscriber before they collapse into one snapshot (default 64)
 * @param userAgent the User-Agent sent upstream unless a source sets its own header
 * @param retrySpread random extra added to {@code retry} per client, so reconnects spread out (default 2s)
 * @param maxSubscribers open SSE connections allowed in total (default 20000)
 * @param maxSubscribersPerClient open SSE connections allowed per client address (default 100)
 * @param maxSourcesPerStream sources one multiplexed stream may list (default 50)
 * @param clientAddressHeader header naming the client's address when behind a reverse proxy (e.g. {@code
 *     X-Forwarded-For}, whose last entry is used), or null to use the connection's remote address (default)
 * @param writeTimeout how long one write to an SSE client may block before the client is dropped (default 30s)
 * @param historyMaxAge versions older than this (by {@code changedAt}) leave the history (default 24h); the latest
 *     version always stays
 * @param dataDir the durable store's directory (default {@code data}, relative to the working directory), or null to
 *     keep everything in memory only; not used in the cluster mode, where Redis holds the shared state
 * @param storeRetry how often a durable store that cannot be opened or written is tried again (default 30s)
 * @param templates the enabled parametrised sources (those with {@code params}), in file order
 * @param budgets the shared request budgets ({@code budgets}) that sources name in their {@code budget}; none by
 *     default
 */
public record AggregatorConfig(
        List<SourceConfig> sources,
        int historySize,
        Duration coldWait,
        Duration heartbeat,
        Duration retry,
        int subscriberQueue,
        String userAgent,
        Duration retrySpread,
        int maxSubscribers,
        int maxSubscribersPerClient,
        int maxSourcesPerStream,
        String clientAddressHeader,
        Duration writeTimeout,
        Duration historyMaxAge,
        java.nio.file.Path dataDir,
        Duration storeRetry,
        List<SourceTemplate> templates,
        List<BudgetConfig> budgets) {

    public static final int DEFAULT_HISTORY_SIZE = 64;
    public static final Duration DEFAULT_COLD_WAIT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(15);
    public static final Duration DEFAULT_RETRY = Duration.ofSeconds(3);
    public static final int DEFAULT_SUBSCRIBER_QUEUE = 64;
    public static final Duration DEFAULT_RETRY_SPREAD = Duration.ofSeconds(2);
    public static final int DEFAULT_MAX_SUBSCRIBERS = 20_000;
    public static final int DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT = 100;
    public static final int DEFAULT_MAX_SOURCES_PER_STREAM = 50;
    public static final Duration DEFAULT_WRITE_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_HISTORY_MAX_AGE = Duration.ofHours(24);
    public static final java.nio.file.Path DEFAULT_DATA_DIR = java.nio.file.Path.of("data");
    public static final Duration DEFAULT_STORE_RETRY = Duration.ofSeconds(30);
    public static final String DEFAULT_USER_AGENT =
            "aggregator/0.1 (+https://github.com/aggregator/aggregator; polls once per interval for many clients)";

    public AggregatorConfig {
        sources = List.copyOf(sources);
        templates = List.copyOf(templates == null ? List.of() : templates);
        budgets = List.copyOf(budgets == null ? List.of() : budgets);
        Set<String> budgetIds = new HashSet<>();
        for (BudgetConfig b : budgets) {
            if (!budgetIds.add(b.id())) {
                throw new InvalidField("budgets", "duplicate id \"" + b.id() + "\"");
            }
        }
        Set<String> ids = new HashSet<>();
        for (SourceConfig s : sources) {
            if (!ids.add(s.id())) {
                throw new InvalidField("sources", "duplicate id \"" + s.id() + "\"");
            }
        }
        for (SourceTemplate t : templates) {
            if (!ids.add(t.id())) {
                throw new InvalidField("sources", "duplicate id \"" + t.id() + "\"");
            }
        }
        if (historySize < 1 || historySize > 10_000) {
            throw new InvalidField("historySize", "must be between 1 and 10000");
        }
        if (coldWait.isNegative()) {
            throw new InvalidField("coldWait", "must not be negative");
        }
        if (heartbeat.compareTo(Duration.ofMillis(100)) < 0) {
            throw new InvalidField("heartbeat", "must be at least 100ms");
        }
        if (retry.isNegative() || retry.isZero()) {
            throw new InvalidField("retry", "must be positive");
        }
        if (subscriberQueue < 1 || subscriberQueue > 100_000) {
            throw new InvalidField("subscriberQueue", "must be between 1 and 100000");
        }
        if (userAgent == null || userAgent.isBlank() || userAgent.indexOf('\r') >= 0 || userAgent.indexOf('\n') >= 0) {
            throw new InvalidField("userAgent", "must be one non-empty line");
        }
        if (retrySpread.isNegative()) {
            throw new InvalidField("retrySpread", "must not be negative");
        }
        if (maxSubscribers < 1) {
            throw new InvalidField("maxSubscribers", "must be at least 1");
        }
        if (maxSubscribersPerClient < 1) {
            throw new InvalidField("maxSubscribersPerClient", "must be at least 1");
        }
        if (maxSourcesPerStream < 1) {
            throw new InvalidField("maxSourcesPerStream", "must be at least 1");
        }
        if (clientAddressHeader != null && !clientAddressHeader.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]*")) {
            throw new InvalidField("clientAddressHeader", "is not a header name");
        }
        if (clientAddressHeader != null && clientAddressHeader.isEmpty()) {
            clientAddressHeader = null;
        }
        if (writeTimeout.compareTo(Duration.ofMillis(100)) < 0) {
            throw new InvalidField("writeTimeout", "must be at least 100ms");
        }
        if (historyMaxAge.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new InvalidField("historyMaxAge", "must be at least 1s");
        }
        if (storeRetry.compareTo(Duration.ofMillis(100)) < 0) {
            throw new InvalidField("storeRetry", "must be at least 100ms");
        }
    }

    /** Settings with every default and the given sources. */
    public static AggregatorConfig of(List<SourceConfig> sources) {
        return new AggregatorConfig(
                sources,
                DEFAULT_HISTORY_SIZE,
                DEFAULT_COLD_WAIT,
                DEFAULT_HEARTBEAT,
                DEFAULT_RETRY,
                DEFAULT_SUBSCRIBER_QUEUE,
                DEFAULT_USER_AGENT,
                DEFAULT_RETRY_SPREAD,
                DEFAULT_MAX_SUBSCRIBERS,
                DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT,
                DEFAULT_MAX_SOURCES_PER_STREAM,
                null,
                DEFAULT_WRITE_TIMEOUT,
                DEFAULT_HISTORY_MAX_AGE,
                null,
                DEFAULT_STORE_RETRY,
                List.of(),
                List.of());
    }

    /** This config with {@code next} as its templates. */
    public AggregatorConfig withTemplates(List<SourceTemplate> next) {
        return new AggregatorConfig(
                sources,
                historySize,
                coldWait,
                heartbeat,
                retry,
                subscriberQueue,
                userAgent,
                retrySpread,
                maxSubscribers,
                maxSubscribersPerClient,
                maxSourcesPerStream,
                clientAddressHeader,
                writeTimeout,
                historyMaxAge,
                dataDir,
                storeRetry,
                next,
                budgets);
    }

    /** The budget named {@code id}, or null. */
    public BudgetConfig budget(String id) {
        return budgets.stream().filter(b -> b.id().equals(id)).findFirst().orElse(null);
    }

    /** The enabled sources, in file order. */
    public List<SourceConfig> enabledSources() {
        return sources.stream().filter(SourceConfig::enabled).toList();
    }
}
