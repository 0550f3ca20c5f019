package io.nemorouter.filters.cache;

import java.util.function.Predicate;

/** Where answers are kept: the embedded Chronicle Map file, or (later) Redis. Thread-safe. */
interface CacheStore extends AutoCloseable {
    /** The entry under {@code key} if it has not expired by {@code nowMillis}, else null. */
    CacheEntry get(String key, long nowMillis);

    /** Stores {@code entry} (replacing one under the same key), evicting the oldest entries past the bounds. */
    void put(String key, CacheEntry entry);

    /** Removes every entry {@code which} accepts; returns how many. */
    int remove(Predicate<CacheEntry> which);

    long entries();

    long bytes();

    @Override
    void close();
}
