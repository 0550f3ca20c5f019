package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Review of the cache key and the store: cases where the code and the README's spec part. */
class CacheKeyReviewTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Path dir;
    private ChronicleCacheStore store;

    @AfterEach
    void cleanUp() throws Exception {
        if (store != null) {
            store.close();
        }
        if (dir != null) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String bytesKey(String body) {
        return CacheKey.of("org:a", "/v1/chat/completions", "m", Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * README: "numbers by value (0.7, 0.70, 7e-1)". An integral value from 1e18 up to Long.MAX_VALUE
     * gets two keys: written as an integer it is kept as its digits ("1000000000000000000"), written as
     * a decimal it goes through byValue -> decimal(), whose long form stops at 18 digits ("1E+18").
     * (1e19 and 10000000000000000000 do share a key, as do 1e17 and 100000000000000000.)
     */
    @Test
    void anIntegralNumberFrom1e18IsOneValueWhateverItsForm() throws Exception {
        assertEquals(bytesKey("{\"seed\":100000000000000000}"), bytesKey("{\"seed\":1e17}"), "1e17: one key (control)");
        assertEquals(bytesKey("{\"seed\":10000000000000000000}"), bytesKey("{\"seed\":1e19}"), "1e19: one key (control)");
        assertEquals(CacheKey.canonical(JSON.readTree("{\"seed\":1000000000000000000}")),
                CacheKey.canonical(JSON.readTree("{\"seed\":1e18}")), "canonical text of one value");
        assertEquals(bytesKey("{\"seed\":1000000000000000000}"), bytesKey("{\"seed\":1e18}"), "1e18: one value, one key");
    }

    /**
     * ChronicleCacheStore.evictOne trusts that a slot whose creation time matches the present entry's
     * is that entry's slot, and subtracts the slot's size. When one key is stored twice within one
     * millisecond (two identical requests landing together, e.g. followers past coalesce_max_waiters,
     * or a nemo_cache:false refresh) with answers of different sizes, the first (stale) slot matches,
     * removes the second entry and subtracts the first entry's size: bytes() drifts for good, and the
     * max_bytes bound then evicts too much (or too little).
     */
    @Test
    void evictingAKeyStoredTwiceInOneMillisecondKeepsTheByteCountTrue() throws Exception {
        dir = Files.createTempDirectory("nemo-cache-review");
        store = ChronicleCacheStore.open(dir, 10, 64L << 20, 512);
        String hot = "h".repeat(64);
        store.put(hot, entry(1_000, "{\"x\":1}"));
        store.put(hot, entry(1_000, "{\"x\":\"" + "y".repeat(5_000) + "\"}")); // same key, same millisecond, another answer
        CacheEntry small = entry(2_000, "{\"x\":2}");
        for (int i = 0; i < 20; i++) {
            store.put(String.format("%064d", i), entry(2_000 + i, "{\"x\":2}"));
        }
        assertEquals(10, store.entries());
        assertEquals(store.entries() * small.encode().length, store.bytes(),
                "bytes() is the sum of the entries left (all the same size)");
    }

    private static CacheEntry entry(long created, String body) {
        return new CacheEntry("master", "m", null, created, created + 3_600_000, false, "application/json", 1, 1, 0, 0,
                body.getBytes(StandardCharsets.UTF_8));
    }
}
