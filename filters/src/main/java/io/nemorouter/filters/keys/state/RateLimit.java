package io.nemorouter.filters.keys.state;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A per-minute limit as the generic cell rate algorithm: one number, the theoretical arrival time
 * (TAT), moved by compare-and-set, so admission takes no lock and allocates nothing. Each unit
 * (a request, a token) pushes the TAT on by {@code 60 s / limit}; a request is admitted while the
 * TAT stays within one minute of now, so a full minute's worth may come in a burst and the rest
 * at the limit's pace. Thread-safe.
 */
public final class RateLimit {
    private static final long WINDOW = 60_000_000_000L;

    private final long limit;
    private final double interval;
    private final AtomicLong tat = new AtomicLong(Long.MIN_VALUE / 2); // long ago, and no overflow in tat - now

    public RateLimit(long limit) {
        this.limit = limit;
        this.interval = (double) WINDOW / limit;
    }

    public long limit() {
        return limit;
    }

    /**
     * Takes {@code units} at {@code now} (nanos) when they fit: returns 0; else returns how long
     * until they would (nanos, at least 1) and takes nothing.
     */
    public long tryTake(long units, long now) {
        long cost = Math.min(WINDOW, (long) Math.ceil(units * interval)); // a whole minute's worth fits an idle limit
        while (true) {
            long t = tat.get();
            long base = Math.max(t, now);
            long next = base + cost;
            if (next - now > WINDOW) {
                return Math.max(1, next - WINDOW - now);
            }
            if (tat.compareAndSet(t, next)) {
                return 0;
            }
        }
    }

    /**
     * Adjusts what was taken by {@code units} (negative: gives back an over-estimate; positive:
     * charges what the estimate missed, which later requests wait for).
     */
    public void adjust(long units, long now) {
        long delta = (long) Math.ceil(units * interval);
        while (true) {
            long t = tat.get();
            long next = Math.max(Math.max(t, now) + delta, now);
            if (units < 0 && t <= now) {
                return; // the bucket is full already: nothing to give back to
            }
            if (tat.compareAndSet(t, next)) {
                return;
            }
        }
    }

    /** Units that would be admitted right now. */
    public long remaining(long now) {
        long used = Math.max(0, tat.get() - now);
        return Math.max(0, (long) ((WINDOW - used) / interval));
    }

    /** Nanos until the limit is whole again. */
    public long resetNanos(long now) {
        return Math.max(0, tat.get() - now);
    }
}
