package io.nemorouter.filters.keys.state;

/** Time as keys and limits read it: wall time for budget periods and expiry, a monotonic clock for rates. Tests give their own. */
public interface KeysClock {
    KeysClock SYSTEM = new KeysClock() {
        @Override
        public long millis() {
            return System.currentTimeMillis();
        }

        @Override
        public long nanos() {
            return System.nanoTime();
        }
    };

    /** Epoch milliseconds. */
    long millis();

    /** A monotonic count of nanoseconds (as {@link System#nanoTime}). */
    long nanos();
}
