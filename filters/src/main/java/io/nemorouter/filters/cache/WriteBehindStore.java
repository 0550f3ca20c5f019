package io.nemorouter.filters.cache;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The store as the event loops use it: a put is handed to the cache's writer thread and returns at
 * once; until the writer has stored it, the entry is answered from a small on-heap map of pending
 * stores, so an identical request right after a landed answer is a hit however late the writer
 * polls. A put the writer's queue cannot take is dropped (and counted by the writer). Over a shared
 * store (Redis) the writer only sends each store off, so the pending map holds an entry for the
 * moment it takes to hand it to Redis's connection; a lookup sent after it on that connection sees it.
 */
final class WriteBehindStore implements CacheStore {
    private final CacheStore store;
    private final CacheWriter writer;
    private final ConcurrentHashMap<String, CacheEntry> pending = new ConcurrentHashMap<>();

    WriteBehindStore(CacheStore store, CacheWriter writer) {
        this.store = store;
        this.writer = writer;
    }

    /** A stored answer the writer has not handed to the store yet, or null. */
    private CacheEntry pending(String key, long nowMillis) {
        CacheEntry e = pending.isEmpty() ? null : pending.get(key);
        return e != null && e.expiresMillis() > nowMillis ? e : null;
    }

    @Override
    public boolean local() {
        return store.local();
    }

    @Override
    public CacheEntry get(String key, long nowMillis) {
        CacheEntry e = pending(key, nowMillis);
        return e != null ? e : store.get(key, nowMillis);
    }

    @Override
    public CompletableFuture<CacheEntry> lookup(String key, long nowMillis) {
        CacheEntry e = pending(key, nowMillis);
        return e != null ? CompletableFuture.completedFuture(e) : store.lookup(key, nowMillis);
    }

    @Override
    public void put(String key, CacheEntry entry) {
        pending.put(key, entry);
        if (!writer.submit(() -> {
            try {
                store.put(key, entry);
            } finally {
                pending.remove(key, entry);
            }
        })) {
            pending.remove(key, entry);
        }
    }

    /** What {@link #remove(Predicate, java.util.function.IntConsumer)} tells when the writer is behind. */
    static final int BUSY = -1;
    /** What it tells when the store could not be reached (Redis down): some entries may remain. */
    static final int UNREACHABLE = -2;

    /**
     * Removes, on the writer thread, every entry {@code which} accepts; {@code then} gets how many,
     * or {@link #BUSY} when the writer is behind, {@link #UNREACHABLE} when the store did not answer.
     */
    void remove(Predicate<CacheEntry> which, java.util.function.IntConsumer then) {
        if (!writer.submit(() -> {
            pending.values().removeIf(which);
            int n;
            try {
                n = store.remove(which);
            } catch (RuntimeException e) {
                n = UNREACHABLE;
            }
            then.accept(n);
        })) {
            then.accept(BUSY);
        }
    }

    @Override
    public int remove(Predicate<CacheEntry> which) {
        pending.values().removeIf(which);
        return store.remove(which);
    }

    @Override
    public long entries() {
        return store.entries();
    }

    @Override
    public long bytes() {
        return store.bytes();
    }

    @Override
    public CompletableFuture<Size> size() {
        return store.size();
    }

    @Override
    public void close() {
        store.close();
    }
}
