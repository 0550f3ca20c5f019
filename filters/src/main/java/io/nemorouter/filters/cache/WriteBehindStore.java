package io.nemorouter.filters.cache;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The store as the event loops use it: a put is handed to the cache's writer thread and returns at
 * once; until the writer has stored it, the entry is answered from a small on-heap map of pending
 * stores, so an identical request right after a landed answer is a hit however late the writer
 * polls. A put the writer's queue cannot take is dropped (and counted by the writer).
 */
final class WriteBehindStore implements CacheStore {
    private final CacheStore store;
    private final CacheWriter writer;
    private final ConcurrentHashMap<String, CacheEntry> pending = new ConcurrentHashMap<>();

    WriteBehindStore(CacheStore store, CacheWriter writer) {
        this.store = store;
        this.writer = writer;
    }

    @Override
    public CacheEntry get(String key, long nowMillis) {
        CacheEntry e = pending.isEmpty() ? null : pending.get(key);
        if (e != null && e.expiresMillis() > nowMillis) {
            return e;
        }
        return store.get(key, nowMillis);
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

    /** Removes, on the writer thread, every entry {@code which} accepts; {@code then} gets how many (or -1 when the writer is behind). */
    void remove(Predicate<CacheEntry> which, java.util.function.IntConsumer then) {
        if (!writer.submit(() -> {
            pending.values().removeIf(which);
            then.accept(store.remove(which));
        })) {
            then.accept(-1);
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
    public void close() {
        store.close();
    }
}
