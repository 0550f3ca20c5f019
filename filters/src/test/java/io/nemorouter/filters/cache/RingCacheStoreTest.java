package io.nemorouter.filters.cache;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ring file: stores, the ring coming round, both bounds, restarts, flushes, damage, and reads racing the writer. */
class RingCacheStoreTest {
    private Path dir;
    private RingCacheStore store;

    @AfterEach
    void cleanUp() throws Exception {
        StoreDirs.closeAndDelete(store, dir);
    }

    private static String key(int i) {
        return String.format("%064x", i);
    }

    private static CacheEntry entry(int i, int size, long expires) {
        byte[] body = ("{\"answer\":" + i + ",\"pad\":\"" + "p".repeat(Math.max(0, size - 30)) + "\"}").getBytes(StandardCharsets.UTF_8);
        return new CacheEntry(i % 2 == 0 ? "org:a" : "org:b", i % 3 == 0 ? "m3" : "m", null, 1_000 + i, expires, false,
                "application/json", 10, 5, 0, 0.01, body);
    }

    private static final long LATER = Long.MAX_VALUE / 2;

    private RingCacheStore open(long maxEntries, long maxBytes) throws Exception {
        if (dir == null) {
            dir = Files.createTempDirectory("nemo-ring");
        }
        store = RingCacheStore.open(dir, maxEntries, maxBytes);
        return store;
    }

    private void reopen(long maxEntries, long maxBytes) throws Exception {
        store.close();
        store = null;
        open(maxEntries, maxBytes);
    }

    @Test
    void anAnswerStoredIsReadBackWholeAndAnExpiredOneIsNot() throws Exception {
        open(100, 1 << 20);
        CacheEntry e = entry(1, 500, 5_000);
        store.put(key(1), e);
        CacheEntry got = store.get(key(1), 4_999);
        assertNotNull(got);
        assertArrayEquals(e.body(), got.body());
        assertEquals(e.scope(), got.scope());
        assertEquals(e.cost(), got.cost());
        assertNull(store.get(key(2), 0), "never stored");
        assertNull(store.get(key(1), 5_000), "expired");
        assertEquals(0, store.entries(), "an expired answer read is dropped");
    }

    @Test
    void theRingComingRoundEvictsTheOldestAndARestartKeepsWhatItHeld() throws Exception {
        open(100_000, 64 << 10); // 64 KiB: about 100 answers of 500 bytes
        for (int i = 0; i < 1_000; i++) {
            store.put(key(i), entry(i, 500, LATER));
        }
        long held = store.entries();
        assertTrue(held > 50 && held < 130, "the ring holds what fits: " + held);
        assertTrue(store.bytes() <= 64 << 10, "within max_bytes: " + store.bytes());
        for (int i = 0; i < 1_000; i++) {
            CacheEntry got = store.get(key(i), 0);
            if (i >= 1_000 - held) {
                assertNotNull(got, "the newest are kept: " + i);
                assertTrue(new String(got.body(), StandardCharsets.UTF_8).startsWith("{\"answer\":" + i + ","));
            } else {
                assertNull(got, "the oldest went first: " + i);
            }
        }
        long bytes = store.bytes();
        reopen(100_000, 64 << 10);
        assertEquals(held, store.entries(), "the same answers after a restart");
        assertEquals(bytes, store.bytes());
        for (int i = (int) (1_000 - held); i < 1_000; i++) {
            assertNotNull(store.get(key(i), 0), "kept across the restart: " + i);
        }
        // and it goes on from where it was: the next stores evict the oldest, not the newest
        for (int i = 1_000; i < 1_010; i++) {
            store.put(key(i), entry(i, 500, LATER));
        }
        assertNotNull(store.get(key(999), 0));
        assertNotNull(store.get(key(1_009), 0));
        assertNull(store.get(key((int) (1_000 - held)), 0), "the oldest of before the restart went first");
    }

    @Test
    void maxEntriesEvictsTheOldestAndHoldsAcrossARestart() throws Exception {
        open(10, 1 << 20);
        for (int i = 0; i < 25; i++) {
            store.put(key(i), entry(i, 200, LATER));
        }
        assertEquals(10, store.entries());
        assertNull(store.get(key(14), 0));
        assertNotNull(store.get(key(15), 0));
        reopen(10, 1 << 20);
        assertEquals(10, store.entries(), "answers dropped for the bound do not come back from their records");
        assertNull(store.get(key(14), 0));
        assertNotNull(store.get(key(24), 0));
    }

    @Test
    void everyAnswerHeldIsFoundAfterTheKeyFilterWasBuiltAnewManyTimes() throws Exception {
        open(1_000, 16 << 20);
        for (int i = 0; i < 12_000; i++) { // the filter is built anew every 2,048 stores
            store.put(key(i), entry(i, 100, LATER));
        }
        store.put(key(3), entry(3, 100, LATER)); // evicted long ago, stored again
        for (int i = 11_001; i < 12_000; i++) {
            assertNotNull(store.get(key(i), 0), "held: " + i);
        }
        assertNotNull(store.get(key(3), 0), "stored again after its eviction");
        assertNull(store.get(key(10_000), 0), "evicted");
        reopen(1_000, 16 << 20);
        for (int i = 11_001; i < 12_000; i++) {
            assertNotNull(store.get(key(i), 0), "held across a restart: " + i);
        }
        assertNotNull(store.get(key(3), 0));
    }

    @Test
    void aFlushHoldsAcrossARestartAndAReplacedAnswerStaysReplaced() throws Exception {
        open(1_000, 1 << 20);
        for (int i = 0; i < 30; i++) {
            store.put(key(i), entry(i, 300, LATER));
        }
        store.put(key(7), entry(1_007, 100, LATER)); // key 7 refreshed with another answer
        int flushed = store.remove(e -> e.scope().equals("org:a"));
        assertEquals(15, flushed, "org:a's answers (the even ones)");
        assertEquals(15, store.entries());
        reopen(1_000, 1 << 20);
        assertEquals(15, store.entries(), "the flushed answers do not come back");
        assertNull(store.get(key(0), 0));
        assertNotNull(store.get(key(1), 0));
        assertTrue(new String(store.get(key(7), 0).body(), StandardCharsets.UTF_8).startsWith("{\"answer\":1007,"),
                "the refreshed answer, not the one it replaced");
    }

    @Test
    void aDamagedRecordIsSkippedAtAStartAndTheOthersAreKept() throws Exception {
        open(1_000, 1 << 20);
        for (int i = 0; i < 20; i++) {
            store.put(key(i), entry(i, 400, LATER));
        }
        store.close();
        store = null;
        // a byte of the fifth record's answer flipped (a torn write, a bad sector): its CRC no longer holds
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("cache.ring").toFile(), "rw")) {
            long at = 4096 + 4 * RingCacheStore.HEADER + 4 * (64 + 400) + 200; // well inside record 4 (records are about 500 bytes)
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0xff);
        }
        open(1_000, 1 << 20);
        assertEquals(19, store.entries(), "one record lost, the rest kept");
        int missing = 0;
        for (int i = 0; i < 20; i++) {
            missing += store.get(key(i), 0) == null ? 1 : 0;
        }
        assertEquals(1, missing);
    }

    /**
     * A read finds an answer's place in the index, then copies its record: if the writer overwrote
     * the record in between (the ring came round), the copy is another record's bytes, and must read
     * as a miss, never as that other answer.
     */
    @Test
    void aRecordOverwrittenAfterItsPlaceWasLookedUpReadsAsAMiss() throws Exception {
        open(100_000, 32 << 10);
        store.put(key(0), entry(0, 400, LATER));
        var indexField = RingCacheStore.class.getDeclaredField("index");
        indexField.setAccessible(true);
        Object place = ((java.util.Map<?, ?>) indexField.get(store)).get(key(0));
        var read = RingCacheStore.class.getDeclaredMethod("read", String.class, place.getClass());
        read.setAccessible(true);
        assertNotNull(read.invoke(store, key(0), place), "read while its record is there");
        for (int round = 0; round < 200; round++) { // the ring comes round: other answers where key 0's record was
            for (int i = 1; i < 100; i++) {
                store.put(key(i), entry(i, 400 + round, LATER));
            }
            if (read.invoke(store, key(0), place) != null) {
                throw new AssertionError("round " + round + ": a record overwritten by others read as key 0's answer");
            }
        }
        assertNull(store.get(key(0), 0));
    }

    /** A max_bytes of 1.5 GiB (past one mapped chunk) is a ring of 1.5 GiB, in two chunks: not rounded down to one. */
    @Test
    void aRingPastOneChunkIsAsLongAsMaxBytes() throws Exception {
        long max = 3L << 29; // 1.5 GiB: the file is sparse, nothing is written but what is stored
        open(100, max);
        var f = RingCacheStore.class.getDeclaredField("capacity");
        f.setAccessible(true);
        assertEquals(max, (long) f.get(store));
        for (int i = 0; i < 10; i++) {
            store.put(key(i), entry(i, 500, LATER));
        }
        reopen(100, max);
        assertEquals(10, store.entries());
    }
}
