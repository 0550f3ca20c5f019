package io.nemorouter.core.openai;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/** Unique request ids: a random per-process prefix and a counter, so no clock or RNG per call. */
public final class RequestIds {
    private static final String PREFIX = "req_" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16) + "_";
    private static final AtomicLong COUNTER = new AtomicLong();

    private RequestIds() {
    }

    public static String next() {
        return PREFIX + Long.toHexString(COUNTER.incrementAndGet());
    }

    /** A client's own id is kept when it is short and printable, so its logs and ours line up. */
    public static boolean acceptable(String id) {
        if (id == null || id.isEmpty() || id.length() > 128) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }
}
