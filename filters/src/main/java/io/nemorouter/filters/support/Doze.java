package io.nemorouter.filters.support;

import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * How the one consumer of a lock-free queue (the request log's writer, the cache's) waits for work.
 * While work keeps coming it polls every {@code pollMillis}, so a busy gateway's event loops hand
 * work over with one queue offer and never wake anyone. After {@code idleMillis} with nothing to do
 * it sleeps until a producer wakes it (or {@code maxSleepMillis} pass, for its timed chores), so an
 * idle gateway does not wake a thread hundreds of times a second: a 2 ms poll cost about 1% of a
 * core and 500 context switches a second doing nothing. A producer pays one fence and a volatile
 * read per item, and one {@link LockSupport#unpark} only when the consumer sleeps.
 */
public final class Doze {
    private final long pollNanos;
    private final long idleNanos;
    private final long maxSleepNanos;
    private volatile Thread sleeper;
    private long lastWorkNanos = System.nanoTime();

    public Doze(long pollMillis, long idleMillis, long maxSleepMillis) {
        this.pollNanos = TimeUnit.MILLISECONDS.toNanos(pollMillis);
        this.idleNanos = TimeUnit.MILLISECONDS.toNanos(idleMillis);
        this.maxSleepNanos = TimeUnit.MILLISECONDS.toNanos(maxSleepMillis);
    }

    /** The consumer, after a pass that found work. */
    public void worked() {
        lastWorkNanos = System.nanoTime();
    }

    /**
     * The consumer, after a pass that found nothing: returns when it should look again. {@code empty}
     * is asked once more after the consumer says it sleeps, so work offered in between is not missed.
     */
    public void rest(BooleanSupplier empty) {
        if (System.nanoTime() - lastWorkNanos < idleNanos) {
            LockSupport.parkNanos(pollNanos);
            return;
        }
        sleeper = Thread.currentThread(); // a volatile write: ordered before the check below
        try {
            if (empty.getAsBoolean()) {
                LockSupport.parkNanos(maxSleepNanos);
            }
        } finally {
            sleeper = null;
        }
    }

    /** A producer, after it added work: wakes the consumer if it sleeps. */
    public void added() {
        VarHandle.fullFence(); // the work's publication before the read of sleeper (pairs with the write in rest)
        Thread t = sleeper;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }
}
