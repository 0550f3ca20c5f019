package io.nemorouter.filters.keys.state;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RateLimitTest {
    private static final long S = 1_000_000_000L;

    @Test
    void aMinutesWorthComesAtOnceThenTheLimitsPace() {
        RateLimit rpm = new RateLimit(60);
        long now = 1000 * S;
        for (int i = 0; i < 60; i++) {
            assertEquals(0, rpm.tryTake(1, now), "request " + i);
        }
        long wait = rpm.tryTake(1, now);
        assertTrue(wait > 0 && wait <= S, "the 61st waits about a second: " + wait);
        assertEquals(0, rpm.remaining(now));
        assertEquals(60 * S, rpm.resetNanos(now));
        assertEquals(0, rpm.tryTake(1, now + S), "one more a second later");
        assertEquals(60, rpm.remaining(now + 200 * S), "whole again after a minute");
    }

    @Test
    void tokensAreGivenBackAndChargedAtSettlement() {
        RateLimit tpm = new RateLimit(1000);
        long now = 5 * S;
        assertEquals(0, tpm.tryTake(900, now));
        assertEquals(100, tpm.remaining(now));
        tpm.adjust(-800, now); // the answer used 100 of the 900 reserved
        assertEquals(900, tpm.remaining(now));
        tpm.adjust(+850, now); // an answer that used more than it reserved
        assertTrue(tpm.tryTake(100, now) > 0);
    }

    @Test
    void aRequestLargerThanTheWholeLimitFitsAnIdleOne() {
        RateLimit tpm = new RateLimit(100);
        assertEquals(0, tpm.tryTake(100, 0));
        assertTrue(tpm.tryTake(1, 0) > 0);
    }
}
