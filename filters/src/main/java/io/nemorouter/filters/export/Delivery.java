package io.nemorouter.filters.export;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/**
 * How sending a batch went: delivered, worth another try (429, 5xx, a network error: after
 * {@code retryAfter} when the receiver said so), or refused for good (another 4xx: the batch is
 * dropped and counted, retrying would only repeat the refusal).
 */
public record Delivery(Outcome outcome, Duration retryAfter, String detail) {
    public enum Outcome { DELIVERED, RETRY, REFUSED }

    public static final Delivery DELIVERED = new Delivery(Outcome.DELIVERED, null, null);

    public static Delivery retry(String detail, Duration retryAfter) {
        return new Delivery(Outcome.RETRY, retryAfter, detail);
    }

    public static Delivery refused(String detail) {
        return new Delivery(Outcome.REFUSED, null, detail);
    }

    /** The usual reading of an HTTP receiver's answer. */
    public static Delivery of(HttpResponse<?> response) {
        return ofStatus(response.statusCode(), response.headers().firstValue("retry-after").orElse(null));
    }

    /** The usual reading of a receiver's status and its {@code Retry-After} (null when it sent none). */
    public static Delivery ofStatus(int status, String retryAfterHeader) {
        if (status >= 200 && status < 300) {
            return DELIVERED;
        }
        String detail = "HTTP " + status;
        if (status == 429 || status >= 500 || status == 408) {
            return retry(detail, retryAfter(retryAfterHeader, Instant.now()));
        }
        return refused(detail);
    }

    /** {@code Retry-After} as seconds or an HTTP date; null when absent or unreadable. */
    static Duration retryAfter(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(value.trim())));
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
            } catch (DateTimeParseException notADate) {
                return null;
            }
        }
    }
}
