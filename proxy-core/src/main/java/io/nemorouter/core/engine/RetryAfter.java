package io.nemorouter.core.engine;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/**
 * Reads an upstream's {@code Retry-After} (seconds or an HTTP date), OpenAI's {@code retry-after-ms},
 * and OpenAI's {@code x-ratelimit-reset-requests} / {@code -tokens} ({@code 1s}, {@code 6m0s},
 * {@code 20ms}).
 */
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

    /**
     * The later of OpenAI's two rate-limit resets (a 429 says one of the limits is spent, not which),
     * in milliseconds, or -1 when neither parses.
     */
    static long resetMillis(String requests, String tokens) {
        return Math.max(duration(requests), duration(tokens));
    }

    /** {@code 1h2m3.5s}, {@code 6m0s}, {@code 20ms}, {@code 1.5s} in milliseconds; -1 when it is not one. */
    static long duration(String v) {
        if (v == null || v.isBlank()) {
            return -1;
        }
        String s = v.trim();
        double total = 0;
        int i = 0;
        boolean any = false;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            if (start == i) {
                return -1;
            }
            double n;
            try {
                n = Double.parseDouble(s.substring(start, i));
            } catch (NumberFormatException e) {
                return -1;
            }
            if (s.startsWith("ms", i)) {
                total += n;
                i += 2;
            } else if (i < s.length() && s.charAt(i) == 'h') {
                total += n * 3_600_000;
                i++;
            } else if (i < s.length() && s.charAt(i) == 'm') {
                total += n * 60_000;
                i++;
            } else if (i < s.length() && s.charAt(i) == 's') {
                total += n * 1000;
                i++;
            } else {
                return -1;
            }
            any = true;
        }
        return any ? Math.round(total) : -1;
    }
}
