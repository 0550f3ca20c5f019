package io.nemorouter.filters.cache;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ring's filter of keys: never "absent" for a key added, rarely "present" for one that was not. */
class KeyFilterTest {
    private static String key(int i) {
        return String.format("%064x", (long) i * 0x9E3779B97F4A7C15L);
    }

    @Test
    void everyKeyAddedIsPresentAndFewOthersAre() {
        KeyFilter f = new KeyFilter(20_000);
        for (int i = 0; i < 40_000; i++) { // as many as it takes before it is built anew: its fullest
            f.add(key(i));
        }
        for (int i = 0; i < 40_000; i++) {
            assertTrue(f.mightHold(key(i)), "added: " + i);
        }
        int falsePresent = 0;
        for (int i = 40_000; i < 140_000; i++) {
            if (f.mightHold(key(i))) {
                falsePresent++;
            }
        }
        assertTrue(falsePresent < 3_000, "under 3% of keys never added read as present: " + falsePresent);
    }

    @Test
    void itIsBuiltAnewOnceTwiceTheRingsKeysHaveBeenAdded() {
        KeyFilter f = new KeyFilter(2_000);
        for (int i = 0; i < 4_000; i++) {
            assertFalse(f.stale(), "after " + i);
            f.add(key(i));
        }
        assertTrue(f.stale());
        assertFalse(new KeyFilter(2_000).mightHold(key(1)), "an empty filter holds nothing");
    }

    @Test
    void itsSizeFollowsTheRingsBound() {
        // 16 bits an answer, a power of two: filled with its bound of keys, a filter of any size stays sparse
        for (long max : new long[] {10, 20_000, 1_000_000}) {
            KeyFilter f = new KeyFilter(max);
            int n = (int) Math.min(max, 200_000);
            for (int i = 0; i < n; i++) {
                f.add(key(i));
            }
            int falsePresent = 0;
            for (int i = n; i < n + 10_000; i++) {
                falsePresent += f.mightHold(key(i)) ? 1 : 0;
            }
            assertTrue(falsePresent < 100, max + ": " + falsePresent);
        }
    }
}
