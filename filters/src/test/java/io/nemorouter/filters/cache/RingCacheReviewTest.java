package io.nemorouter.filters.cache;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * What a review of the ring store found, each failing on its first version: answers that must stay
 * gone (dropped for max_entries, flushed, hidden behind a chunk's end marker) coming back at a
 * start, and expired answers pushing live ones out at a start.
 */
class RingCacheReviewTest {
    private static final long LATER = Long.MAX_VALUE / 2;
    private Path dir;
    private RingCacheStore store;

    @AfterEach
    void cleanUp() throws Exception {
        StoreDirs.closeAndDelete(store, dir);
    }

    private void open(long maxEntries, long maxBytes) throws Exception {
        if (dir == null) {
            dir = Files.createTempDirectory("nemo-ring-review");
        }
        store = RingCacheStore.open(dir, maxEntries, maxBytes);
    }

    private void reopen(long maxEntries, long maxBytes) throws Exception {
        store.close();
        store = null;
        open(maxEntries, maxBytes);
    }

    private static String key(int i) {
        return String.format("%064x", i);
    }

    private static CacheEntry entry(String model, int bodySize, long expires) {
        return new CacheEntry("org:a", model, null, 1_000, expires, false, "application/json", 10, 5, 0, 0.01,
                new byte[bodySize]);
    }

    /** An entry whose record (header, 64-char key, value, padding) is exactly {@code length} bytes. */
    private static CacheEntry sized(String model, int length) {
        int overhead = RingCacheStore.HEADER + 64 + entry(model, 0, LATER).encode().length;
        CacheEntry e = entry(model, length - overhead, LATER);
        assertEquals(length, (RingCacheStore.HEADER + 64 + e.encode().length + 7) & ~7, "test setup: record length");
        return e;
    }

    /**
     * An answer dropped for max_entries keeps its record in the file; a flush only tombstones what is
     * in the index, so after a restart (the index now under max_entries) the flushed answer is back.
     */
    @Test
    void anAnswerDroppedForMaxEntriesThenFlushedComesBackAfterARestart() throws Exception {
        open(2, 1 << 20);
        store.put(key(1), entry("m", 100, LATER));
        store.put(key(2), entry("m", 100, LATER));
        store.put(key(3), entry("m", 100, LATER)); // key 1 dropped for max_entries
        assertNull(store.get(key(1), 0));
        assertEquals(2, store.remove(e -> true)); // flush everything
        assertEquals(0, store.entries());
        reopen(2, 1 << 20);
        assertNull(store.get(key(1), 0), "an answer flushed (all of the cache) is served again after a restart");
        assertEquals(0, store.entries());
    }

    /**
     * A SKIP record writes only its 32-byte header: the records it "evicts" in the rest of the chunk
     * stay intact behind it. Once a later record overwrites the SKIP's header (ending before such a
     * record), a restart's scan finds the old record again, although its tombstone was overwritten
     * long ago: a flushed answer is served again.
     */
    @Test
    void aRecordHiddenBehindASkipComesBackAfterItsTombstoneWasOverwritten() throws Exception {
        open(1_000, 4096); // one 4 KiB chunk
        store.put(key(100), sized("a", 3000));      // A [0, 3000)
        store.put(key(4), sized("victim", 512));    // D [3000, 3512)
        store.put(key(101), sized("x", 584));       // X [3512, 4096); head back to 0
        assertEquals(1, store.remove(e -> e.model().equals("victim"))); // tombstone [0, 96), A evicted
        assertNull(store.get(key(4), 0));
        store.put(key(102), sized("e", 2504));      // E [96, 2600)
        store.put(key(103), sized("f", 1600));      // no room: SKIP [2600, 4096) (D's bytes stay), F [0, 1600) over the tombstone
        store.put(key(104), sized("g", 1000));      // G [1600, 2600)
        store.put(key(105), sized("h", 400));       // H [2600, 3000): over the SKIP's header, ending where D starts
        assertNull(store.get(key(4), 0), "flushed");
        reopen(1_000, 4096);
        assertNull(store.get(key(4), 0), "the flushed answer is back after a restart");
    }

    /**
     * A start loads answers that expired (and were dropped when read) and counts them against
     * max_entries: live answers are evicted to make room for expired ones.
     */
    @Test
    void aRestartEvictsALiveAnswerToKeepAnExpiredOne() throws Exception {
        open(2, 1 << 20);
        store.put(key(1), entry("m", 100, LATER));
        store.put(key(2), entry("m", 100, 100));   // expires at 100
        assertNull(store.get(key(2), 200));          // read after expiry: dropped
        store.put(key(3), entry("m", 100, LATER));
        assertEquals(2, store.entries());
        reopen(2, 1 << 20);
        assertNotNull(store.get(key(1), 200), "a live answer within max_entries lost at a restart");
        assertNotNull(store.get(key(3), 200));
    }
}
