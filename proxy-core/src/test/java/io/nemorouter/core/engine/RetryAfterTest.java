package io.nemorouter.core.engine;

import org.junit.jupiter.api.Test;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RetryAfterTest {
    @Test
    void secondsDatesAndOpenAisMilliseconds() {
        assertEquals(7000, RetryAfter.millis("7", null));
        assertEquals(1500, RetryAfter.millis(" 1.5 ", null));
        assertEquals(250, RetryAfter.millis("7", "250"), "retry-after-ms is the more precise");
        assertEquals(-1, RetryAfter.millis(null, null));
        assertEquals(-1, RetryAfter.millis("soon", null));
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(30));
        long ms = RetryAfter.millis(date, null);
        assertTrue(ms > 25_000 && ms <= 30_000, "an HTTP date: " + ms);
        assertEquals(0, RetryAfter.millis("Wed, 21 Oct 2015 07:28:00 GMT", null), "a date past is now");
    }

    @Test
    void openAisRateLimitResetsReadAsDurations() {
        assertEquals(1000, RetryAfter.duration("1s"));
        assertEquals(360_000, RetryAfter.duration("6m0s"));
        assertEquals(20, RetryAfter.duration("20ms"));
        assertEquals(3_723_500, RetryAfter.duration("1h2m3.5s"));
        assertEquals(-1, RetryAfter.duration("soon"));
        assertEquals(-1, RetryAfter.duration("5"));
        assertEquals(6000, RetryAfter.resetMillis("1s", "6s"), "the later of the two");
        assertEquals(-1, RetryAfter.resetMillis(null, "x"));
    }
}
