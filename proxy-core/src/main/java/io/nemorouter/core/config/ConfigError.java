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

    /**
     * Typesafe Config's own errors (syntax, a value of the wrong type, a duration it cannot read)
     * in the same one-line form: {@code file:line: key: problem}, without its origin description.
     */
    static ConfigError from(com.typesafe.config.ConfigException e) {
        ConfigOrigin origin = e.origin();
        String message = e.getMessage();
        if (origin != null) {
            String described = origin.description() + ": ";
            if (message.startsWith(described)) {
                message = message.substring(described.length());
            }
        }
        // "Invalid value at 'nemo.x': No number in duration value 'x'" -> "nemo.x: No number in duration value 'x'"
        java.util.regex.Matcher at = java.util.regex.Pattern.compile("^Invalid value at '([^']*)': (.*)$", java.util.regex.Pattern.DOTALL)
                .matcher(message);
        if (at.matches()) {
            message = at.group(1) + ": " + at.group(2);
        }
        // "nemo.x has type STRING rather than NUMBER" -> "nemo.x: must be a number, got a string"
        java.util.regex.Matcher type = java.util.regex.Pattern.compile("^(\\S+) has type (\\S+) rather than (\\S+)$").matcher(message);
        if (type.matches()) {
            message = type.group(1) + ": must be a " + type.group(3).toLowerCase(java.util.Locale.ROOT) + ", got a "
                    + type.group(2).toLowerCase(java.util.Locale.ROOT);
        }
        return new ConfigError(where(origin) + message.replace('\n', ' '));
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
