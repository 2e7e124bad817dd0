package io.github.aggregator.app;

import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.source.AggregatorConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The settings a running service reads only at start: a reload that changes them says they need a restart. */
final class StartOnlySettings {
    private StartOnlySettings() {}

    /** The names of the start-only settings that differ between {@code a} and {@code b}, in a fixed order. */
    static List<String> changed(ConfigFile a, ConfigFile b) {
        List<String> out = new ArrayList<>();
        if (!a.server().equals(b.server())) {
            out.add("server");
        }
        if (!Objects.equals(a.adminToken(), b.adminToken())) {
            out.add("admin");
        }
        if (!Objects.equals(a.cluster(), b.cluster())) {
            out.add("cluster");
        }
        if (!Objects.equals(a.access(), b.access())) {
            out.add("access");
        }
        if (!Objects.equals(a.cors(), b.cors())) {
            out.add("cors");
        }
        AggregatorConfig x = a.aggregator();
        AggregatorConfig y = b.aggregator();
        if (x.historySize() != y.historySize()) {
            out.add("historySize");
        }
        if (!x.historyMaxAge().equals(y.historyMaxAge())) {
            out.add("historyMaxAge");
        }
        if (!Objects.equals(x.dataDir(), y.dataDir())) {
            out.add("dataDir");
        }
        if (!x.storeRetry().equals(y.storeRetry())) {
            out.add("storeRetry");
        }
        if (x.subscriberQueue() != y.subscriberQueue()) {
            out.add("subscriberQueue");
        }
        if (x.maxSubscribers() != y.maxSubscribers() || x.maxSubscribersPerClient() != y.maxSubscribersPerClient()) {
            out.add("maxSubscribers");
        }
        return out;
    }
}
