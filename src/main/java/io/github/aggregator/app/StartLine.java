package io.github.aggregator.app;

import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.source.SourceConfig;
import io.helidon.webserver.WebServer;
import java.util.List;

/** The one line a start logs. */
final class StartLine {
    private StartLine() {}

    /**
     * Where the service listens, what it polls, where the dashboard is, e.g. {@code listening on
     * http://0.0.0.0:8080, polling 2 sources and combining 1 from config/application.yaml; dashboard at
     * http://localhost:8080/}.
     *
     * @param enabled the sources in force
     */
    static String of(ConfigFile config, WebServer server, List<SourceConfig> enabled) {
        String scheme = server.hasTls() ? "https" : "http";
        String host = config.server().getOrDefault("server.host", "0.0.0.0");
        boolean anyAddress = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
        String browse = anyAddress ? "localhost" : host;
        long combined = enabled.stream().filter(SourceConfig::combined).count();
        long onDemand = enabled.stream()
                .filter(s -> !s.combined() && s.poll() == SourceConfig.Poll.ON_DEMAND)
                .count();
        return "listening on " + scheme + "://" + bracketed(host) + ":" + server.port() + ", polling "
                + (enabled.size() - combined) + (enabled.size() - combined == 1 ? " source" : " sources")
                + (onDemand > 0 ? " (" + onDemand + " on demand)" : "")
                + (combined > 0 ? " and combining " + combined : "") + " from " + config.file()
                + (config.cluster() == null
                        ? ""
                        : ", clustered through " + config.cluster().where())
                + "; dashboard at " + scheme + "://" + bracketed(browse) + ":" + server.port() + "/";
    }

    private static String bracketed(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }
}
