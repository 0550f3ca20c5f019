package io.nemorouter.server.keys;

import io.nemorouter.filters.keys.state.KeysClock;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** A clock tests move by hand: budget periods, expiry and rate windows without waiting. */
final class ManualClock implements KeysClock {
    private final AtomicLong millis;
    private final AtomicLong nanos = new AtomicLong(1_000_000_000_000L);

    ManualClock(Instant start) {
        millis = new AtomicLong(start.toEpochMilli());
    }

    void advance(Duration d) {
        millis.addAndGet(d.toMillis());
        nanos.addAndGet(d.toNanos());
    }

    @Override
    public long millis() {
        return millis.get();
    }

    @Override
    public long nanos() {
        return nanos.get();
    }
}
