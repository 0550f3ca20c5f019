package io.nemorouter.filters.cache;

import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * Where answers are kept: the embedded ring file ({@link RingCacheStore}, {@link #local()}: read at once, on the
 * event loop), or Redis in cluster mode (read with {@link #lookup}, never waited for). Thread-safe.
 */
interface CacheStore extends AutoCloseable {
    /** What the store holds: its entries and their bytes. */
    record Size(long entries, long bytes) {
    }

    /**
     * Whether {@link #get} answers at once, without I/O (a memory-mapped file): the event loop reads
     * it directly. A store that is not local is read with {@link #lookup} only.
     */
    default boolean local() {
        return true;
    }

    /** The entry under {@code key} if it has not expired by {@code nowMillis}, else null. Local stores only. */
    CacheEntry get(String key, long nowMillis);

    /**
     * The entry under {@code key} if it has not expired by {@code nowMillis}, else null, when the
     * store has answered (on any thread; perhaps done already). Never completes exceptionally: a
     * store that cannot answer in time answers null, a miss.
     */
    default CompletableFuture<CacheEntry> lookup(String key, long nowMillis) {
        return CompletableFuture.completedFuture(get(key, nowMillis));
    }

    /** Stores {@code entry} (replacing one under the same key), evicting the oldest entries past the bounds. */
    void put(String key, CacheEntry entry);

    /**
     * Removes every entry {@code which} accepts (it reads their {@code scope} and {@code model});
     * returns how many. May block (a writer thread calls it).
     *
     * @throws RuntimeException the store could not be reached: some entries may remain
     */
    int remove(Predicate<CacheEntry> which);

    long entries();

    long bytes();

    /** {@link #entries()} and {@link #bytes()} read afresh (a shared store asks Redis); may fail when it cannot. */
    default CompletableFuture<Size> size() {
        return CompletableFuture.completedFuture(new Size(entries(), bytes()));
    }

    @Override
    void close();
}
