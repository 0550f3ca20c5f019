package io.nemorouter.core.engine;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Reads an upstream's {@code Retry-After} (seconds or an HTTP date) and OpenAI's {@code retry-after-ms}. */
final class RetryAfter {
    private RetryAfter() {
    }

    /** Milliseconds to wait, or -1 when neither header says. {@code retry-after-ms} wins: it is more precise. */
    static long millis(String retryAfter, String retryAfterMs) {
        if (retryAfterMs != null) {
            try {
                return Math.max(0, (long) Double.parseDouble(retryAfterMs.trim()));
            } catch (NumberFormatException ignored) {
                // fall back to Retry-After
            }
        }
        if (retryAfter == null || retryAfter.isBlank()) {
            return -1;
        }
        String v = retryAfter.trim();
        try {
            return Math.max(0, Math.round(Double.parseDouble(v) * 1000));
        } catch (NumberFormatException notSeconds) {
            try {
                long at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
                return Math.max(0, at - System.currentTimeMillis());
            } catch (DateTimeParseException notADate) {
                return -1;
            }
        }
    }
}
