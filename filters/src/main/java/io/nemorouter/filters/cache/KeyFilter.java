package io.nemorouter.filters.cache;

/**
 * Which keys the ring may hold: two bits a key in an array of about 16 bits an answer (64 KiB for
 * the default 20,000), so a miss, nearly every lookup of a cache that mostly misses, is answered
 * by two bits read instead of a probe of the index (a hash table of every stored key, megabytes of
 * nodes, keys and locations: two or three cache misses on a cold event loop). "Absent" is certain;
 * "present" is checked in the index. Bits are set by the one writer thread, before the index entry
 * they cover (a reader that finds the entry finds its bits); a removed or evicted key keeps its
 * bits until the writer builds the filter anew from the index, once twice as many keys have been
 * added as the ring holds, so false "present"s stay around 1-2%.
 */
final class KeyFilter {
    /** Golden-ratio multiplier: spreads a string's 32-bit hash over 64 bits, two positions from its two halves. */
    private static final long SPREAD = 0x9E3779B97F4A7C15L;
    private final int mask;
    private final long[] bits;
    /** Adds after which the filter is {@link #stale}: twice the ring's bound (half of them gone, in a ring that is full). */
    private final long staleAfter;
    private long added;

    /** For up to {@code maxEntries} keys: about 16 bits each, a power of two, at least 64 Ki bits. */
    KeyFilter(long maxEntries) {
        long wanted = Math.max(1L << 16, Math.min(1L << 30, maxEntries * 16));
        int size = (int) Long.highestOneBit(wanted - 1) << 1;
        this.mask = size - 1;
        this.bits = new long[size >>> 6];
        this.staleAfter = 2 * Math.max(maxEntries, 1024);
    }

    /** Whether {@code key} may have been added (false: certainly not). Any thread. */
    boolean mightHold(String key) {
        long h = key.hashCode() * SPREAD;
        int a = (int) h & mask;
        int b = (int) (h >>> 32) & mask;
        return (bits[a >>> 6] & (1L << a)) != 0 && (bits[b >>> 6] & (1L << b)) != 0;
    }

    /** Adds {@code key}. The writer's only. */
    void add(String key) {
        long h = key.hashCode() * SPREAD;
        int a = (int) h & mask;
        int b = (int) (h >>> 32) & mask;
        bits[a >>> 6] |= 1L << a;
        bits[b >>> 6] |= 1L << b;
        added++;
    }

    /** Whether enough keys have been added since it was built that it is time to build it anew from the index. */
    boolean stale() {
        return added >= staleAfter;
    }
}
