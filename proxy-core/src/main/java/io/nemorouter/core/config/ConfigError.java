package io.nemorouter.core.config;

import com.typesafe.config.ConfigOrigin;

/**
 * A configuration mistake a user can fix: the message names the file, line and key,
 * so start-up can print it as one line instead of a stack trace.
 */
public final class ConfigError extends RuntimeException {
    public ConfigError(String message) {
        super(message, null, false, false);
    }

    public static ConfigError at(ConfigOrigin origin, String path, String problem) {
        return new ConfigError(where(origin) + path + ": " + problem);
    }

    static String where(ConfigOrigin origin) {
        if (origin == null) {
            return "";
        }
        String file = origin.filename() != null ? origin.filename()
                : origin.resource() != null ? origin.resource() : origin.description();
        return origin.lineNumber() > 0 ? file + ":" + origin.lineNumber() + ": " : file + ": ";
    }
}
