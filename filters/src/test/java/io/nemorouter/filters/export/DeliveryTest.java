package io.nemorouter.filters.export;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** How a receiver's answer decides a batch's fate, and the waits between tries. */
class DeliveryTest {
    @Test
    void retryAfterIsReadAsSecondsOrAnHttpDate() {
        Instant now = Instant.parse("2026-12-02T10:00:00Z");
        assertEquals(Duration.ofSeconds(7), Delivery.retryAfter("7", now));
        assertEquals(Duration.ofSeconds(30), Delivery.retryAfter("Wed, 02 Dec 2026 10:00:30 GMT", now));
        assertEquals(Duration.ZERO, Delivery.retryAfter("Wed, 02 Dec 2026 09:00:00 GMT", now));
        assertNull(Delivery.retryAfter("soon", now));
        assertNull(Delivery.retryAfter(null, now));
    }

    @Test
    void langfusesMultiStatusRetriesServerErrorsAndDropsRefusals() {
        assertEquals(Delivery.Outcome.DELIVERED, LangfuseExporter.multiStatus(bytes("{\"successes\":[{\"id\":\"a\",\"status\":201}],\"errors\":[]}")).outcome());
        assertEquals(Delivery.Outcome.RETRY, LangfuseExporter.multiStatus(bytes("{\"errors\":[{\"id\":\"a\",\"status\":500,\"message\":\"db\"}]}")).outcome());
        assertEquals(Delivery.Outcome.REFUSED, LangfuseExporter.multiStatus(bytes("{\"errors\":[{\"id\":\"a\",\"status\":400,\"message\":\"bad\"}]}")).outcome());
    }

    @Test
    void backoffGrowsWithJitterUpToItsCapAndHonoursRetryAfterWithinIt() {
        ExportQueue q = new ExportQueue(batch -> Delivery.DELIVERED, new ExportQueue.Settings("t", 10, Duration.ofSeconds(1), 100,
                1 << 20, 5, Duration.ofMillis(100), Duration.ofSeconds(2)), null);
        for (int attempt = 0; attempt < 8; attempt++) {
            long cap = Math.min(2000, 100L << attempt);
            long ms = q.backoff(attempt, null).toMillis();
            assertEquals(true, ms >= cap / 2 && ms <= cap, "attempt " + attempt + ": " + ms + " ms within [" + cap / 2 + ", " + cap + "]");
        }
        assertEquals(Duration.ofSeconds(1), q.backoff(0, Duration.ofSeconds(1)));
        assertEquals(Duration.ofSeconds(2), q.backoff(0, Duration.ofMinutes(5)), "a Retry-After past the cap waits the cap");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
