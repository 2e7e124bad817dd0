package io.github.aggregator.config;

/** A configuration file that cannot be used. The message is one line naming the file, and the source and field. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message, null, false, false);
    }
}
