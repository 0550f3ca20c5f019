package io.nemorouter.filters.cache;

import io.nemorouter.filters.store.ChronicleFiles;
import io.nemorouter.filters.store.StoreException;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ExternalMapQueryContext;
import net.openhft.chronicle.map.MapEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The response cache in a Chronicle Map file ({@code cache.dat} under the data directory): off the
 * heap, memory-mapped (an answer stored is in the page cache when the call returns, so a killed
 * process keeps it), opened and recovered as the key store is ({@link ChronicleFiles}). Bounded by
 * entries and bytes: an on-heap queue remembers insertion order, and a put past either bound evicts
 * the oldest first. Expired entries are dropped when read, and by eviction.
 */
final class ChronicleCacheStore implements CacheStore {
    private static final Logger LOG = LoggerFactory.getLogger(ChronicleCacheStore.class);
    private static final String SAMPLE_KEY = "0".repeat(64);

    /** What eviction needs of an entry: which, when, how big. */
    private record Slot(String key, long created, int size) {
        /** Whether this slot is for the answer its key holds now. */
        boolean current(Stored stored) {
            return stored != null && stored.created() == created && stored.size() == size;
        }
    }

    private final ChronicleMap<String, byte[]> map;
    private final ChronicleFiles.Claim claim;
    private final long maxEntries;
    private final long maxBytes;
    private final ConcurrentLinkedQueue<Slot> order = new ConcurrentLinkedQueue<>();
    private final AtomicLong bytes = new AtomicLong();
    /**
     * The keys in the file, on the heap (about 100 bytes each): a miss, the usual lookup, is answered
     * here without touching the map (a Chronicle lookup takes a segment lock and copies the value).
     */
    private final java.util.concurrent.ConcurrentHashMap<String, Stored> present = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Which answer a key holds: its creation time and size. A slot in {@link #order} is its key's
     * current answer only when both match (two answers for one key in one millisecond differ in size,
     * or are alike in what eviction counts).
     */
    private record Stored(long created, int size) {
    }
    /** Slots in {@link #order}, stale ones (replaced, removed, expired) included: compacted when they outnumber the live. */
    private final java.util.concurrent.atomic.AtomicInteger slots = new java.util.concurrent.atomic.AtomicInteger();

    private ChronicleCacheStore(ChronicleMap<String, byte[]> map, ChronicleFiles.Claim claim, long maxEntries, long maxBytes) {
        this.map = map;
        this.claim = claim;
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
    }

    /**
     * Opens (or creates) the cache in {@code dir} for up to {@code maxEntries} entries of about
     * {@code averageEntryBytes} each, and {@code maxBytes} in all.
     */
    static ChronicleCacheStore open(Path dir, long maxEntries, long maxBytes, int averageEntryBytes) {
        // the byte bound must be reached before the map's room runs out: size it for entries of maxBytes / maxEntries
        int average = (int) Math.max(averageEntryBytes, Math.min(Integer.MAX_VALUE / 4, maxBytes / Math.max(1, maxEntries)));
        ChronicleFiles.Claim claim = ChronicleFiles.Claim.take(dir, "cache");
        ChronicleMap<String, byte[]> map = null;
        try {
            resizedAway(dir, maxEntries + "/" + average);
            // room for the bound plus what a put holds before its eviction: a map past its size loses entries on recovery
            map = ChronicleFiles.openMap(dir.resolve("cache.dat"), claim.unclean(),
                    () -> ChronicleMap.of(String.class, byte[].class).name("nemo-cache")
                            .entries(maxEntries + maxEntries / 10 + 16).averageKey(SAMPLE_KEY)
                            .averageValueSize(average).maxBloatFactor(1.0));
            claim.opened();
            ChronicleCacheStore store = new ChronicleCacheStore(map, claim, maxEntries, maxBytes);
            store.index();
            return store;
        } catch (IOException | RuntimeException e) {
            if (map != null) {
                map.close();
            }
            claim.abandon();
            throw e instanceof StoreException se ? se : new StoreException(dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * A Chronicle file keeps the size it was made with, whatever a later builder says; so when the
     * configured size changes, the old file (a cache: nothing in it is owed to anyone) is set aside
     * and a new one made, rather than filling past its room.
     */
    private static void resizedAway(Path dir, String sizing) {
        Path meta = dir.resolve("cache.size");
        Path file = dir.resolve("cache.dat");
        try {
            String was = Files.exists(meta) ? Files.readString(meta).trim() : null;
            if (Files.exists(file) && !sizing.equals(was)) {
                LOG.info("cache: sized anew ({} entries/bytes each, was {}): starting empty", sizing, was);
                Files.delete(file);
            }
            Files.writeString(meta, sizing + "\n");
        } catch (IOException e) {
            throw new StoreException(dir + ": cannot resize the cache: " + e.getMessage(), e);
        }
    }

    /** Rebuilds the eviction order and byte count from the file, oldest first; drops what cannot be read. */
    private void index() {
        List<Slot> slots = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        map.forEach((k, v) -> {
            CacheEntry e = CacheEntry.decode(v);
            if (e == null) {
                unreadable.add(k);
            } else {
                slots.add(new Slot(k, e.createdMillis(), v.length));
            }
        });
        unreadable.forEach(map::remove);
        slots.sort(Comparator.comparingLong(Slot::created));
        for (Slot s : slots) {
            order.add(s);
            this.slots.incrementAndGet();
            bytes.addAndGet(s.size());
            present.put(s.key(), new Stored(s.created(), s.size()));
        }
        if (!slots.isEmpty()) {
            LOG.info("cache: {} answers ({} bytes) kept from before", slots.size(), bytes.get());
        }
    }

    @Override
    public CacheEntry get(String key, long nowMillis) {
        if (!present.containsKey(key)) {
            return null;
        }
        byte[] v = map.get(key);
        if (v == null) {
            return null;
        }
        CacheEntry e = CacheEntry.decode(v);
        if (e == null || e.expiresMillis() <= nowMillis) {
            if (map.remove(key, v)) {
                bytes.addAndGet(-v.length);
                if (e != null) {
                    present.remove(key, new Stored(e.createdMillis(), v.length)); // not a newer entry stored meanwhile
                } else {
                    present.remove(key);
                }
            }
            return null;
        }
        return e;
    }

    @Override
    public void put(String key, CacheEntry entry) {
        byte[] v = entry.encode();
        if (v.length > maxBytes) {
            return;
        }
        byte[] old;
        try {
            old = map.put(key, v);
        } catch (IllegalStateException full) {
            // the file's room ran out before a bound did (answers far larger than the average): make room, once
            evictOldest(Math.max(1, map.longSize() / 10));
            try {
                old = map.put(key, v);
            } catch (IllegalStateException still) {
                LOG.warn("cache: no room for an answer of {} bytes: {}", v.length, still.getMessage());
                return;
            }
        }
        present.put(key, new Stored(entry.createdMillis(), v.length));
        bytes.addAndGet(v.length - (old == null ? 0 : old.length));
        order.add(new Slot(key, entry.createdMillis(), v.length));
        if (slots.incrementAndGet() > 2 * map.longSize() + 64) {
            compact();
        }
        evict();
    }

    /** Drops the slots of entries replaced, removed or expired: the order keeps one slot per live entry. */
    private void compact() {
        List<Slot> live = new ArrayList<>();
        for (Slot s : order) {
            if (s.current(present.get(s.key()))) {
                live.add(s);
            }
        }
        order.clear();
        order.addAll(live);
        slots.set(live.size());
    }

    private void evictOldest(long n) {
        for (long i = 0; i < n; i++) {
            if (!evictOne()) {
                return;
            }
        }
    }

    /** Removes the oldest entries until both bounds hold. A slot whose entry was replaced or removed since is skipped. */
    private void evict() {
        while (map.longSize() > maxEntries || bytes.get() > maxBytes) {
            if (!evictOne()) {
                return;
            }
        }
    }

    /** Removes the oldest live entry; false when there is none. A slot whose entry was replaced or removed is skipped. */
    private boolean evictOne() {
        while (true) {
            Slot oldest = order.poll();
            if (oldest == null) {
                return false;
            }
            slots.decrementAndGet();
            Stored stored = present.get(oldest.key());
            if (!oldest.current(stored)) {
                continue; // replaced by a newer answer (it has its own slot further on), or gone
            }
            if (removeUnread(oldest.key())) {
                bytes.addAndGet(-oldest.size()); // the slot is this entry's (same creation and size)
            }
            present.remove(oldest.key(), stored);
            return true;
        }
    }

    /**
     * Removes {@code key}'s entry without reading its value (a plain remove returns it, a copy of up
     * to max_entry_size bytes that eviction, once per store when the cache is full, has no use for).
     */
    private boolean removeUnread(String key) {
        try (ExternalMapQueryContext<String, byte[], ?> q = map.queryContext(key)) {
            q.writeLock().lock();
            MapEntry<String, byte[]> entry = q.entry();
            if (entry == null) {
                return false; // dropped as expired meanwhile, by the lookup that found it so
            }
            q.remove(entry);
            return true;
        }
    }

    @Override
    public int remove(Predicate<CacheEntry> which) {
        List<String> keys = new ArrayList<>();
        map.forEach((k, v) -> {
            CacheEntry e = CacheEntry.decode(v);
            if (e == null || which.test(e)) {
                keys.add(k);
            }
        });
        int n = 0;
        for (String k : keys) {
            byte[] v = map.remove(k);
            if (v != null) {
                bytes.addAndGet(-v.length);
                present.remove(k);
                n++;
            }
        }
        if (n > 0) {
            compact();
        }
        return n;
    }

    @Override
    public long entries() {
        return map.longSize();
    }

    @Override
    public long bytes() {
        return bytes.get();
    }

    @Override
    public void close() {
        map.close();
        claim.close();
    }
}
