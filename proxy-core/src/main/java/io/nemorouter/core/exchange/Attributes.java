package io.nemorouter.core.exchange;

/**
 * The values of one exchange's {@link Key}s, one slot per key, an array index away. An exchange
 * creates its own on the first {@code set}, so a request that no feature annotates allocates
 * nothing. Not thread-safe: confined to the exchange's event loop.
 */
public final class Attributes {
    private Object[] values = new Object[Math.max(8, Key.slots())];

    @SuppressWarnings("unchecked")
    public <T> T get(Key<T> key) {
        return key.slot < values.length ? (T) values[key.slot] : null;
    }

    public <T> void set(Key<T> key, T value) {
        if (key.slot >= values.length) {
            Object[] grown = new Object[Math.max(key.slot + 1, Key.slots())];
            System.arraycopy(values, 0, grown, 0, values.length);
            values = grown;
        }
        values[key.slot] = value;
    }
}
