package io.nemorouter.filters.cache;

import io.nemorouter.filters.store.ChronicleFiles;
import io.nemorouter.filters.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.zip.CRC32C;

/**
 * The response cache in one memory-mapped ring file ({@code cache.ring} under the data directory),
 * {@code max_bytes} long: answers are appended in the order they are stored, and the oldest are
 * overwritten when the ring comes round (the cache's eviction order is its file's order), so a
 * store is an append and a few map updates, not a hash-table insert and a removal (a Chronicle
 * Map took 9 µs of the writer's time per store once full). An on-heap index (about 100 bytes an
 * answer) says where each key's answer is; a miss is answered from it alone.
 *
 * <p>Each record carries a sequence number and a CRC-32C of itself: a start reads the whole ring
 * and keeps the valid records, the latest for each key, so what a killed process had written (it
 * is in the page cache) is there after it, and a record cut short by the kill is skipped. A flush
 * writes a tombstone for each answer it removes, so a restart does not bring them back. Reads
 * (on the event loops) copy a record and check its sequence and CRC, so one the writer is
 * overwriting at that moment reads as a miss. Stores, evictions and flushes are the writer
 * thread's ({@link CacheWriter}); reads are lock-free.
 */
final class RingCacheStore implements CacheStore {
    private static final Logger LOG = LoggerFactory.getLogger(RingCacheStore.class);
    /** The file's first page: what it is, and the ring's size (another size starts a new ring). */
    private static final int FILE_HEADER = 4096;
    private static final long FILE_MAGIC = 0x4e454d4f52494e47L; // "NEMORING"
    private static final int FILE_VERSION = 1;
    /** A record: magic, length, CRC, kind, key length, value length, sequence; then key and value, padded to 8. */
    static final int HEADER = 32;
    private static final int RECORD_MAGIC = 0x4e4d4331; // "NMC1"
    private static final byte ENTRY = 1;
    private static final byte TOMBSTONE = 2;
    /** Marks the unused end of a chunk: the next record starts at the next chunk (or the ring's start). */
    private static final byte SKIP = 3;
    /** Where the file's first page keeps how far into the ring records have ever been written (a start reads no further). */
    private static final int HIGH_WATER_AT = 64;
    /** A mapped buffer holds at most 2 GiB: a larger ring is mapped in chunks, and no record crosses one's end. */
    static final int MAX_CHUNK = 1 << 30;

    /** Where an answer is: its record, its sequence number, and when it expires. */
    private record Loc(long offset, int length, long seq, long expires, int valueLength) {
    }

    /** An answer's record in the ring, oldest first: what eviction needs (some replaced or removed since, until compacted). */
    private record Written(String key, Loc loc) {
    }

    private final Path file;
    private final FileChannel channel;
    private final ChronicleFiles.Claim claim;
    private final MappedByteBuffer[] chunks;
    /** The file's first page, mapped: {@link #HIGH_WATER_AT}. */
    private final MappedByteBuffer fileHeader;
    /** The writer's: how far records have ever been written; the ring's length once it has come round. */
    private long highWater;
    private final long chunkSize;
    private final long capacity;
    private final long maxEntries;
    /** The cache's clock (the filter's): answers expired by it are not loaded at a start. */
    private final java.util.function.LongSupplier clock;
    private final ConcurrentHashMap<String, Loc> index = new ConcurrentHashMap<>();
    /** The keys the index may hold: a miss is answered without probing it. Built anew by the writer (see {@link KeyFilter}). */
    private volatile KeyFilter filter;
    private final AtomicLong liveBytes = new AtomicLong();
    /** The writer's: the answers' records not yet overwritten, in the order written (the ring's, from the head on). */
    private final ArrayDeque<Written> ring = new ArrayDeque<>();
    /** The writer's: where the next record goes, and its sequence number. */
    private long head;
    private long seq = 1;

    private RingCacheStore(Path file, FileChannel channel, ChronicleFiles.Claim claim, MappedByteBuffer fileHeader, MappedByteBuffer[] chunks,
                           long chunkSize,
                           long capacity, long maxEntries, java.util.function.LongSupplier clock) {
        this.file = file;
        this.channel = channel;
        this.claim = claim;
        this.chunks = chunks;
        this.fileHeader = fileHeader;
        this.highWater = Math.min(capacity, Math.max(0, fileHeader.getLong(HIGH_WATER_AT)));
        this.chunkSize = chunkSize;
        this.capacity = capacity;
        this.maxEntries = maxEntries;
        this.clock = clock;
        this.filter = new KeyFilter(maxEntries);
    }

    /** Opens (or creates) the ring in {@code dir}: {@code maxBytes} of answers, at most {@code maxEntries} of them. */
    static RingCacheStore open(Path dir, long maxEntries, long maxBytes) {
        return open(dir, maxEntries, maxBytes, System::currentTimeMillis);
    }

    /** As above, answers expired by {@code clock} (epoch milliseconds) left out at a start. */
    static RingCacheStore open(Path dir, long maxEntries, long maxBytes, java.util.function.LongSupplier clock) {
        ChronicleFiles.Claim claim = ChronicleFiles.Claim.take(dir, "cache");
        FileChannel channel = null;
        try {
            // as few chunks as hold max_bytes, of one size: the ring is max_bytes long (rounded up to 8 bytes a chunk)
            long chunks = (align(maxBytes) + MAX_CHUNK - 1) / MAX_CHUNK;
            long chunk = align((align(maxBytes) + chunks - 1) / chunks);
            long capacity = chunk * chunks;
            Path file = dir.resolve("cache.ring");
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            boolean fresh = !sameRing(channel, capacity);
            if (fresh) {
                if (channel.size() > 0) {
                    LOG.info("cache: sized anew ({} bytes): starting empty", capacity);
                }
                channel.truncate(0);
                java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(FILE_HEADER).order(ByteOrder.LITTLE_ENDIAN);
                header.putLong(FILE_MAGIC).putInt(FILE_VERSION).putLong(capacity).putLong(chunk).flip();
                channel.write(header, 0);
            }
            MappedByteBuffer[] mapped = new MappedByteBuffer[(int) chunks];
            for (int i = 0; i < mapped.length; i++) {
                mapped[i] = channel.map(FileChannel.MapMode.READ_WRITE, FILE_HEADER + i * chunk, chunk);
                mapped[i].order(ByteOrder.LITTLE_ENDIAN);
            }
            MappedByteBuffer fileHeader = channel.map(FileChannel.MapMode.READ_WRITE, 0, FILE_HEADER);
            fileHeader.order(ByteOrder.LITTLE_ENDIAN);
            claim.opened();
            RingCacheStore store = new RingCacheStore(file, channel, claim, fileHeader, mapped, chunk, capacity, maxEntries, clock);
            if (!fresh) {
                store.load();
            }
            Files.deleteIfExists(dir.resolve("cache.dat")); // the Chronicle Map file earlier builds kept answers in
            Files.deleteIfExists(dir.resolve("cache.size"));
            return store;
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                ChronicleFiles.closeQuietly(channel);
            }
            claim.abandon();
            throw e instanceof StoreException se ? se : new StoreException(dir + ": " + e.getMessage(), e);
        }
    }

    /** The mapped chunk that holds ring offset {@code offset}. */
    private MappedByteBuffer chunkOf(long offset) {
        return chunks[(int) (offset / chunkSize)];
    }

    /** Where ring offset {@code offset} is within its chunk. */
    private int within(long offset) {
        return (int) (offset % chunkSize);
    }

    private static long align(long n) {
        return (n + 7) & ~7L;
    }

    /** Whether the file is a ring of this size already. */
    private static boolean sameRing(FileChannel channel, long capacity) throws IOException {
        if (channel.size() < FILE_HEADER) {
            return false;
        }
        java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        channel.read(header, 0);
        header.flip();
        return header.getLong() == FILE_MAGIC && header.getInt() == FILE_VERSION && header.getLong() == capacity;
    }

    // ---- reading (any thread) ---------------------------------------------------------------

    @Override
    public CacheEntry get(String key, long nowMillis) {
        if (!filter.mightHold(key)) {
            return null;
        }
        Loc loc = index.get(key);
        if (loc == null) {
            return null;
        }
        if (loc.expires() <= nowMillis) {
            if (index.remove(key, loc)) { // its record stays until the ring comes round; it is expired after a restart too
                liveBytes.addAndGet(-loc.valueLength());
            }
            return null;
        }
        byte[] value = read(key, loc);
        return value == null ? null : CacheEntry.decode(value);
    }

    /** The value of {@code key}'s record at {@code loc}, or null when it is not there whole (overwritten meanwhile). */
    private byte[] read(String key, Loc loc) {
        MappedByteBuffer chunk = chunkOf(loc.offset());
        int at = within(loc.offset());
        byte[] head = new byte[HEADER + key.length()];
        chunk.get(at, head, 0, head.length);
        byte[] value = new byte[loc.valueLength()];
        chunk.get(at + head.length, value, 0, value.length);
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        if (h.getInt(0) != RECORD_MAGIC || h.getLong(24) != loc.seq() || h.getInt(8) != crc(head, value)) {
            return null;
        }
        return value;
    }

    /** The CRC of a record: its header but the magic and the CRC itself, its key and value. */
    private static int crc(byte[] head, byte[] value) {
        CRC32C crc = new CRC32C();
        crc.update(head, 4, 4); // the length: a damaged one would hide the records after it at a start
        crc.update(head, 12, head.length - 12);
        crc.update(value, 0, value.length);
        return (int) crc.getValue();
    }

    // ---- writing (the writer thread) --------------------------------------------------------

    @Override
    public synchronized void put(String key, CacheEntry entry) {
        byte[] value = entry.encode();
        int length = (int) align(HEADER + key.length() + value.length);
        if (length > chunkSize) {
            return; // larger than the ring (max_entry_size is checked against max_bytes; this is the last guard)
        }
        Loc loc = append(key, ENTRY, value, length, entry.expiresMillis());
        ring.addLast(new Written(key, loc));
        filter.add(key); // before the index: a reader that finds the entry finds its bits
        Loc old = index.put(key, loc);
        liveBytes.addAndGet(value.length - (old == null ? 0 : old.valueLength()));
        if (ring.size() > 2 * index.size() + 64) {
            compact();
        }
        while (index.size() > maxEntries) {
            if (!evictOldest()) {
                break;
            }
        }
        if (filter.stale()) {
            rebuildFilter();
        }
    }

    /** A filter of the keys the index holds now, without those evicted or removed since the last. */
    private void rebuildFilter() {
        KeyFilter fresh = new KeyFilter(maxEntries);
        index.keySet().forEach(fresh::add);
        filter = fresh; // published whole; no key is added meanwhile (stores are this thread's, under this lock)
    }

    /** Writes a record at the head (overwriting, and so evicting, the oldest there); where it is. */
    private Loc append(String key, byte kind, byte[] value, int length, long expires) {
        if (head % chunkSize + length > chunkSize) { // not in what is left of this chunk: mark the rest unused, go on to the next
            long rest = chunkSize - head % chunkSize;
            makeRoom(head, rest);
            if (rest >= HEADER) {
                write(head, SKIP, "", new byte[0], (int) rest, seq++);
            }
            // and what was there goes: a record left whole behind the marker would come back at a start once the
            // marker itself is overwritten (after the records that replaced or flushed it had gone round)
            zero(head + Math.min(rest, HEADER), head + rest);
            head = (head + rest) % capacity;
        }
        makeRoom(head, length);
        long s = seq++;
        long offset = head;
        write(offset, kind, key, value, length, s);
        head = (head + length) % capacity;
        return new Loc(offset, length, s, expires, value.length);
    }

    /** Evicts the records that [{@code from}, {@code from + length}) would overwrite: the oldest, as the ring comes round. */
    private void makeRoom(long from, long length) {
        while (!ring.isEmpty()) {
            Written oldest = ring.peekFirst();
            if (oldest.loc().offset() >= from + length || oldest.loc().offset() + oldest.loc().length() <= from) {
                return;
            }
            ring.pollFirst();
            forget(oldest);
        }
    }

    /** {@code w}'s record is going: its key no longer points at it (when it still did). */
    private void forget(Written w) {
        if (index.remove(w.key(), w.loc())) {
            liveBytes.addAndGet(-w.loc().valueLength());
        }
    }

    /**
     * Keeps in {@link #ring} only the records that are their key's answer now: one replaced (a hot
     * key refreshed over and over) or removed needs no eviction when the ring comes round, and would
     * otherwise hold a place on the heap until then.
     */
    private void compact() {
        ring.removeIf(w -> !w.loc().equals(index.get(w.key())));
    }

    /**
     * Drops the oldest answer (past max_entries); false when there is none. Its record is unmade
     * (its magic zeroed): a flush would not know of it, and a start must not bring it back.
     */
    private boolean evictOldest() {
        while (!ring.isEmpty()) {
            Written w = ring.pollFirst();
            if (w.loc().equals(index.get(w.key()))) {
                forget(w);
                zero(w.loc().offset(), w.loc().offset() + 8);
                return true;
            }
        }
        return false;
    }

    /** Zeroes [{@code from}, {@code to}) of one chunk (8-byte aligned). */
    private void zero(long from, long to) {
        if (from >= to) {
            return; // (from may be the chunk's end, which is the next chunk's start)
        }
        MappedByteBuffer chunk = chunkOf(from);
        for (long at = from; at < to; at += 8) {
            chunk.putLong(within(at), 0);
        }
    }

    private void write(long offset, byte kind, String key, byte[] value, int length, long s) {
        if (offset + length > highWater) { // before the record: a start reads as far as any record may be
            highWater = offset + length;
            fileHeader.putLong(HIGH_WATER_AT, highWater);
        }
        MappedByteBuffer chunk = chunkOf(offset);
        int at = within(offset);
        byte[] head = new byte[HEADER + key.length()];
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(4, length).put(12, kind).putShort(14, (short) key.length()).putInt(16, value.length).putLong(24, s);
        key.getBytes(0, key.length(), head, HEADER); // keys are hex: one byte a character
        h.putInt(8, crc(head, kind == SKIP ? new byte[0] : value));
        chunk.putInt(at, 0); // not a record until the end: a reader or a restart never takes it half-written
        chunk.put(at + 4, head, 4, head.length - 4);
        chunk.put(at + head.length, value, 0, value.length);
        chunk.putInt(at, RECORD_MAGIC);
    }

    @Override
    public synchronized int remove(Predicate<CacheEntry> which) {
        List<String> gone = new ArrayList<>();
        for (var e : index.entrySet()) {
            byte[] value = read(e.getKey(), e.getValue());
            CacheEntry entry = value == null ? null : CacheEntry.decode(value);
            if (entry == null || which.test(entry)) {
                gone.add(e.getKey());
            }
        }
        int n = 0;
        for (String key : gone) {
            Loc loc = index.get(key);
            if (loc != null && index.remove(key, loc)) {
                liveBytes.addAndGet(-loc.valueLength());
                // a tombstone, so that a restart does not bring the answer back from its record
                append(key, TOMBSTONE, new byte[0], (int) align(HEADER + key.length()), Long.MIN_VALUE);
                n++;
            }
        }
        compact();
        return n;
    }

    // ---- the start --------------------------------------------------------------------------

    /** A valid record found in the ring at a start; {@code expires}: an answer's ({@link Long#MIN_VALUE} when not one, or unreadable). */
    private record Found(String key, byte kind, long offset, int length, long seq, int valueLength, long expires) {
    }

    /** Reads the ring: the valid records, oldest first, make the index (the latest for each key wins) and the eviction order. */
    private void load() {
        List<Found> found = new ArrayList<>();
        for (long offset = 0; offset + HEADER <= highWater; ) { // (never further than records were written: a large ring is sparse)
            Found f = scan(offset);
            if (f == null) {
                offset += 8; // not a record (never written, or cut short): look further
            } else {
                found.add(f);
                offset += f.length();
            }
        }
        found.sort(Comparator.comparingLong(Found::seq));
        long now = clock.getAsLong();
        for (Found f : found) {
            if (f.kind() == ENTRY && f.expires() > now) { // (one expired and dropped when read left its record)
                Loc loc = new Loc(f.offset(), f.length(), f.seq(), f.expires(), f.valueLength());
                Loc old = index.put(f.key(), loc);
                liveBytes.addAndGet(f.valueLength() - (old == null ? 0 : old.valueLength()));
                ring.addLast(new Written(f.key(), loc));
                continue;
            }
            Loc old = f.kind() == SKIP ? null : index.remove(f.key());
            if (old != null) {
                liveBytes.addAndGet(-old.valueLength()); // a tombstone removes the answers before it
            }
        }
        if (!found.isEmpty()) {
            Found last = found.get(found.size() - 1);
            head = (last.offset() + last.length()) % capacity;
            seq = last.seq() + 1;
            // the records after the head are the oldest; the eviction order starts with them
            rotate(head);
            compact();
        }
        while (index.size() > maxEntries && evictOldest()) {
            // answers dropped past max_entries before the restart come back from their records: dropped again, oldest first
        }
        rebuildFilter(); // the answers kept from before
        if (!index.isEmpty()) {
            LOG.info("cache: {} answers ({} bytes) kept from before", index.size(), liveBytes.get());
        }
    }

    /** Orders {@link #ring} as the ring comes round from {@code from}: records from there to the end first, then from the start. */
    private void rotate(long from) {
        List<Written> all = new ArrayList<>(ring);
        all.sort(Comparator.comparingLong((Written w) -> w.loc().offset() >= from ? 0 : 1).thenComparingLong(w -> w.loc().offset()));
        ring.clear();
        ring.addAll(all);
    }

    /** The valid record at {@code offset}, or null. */
    private Found scan(long offset) {
        MappedByteBuffer chunk = chunkOf(offset);
        int at = within(offset);
        if (at + HEADER > chunkSize || chunk.getInt(at) != RECORD_MAGIC) {
            return null;
        }
        int length = chunk.getInt(at + 4);
        byte kind = chunk.get(at + 12);
        int keyLength = chunk.getShort(at + 14);
        int valueLength = chunk.getInt(at + 16);
        if (length < HEADER || at + (long) length > chunkSize || length % 8 != 0 || keyLength < 0 || valueLength < 0
                || (kind != SKIP && HEADER + keyLength + valueLength > length) || kind < ENTRY || kind > SKIP) {
            return null;
        }
        byte[] head = new byte[HEADER + (kind == SKIP ? 0 : keyLength)];
        chunk.get(at, head);
        byte[] value = new byte[kind == SKIP ? 0 : valueLength];
        chunk.get(at + head.length, value);
        if (chunk.getInt(at + 8) != crc(head, value)) {
            return null;
        }
        long s = chunk.getLong(at + 24);
        String key = kind == SKIP ? "" : new String(head, HEADER, keyLength, StandardCharsets.ISO_8859_1);
        CacheEntry entry = kind == ENTRY ? CacheEntry.decode(value) : null;
        return new Found(key, kind, offset, length, s, valueLength, entry == null ? Long.MIN_VALUE : entry.expiresMillis());
    }

    // ---- the rest ---------------------------------------------------------------------------

    @Override
    public long entries() {
        return index.size();
    }

    @Override
    public long bytes() {
        return liveBytes.get();
    }

    @Override
    public synchronized void close() {
        for (MappedByteBuffer chunk : chunks) {
            chunk.force();
        }
        fileHeader.force();
        ChronicleFiles.closeQuietly(channel);
        claim.close();
    }

    @Override
    public String toString() {
        return "cache ring " + file + " (" + capacity + " bytes)";
    }
}
