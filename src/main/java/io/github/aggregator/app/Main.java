package io.github.aggregator.app;

import io.github.aggregator.config.ConfigException;
import io.github.aggregator.config.ConfigFile;
import io.github.aggregator.observe.JsonLogFormatter;
import io.github.aggregator.observe.StartupTrace;
import io.helidon.logging.common.LogConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import sun.misc.Signal;

/**
 * Command line: {@code java -jar aggregator.jar [check-config [--fetch [--source ID [--param NAME=VALUE]...]] | refresh
 * [--source ID [--param NAME=VALUE]...]] [--config PATH]} (see {@link
 * #USAGE}). The config file is {@code --config}, else env {@code AGGREGATOR_CONFIG}, else {@code
 * config/application.yaml}. Exit codes: 2 for a bad command line or config, 1 when the server cannot start or a
 * refresh failed.
 */
public final class Main {
    static final String DEFAULT_CONFIG = "config/application.yaml";
    /** The command modes besides serving (the first argument). */
    static final List<String> COMMANDS = List.of("check-config", "refresh");
    /** The environment variable that picks the log format: {@code text} (the default) or {@code json}. */
    static final String LOG_FORMAT = "AGGREGATOR_LOG_FORMAT";

    static final String USAGE = """
            usage: java -jar aggregator.jar [--config PATH]                 serve (the default)
                   java -jar aggregator.jar check-config [--config PATH]    validate the config file and exit
                   java -jar aggregator.jar check-config --fetch [--source ID [--param NAME=VALUE]...] [--config PATH]
                                                    also fetch each source once and print what it would serve
                   java -jar aggregator.jar refresh [--source ID [--param NAME=VALUE]...] [--config PATH]
                                                    fetch once, publish (to Redis when clustered), print, exit 0/1
            A parametrised source is named --source weather --param city=NYC (or --source "weather(city=NYC)").
            The config file is --config, else env AGGREGATOR_CONFIG, else config/application.yaml.
            Env: PORT overrides server.port; AGGREGATOR_ADMIN_TOKEN sets admin.token; REDIS_URL turns on the cluster;
                 AGGREGATOR_LOG_FORMAT=json logs one JSON object per line.""";

    private Main() {}

    public static void main(String[] args) {
        StartupTrace.mark("main");
        Started started = start(args, System.getenv(), System.err);
        if (started.app() == null) {
            System.exit(started.exitCode());
        }
        Aggregator app = started.app();
        Runtime.getRuntime().addShutdownHook(new Thread(app::close, "shutdown"));
        exitZeroOnSigterm();
    }

    /**
     * SIGTERM is how platforms (Kubernetes, Cloud Run, Knative, systemd) stop a service: after the graceful close (the
     * shutdown hook) the process exits with 0 rather than the JVM's 143, so a normal stop is not reported as a failure.
     * sun.misc.Signal is the only JDK API for this; where it is unavailable the JVM's default (143) stays.
     */
    private static void exitZeroOnSigterm() {
        try {
            Signal.handle(new Signal("TERM"), signal -> System.exit(0));
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // signal handling reserved (e.g. -Xrs): keep the default
        }
    }

    /** The outcome of {@link #start}: a running service, or an exit code after one line on stderr. */
    record Started(Aggregator app, int exitCode) {}

    /** Parses {@code args}, loads the config and starts the service; problems are one line on {@code err}. */
    static Started start(String[] args, Map<String, String> env, PrintStream err) {
        String path = env.getOrDefault("AGGREGATOR_CONFIG", DEFAULT_CONFIG);
        String command = null;
        String only = null;
        Map<String, String> params = new java.util.LinkedHashMap<>();
        boolean fetch = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "check-config", "refresh" -> {
                    if (i != 0) {
                        err.println("aggregator: " + args[i] + " must be the first argument");
                        return new Started(null, 2);
                    }
                    command = args[i];
                }
                case "--source" -> {
                    if (command == null || i + 1 >= args.length) {
                        err.println("aggregator: --source ID goes with refresh or check-config --fetch");
                        return new Started(null, 2);
                    }
                    only = args[++i];
                }
                case "--param" -> {
                    if (command == null || i + 1 >= args.length) {
                        err.println("aggregator: --param NAME=VALUE goes with --source ID");
                        return new Started(null, 2);
                    }
                    String pair = args[++i];
                    int eq = pair.indexOf('=');
                    if (eq <= 0) {
                        err.println("aggregator: --param takes NAME=VALUE, got \"" + pair + "\"");
                        return new Started(null, 2);
                    }
                    if (params.put(pair.substring(0, eq), pair.substring(eq + 1)) != null) {
                        err.println("aggregator: --param " + pair.substring(0, eq) + " is given twice");
                        return new Started(null, 2);
                    }
                }
                case "--fetch" -> {
                    if (!"check-config".equals(command)) {
                        err.println("aggregator: --fetch goes with the check-config command");
                        return new Started(null, 2);
                    }
                    fetch = true;
                }
                case "--config" -> {
                    if (i + 1 >= args.length) {
                        err.println("aggregator: --config needs a file path");
                        return new Started(null, 2);
                    }
                    path = args[++i];
                }
                case "-h", "--help" -> {
                    System.out.println(USAGE);
                    return new Started(null, 0);
                }
                default -> {
                    err.println("aggregator: unknown argument \"" + args[i] + "\" (try --help)");
                    return new Started(null, 2);
                }
            }
        }
        if ("check-config".equals(command) && only != null && !fetch) {
            err.println("aggregator: --source ID goes with refresh or check-config --fetch");
            return new Started(null, 2);
        }
        if (!params.isEmpty() && only == null) {
            err.println("aggregator: --param NAME=VALUE goes with --source ID");
            return new Started(null, 2);
        }
        String logFormat = env.getOrDefault(LOG_FORMAT, "").trim().toLowerCase(Locale.ROOT);
        if (!List.of("", "text", "json").contains(logFormat)) {
            err.println("aggregator: " + LOG_FORMAT + " must be text or json, not \"" + env.get(LOG_FORMAT) + "\"");
            return new Started(null, 2);
        }
        boolean json = logFormat.equals("json");
        if (command == null) {
            Warmup.start();
        }
        ConfigFile config;
        try {
            config = ConfigFile.load(Path.of(path), env);
        } catch (ConfigException e) {
            err.println("aggregator: " + e.getMessage());
            return new Started(null, 2);
        }
        StartupTrace.mark("config read");
        if (command == null) {
            Warmup.configured(config);
        }
        if ("refresh".equals(command)) {
            LogConfig.configureRuntime();
            logToStderr(json); // stdout carries the results, one JSON line per source
            try {
                return new Started(
                        null, new OneShotRefresh(config, Clock.systemUTC(), System.out, err).run(only, params));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Started(null, 1);
            }
        }
        if ("check-config".equals(command) && fetch) {
            LogConfig.configureRuntime();
            logToStderr(json); // stdout carries the previews, one JSON line per source
            try {
                return new Started(
                        null, new ConfigPreview(config, Clock.systemUTC(), System.out, err).run(only, params));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Started(null, 1);
            }
        }
        if ("check-config".equals(command)) {
            System.out.println("aggregator: " + path + " is valid: "
                    + config.aggregator().sources().size() + " sources, "
                    + config.aggregator().enabledSources().size() + " enabled");
            return new Started(null, 0);
        }
        LogConfig.configureRuntime();
        if (json) {
            for (Handler h : Logger.getLogger("").getHandlers()) {
                h.setFormatter(new JsonLogFormatter());
            }
        }
        try {
            return new Started(Aggregator.start(config, Clock.systemUTC(), env), 0);
        } catch (Listener.Failed e) {
            err.println("aggregator: " + e.getMessage());
            return new Started(null, 1);
        } catch (RuntimeException e) {
            err.println("aggregator: cannot start the server: " + rootMessage(e));
            return new Started(null, 1);
        }
    }

    private static void logToStderr(boolean json) {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler stderr = new ConsoleHandler();
        stderr.setFormatter(json ? new JsonLogFormatter() : new SimpleFormatter());
        root.addHandler(stderr);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
