package io.nemorouter.core.exchange;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The name of one piece of per-request state, as Zuul's {@code SessionContext.Key}: a filter sets
 * it on the {@link Exchange} (the key record found by auth, a budget reservation, a cache key) and
 * later filters, listeners and observers read it, without a field added to the exchange for every
 * feature. Keys are created once, as constants; each gets a slot, so a lookup is an array index.
 *
 * <pre>{@code
 * public static final Key<KeyRecord> KEY_RECORD = Key.of("auth.key_record");
 * exchange.set(KEY_RECORD, record);      // in the auth filter
 * KeyRecord r = exchange.get(KEY_RECORD); // in the limits filter, or an observer
 * }</pre>
 */
public final class Key<T> {
    private static final AtomicInteger SLOTS = new AtomicInteger();

    final int slot;
    private final String name;

    private Key(String name) {
        this.name = name;
        this.slot = SLOTS.getAndIncrement();
    }

    /** A new key; {@code name} is for messages and debugging only (two keys of one name are still two keys). */
    public static <T> Key<T> of(String name) {
        return new Key<>(name);
    }

    public String name() {
        return name;
    }

    /** Slots handed out so far: an attribute array this long holds every key that exists. */
    static int slots() {
        return SLOTS.get();
    }

    @Override
    public String toString() {
        return "Key(" + name + ")";
    }
}
