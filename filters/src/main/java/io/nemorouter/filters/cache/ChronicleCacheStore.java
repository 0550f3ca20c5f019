package io.nemorouter.filters.cache;

import io.nemorouter.filters.store.ChronicleFiles;
import io.nemorouter.filters.store.StoreException;
import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
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
    }

    private final ChronicleMap<String, byte[]> map;
    private final FileChannel lock;
    private final Path marker;
    private final long maxEntries;
    private final long maxBytes;
    private final ConcurrentLinkedQueue<Slot> order = new ConcurrentLinkedQueue<>();
    private final AtomicLong bytes = new AtomicLong();
    /**
     * The keys in the file, on the heap (about 100 bytes each): a miss, the usual lookup, is answered
     * here without touching the map (a Chronicle lookup takes a segment lock and copies the value).
     */
    private final java.util.Set<String> present = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private ChronicleCacheStore(ChronicleMap<String, byte[]> map, FileChannel lock, Path marker, long maxEntries, long maxBytes) {
        this.map = map;
        this.lock = lock;
        this.marker = marker;
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
    }

    /**
     * Opens (or creates) the cache in {@code dir} for up to {@code maxEntries} entries of about
     * {@code averageEntryBytes} each, and {@code maxBytes} in all.
     */
    static ChronicleCacheStore open(Path dir, long maxEntries, long maxBytes, int averageEntryBytes) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StoreException(dir + ": cannot create the data directory: " + e.getMessage(), e);
        }
        FileChannel lock = ChronicleFiles.exclusive(dir.resolve("cache.lock"));
        Path marker = dir.resolve("cache.open");
        boolean unclean = Files.exists(marker);
        try {
            // room for the bound plus what a put holds before its eviction: a map past its size loses entries on recovery
            ChronicleMap<String, byte[]> map = ChronicleFiles.openMap(dir.resolve("cache.dat"), unclean,
                    () -> ChronicleMap.of(String.class, byte[].class).name("nemo-cache")
                            .entries(maxEntries + maxEntries / 10 + 16).averageKey(SAMPLE_KEY)
                            .averageValueSize(averageEntryBytes).maxBloatFactor(1.0));
            Files.writeString(marker, Long.toString(ProcessHandle.current().pid()));
            ChronicleCacheStore store = new ChronicleCacheStore(map, lock, marker, maxEntries, maxBytes);
            store.index();
            return store;
        } catch (IOException | RuntimeException e) {
            ChronicleFiles.closeQuietly(lock);
            throw e instanceof StoreException se ? se : new StoreException(dir + ": " + e.getMessage(), e);
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
            bytes.addAndGet(s.size());
            present.add(s.key());
        }
        if (!slots.isEmpty()) {
            LOG.info("cache: {} answers ({} bytes) kept from before", slots.size(), bytes.get());
        }
    }

    @Override
    public CacheEntry get(String key, long nowMillis) {
        if (!present.contains(key)) {
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
                present.remove(key);
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
        byte[] old = map.put(key, v);
        present.add(key);
        bytes.addAndGet(v.length - (old == null ? 0 : old.length));
        order.add(new Slot(key, entry.createdMillis(), v.length));
        evict();
    }

    /** Removes the oldest entries until both bounds hold. A slot whose entry was replaced or removed since is skipped. */
    private void evict() {
        while (map.longSize() > maxEntries || bytes.get() > maxBytes) {
            Slot oldest = order.poll();
            if (oldest == null) {
                return;
            }
            byte[] v = map.get(oldest.key());
            if (v == null) {
                continue;
            }
            CacheEntry e = CacheEntry.decode(v);
            if (e != null && e.createdMillis() != oldest.created()) {
                continue; // replaced by a newer answer, which has its own slot further on
            }
            if (map.remove(oldest.key(), v)) {
                bytes.addAndGet(-v.length);
                present.remove(oldest.key());
            }
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
        try {
            Files.deleteIfExists(marker);
        } catch (IOException e) {
            LOG.warn("cache: cannot remove {}: {}", marker, e.toString());
        }
        ChronicleFiles.closeQuietly(lock);
    }
}
