package io.nemorouter.filters.keys.store;

import io.nemorouter.filters.store.ChronicleFiles;
import io.nemorouter.filters.store.StoreException;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The embedded store: two Chronicle Map files under the data directory, {@code keys-records.dat}
 * (keys, teams and organizations as JSON, by {@code key:<hash>}, {@code team:<id>}, {@code org:<id>})
 * and {@code keys-ledgers.dat} (each ledger's period and sums, twice: see {@link Slot}). Memory-mapped: a write is
 * in the page cache when the call returns, so a killed process loses nothing (the machine going
 * down is another matter: the kernel writes the pages back within seconds).
 *
 * <p>Chronicle's segment locks live in the mapped file, so a process killed inside a write leaves
 * one held, and the next process to touch that segment waits (about a minute) and fails. So the
 * store keeps {@code keys.open} while it is open and deletes it on close: a start that finds it
 * knows the last process died with the files open and opens them with {@code recoverPersistedTo}
 * (only then, as OpenHFT/Chronicle-Map#515 advises); a clean start uses {@code createPersistedTo},
 * falling back to recovery only if that fails. Recovery needs the files to itself, so an exclusive
 * lock on {@code keys.lock} keeps a second gateway off the same directory. A file that cannot be
 * opened either way stops start-up with its name. Both maps are sized to {@code entries} and
 * refuse to grow past it (recovery of a map grown past its size has lost entries, #251).
 */
public final class ChronicleKeyStore implements KeyStore {
    private static final Logger LOG = LoggerFactory.getLogger(ChronicleKeyStore.class);
    /** Records as JSON, as both stores keep them: nulls left out, members a later version added ignored. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();
    private static final String SAMPLE_ID = "key:" + "0".repeat(64);

    private final ChronicleMap<String, String> records;
    private final ChronicleMap<String, byte[]> ledgers;
    private final int entries;
    private final ChronicleFiles.Claim claim;

    private ChronicleKeyStore(ChronicleMap<String, String> records, ChronicleMap<String, byte[]> ledgers, int entries,
                              ChronicleFiles.Claim claim) {
        this.records = records;
        this.ledgers = ledgers;
        this.entries = entries;
        this.claim = claim;
    }

    /**
     * Opens (or creates) the store in {@code dir} for up to {@code entries} records and as many ledgers.
     *
     * @throws StoreException naming the file that cannot be opened
     */
    public static ChronicleKeyStore open(Path dir, int entries) {
        ChronicleFiles.Claim claim = ChronicleFiles.Claim.take(dir, "keys");
        boolean unclean = claim.unclean();
        if (unclean) {
            LOG.warn("{} was not closed cleanly (the last gateway was killed or crashed): recovering the key store", dir);
        }
        ChronicleMap<String, String> records = null;
        try {
            records = ChronicleFiles.openMap(dir.resolve("keys-records.dat"), unclean, () -> ChronicleMap.of(String.class, String.class)
                    .name("nemo-keys-records").entries(entries).averageKey(SAMPLE_ID)
                    .averageValueSize(700).maxBloatFactor(1.0));
            ChronicleMap<String, byte[]> spend = openLedgers(dir, unclean, entries);
            migrateOldLedgers(dir, unclean, entries, spend);
            claim.opened();
            return new ChronicleKeyStore(records, spend, entries, claim);
        } catch (IOException | RuntimeException e) {
            if (records != null) {
                records.close();
            }
            claim.abandon();
            throw e instanceof StoreException se ? se : new StoreException(dir + ": " + e.getMessage(), e);
        }
    }


    @Override
    public Map<String, KeyRecord> keys() {
        return read("key:", KeyRecord.class);
    }

    @Override
    public Map<String, TeamRecord> teams() {
        return read("team:", TeamRecord.class);
    }

    @Override
    public Map<String, OrgRecord> orgs() {
        return read("org:", OrgRecord.class);
    }

    private <T> Map<String, T> read(String prefix, Class<T> type) {
        Map<String, T> out = new HashMap<>();
        records.forEach((id, json) -> {
            if (id.startsWith(prefix)) {
                try {
                    out.put(id.substring(prefix.length()), JSON.readValue(json, type));
                } catch (IOException e) {
                    throw new StoreException("keys-records.dat: the record " + id + " is unreadable: " + e.getMessage(), e);
                }
            }
        });
        return out;
    }

    @Override
    public Map<String, SpendRecord> spend() {
        Map<String, Slot> newest = new HashMap<>();
        ledgers.forEach((id, bytes) -> {
            Slot slot = Slot.decode(bytes);
            int hash = id.lastIndexOf('#'); // the ledger's name, before its entry's suffix (see entry())
            if (slot != null && hash > 0) {
                newest.merge(id.substring(0, hash), slot, (a, b) -> a.seq >= b.seq ? a : b);
            }
        });
        Map<String, SpendRecord> out = new HashMap<>();
        newest.forEach((ledger, slot) -> out.put(ledger, slot.record));
        return out;
    }

    @Override
    public void putKey(KeyRecord key) {
        put("key:" + key.hash(), key);
    }

    @Override
    public void deleteKey(String hash) {
        records.remove("key:" + hash);
    }

    @Override
    public void putTeam(TeamRecord team) {
        put("team:" + team.id(), team);
    }

    @Override
    public void deleteTeam(String id) {
        records.remove("team:" + id);
    }

    @Override
    public void putOrg(OrgRecord org) {
        put("org:" + org.id(), org);
    }

    @Override
    public void deleteOrg(String id) {
        records.remove("org:" + id);
    }

    private void put(String id, Object record) {
        if (!records.containsKey(id) && records.size() >= entries) {
            throw new StoreException("the key store is full (" + entries + " records, nemo.keys.store_entries)", null);
        }
        try {
            records.put(id, JSON.writeValueAsString(record));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (IllegalArgumentException | IllegalStateException e) { // Chronicle: an entry too large, a segment full
            throw new StoreException("the key store cannot take the record " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void addSpend(String ledger, long start, long end, long nanoUsd) {
        synchronized (stripe(ledger)) {
            Slot last = newest(ledger);
            write(ledger, last, last == null ? new SpendRecord(start, end, nanoUsd, nanoUsd) : last.record.plus(start, end, nanoUsd));
        }
    }

    @Override
    public void setPeriod(String ledger, long start, long end) {
        synchronized (stripe(ledger)) {
            Slot last = newest(ledger);
            SpendRecord r = last == null ? new SpendRecord(start, end, 0, 0) : last.record;
            write(ledger, last, new SpendRecord(start, end, r.periodSpend(), r.totalSpend()));
        }
    }

    @Override
    public void deleteSpend(String ledger) {
        synchronized (stripe(ledger)) {
            ledgers.remove(entry(ledger, 0));
            ledgers.remove(entry(ledger, 1));
            written.remove(ledger);
        }
    }

    /*
     * Each ledger is two entries, "<ledger>#0" and "<ledger>#1", written in turn, each with a sequence
     * number and a CRC: a process killed in the middle of a write (its entry torn, which Chronicle's
     * recovery then drops) leaves the other entry, the ledger as it was one write before. With one
     * entry written in place, that kill lost the ledger's whole spend (KeysCrashTest caught it in CI).
     * Event loops settle the same team's or organization's ledger at once: a ledger's read and write
     * hold its stripe's lock, as Chronicle's compute held the segment's. What was last written is
     * kept on the heap too, so a write is one put, as it was.
     */
    private final Object[] stripes = newStripes();
    private final java.util.concurrent.ConcurrentHashMap<String, Slot> written = new java.util.concurrent.ConcurrentHashMap<>();

    private static Object[] newStripes() {
        Object[] s = new Object[64];
        for (int i = 0; i < s.length; i++) {
            s[i] = new Object();
        }
        return s;
    }

    private Object stripe(String ledger) {
        return stripes[ledger.hashCode() & (stripes.length - 1)];
    }

    /** The name of the ledger's entry that sequence number {@code seq} is written to: {@code <ledger>#0} or {@code #1}. */
    private static String entry(String ledger, long seq) {
        return ledger + (((seq & 1) == 0) ? "#0" : "#1");
    }

    /** The ledger's newest whole entry, or null when it has none. */
    private Slot newest(String ledger) {
        Slot known = written.get(ledger);
        if (known != null) {
            return known;
        }
        Slot a = Slot.decode(ledgers.get(entry(ledger, 0)));
        Slot b = Slot.decode(ledgers.get(entry(ledger, 1)));
        return a == null ? b : b == null ? a : a.seq >= b.seq ? a : b;
    }

    /** Writes {@code r} over the ledger's older entry (the one {@code last} is not). */
    private void write(String ledger, Slot last, SpendRecord r) {
        long seq = last == null ? 1 : last.seq + 1;
        ledgers.put(entry(ledger, seq), Slot.encode(r, seq));
        written.put(ledger, new Slot(r, seq));
    }

    /** One entry's bytes: the ledger's period and sums, its sequence number, and a CRC-32C of those 40 bytes. */
    static final int SLOT_BYTES = 48;

    record Slot(SpendRecord record, long seq) {
        static byte[] encode(SpendRecord r, long seq) {
            ByteBuffer b = ByteBuffer.allocate(SLOT_BYTES).putLong(r.periodStart()).putLong(r.periodEnd())
                    .putLong(r.periodSpend()).putLong(r.totalSpend()).putLong(seq);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(b.array(), 0, 40);
            return b.putLong(crc.getValue()).array();
        }

        /** The entry in {@code bytes}, or null when there is none or it is not whole. */
        static Slot decode(byte[] bytes) {
            if (bytes == null || bytes.length != SLOT_BYTES) {
                return null;
            }
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(bytes, 0, 40);
            ByteBuffer in = ByteBuffer.wrap(bytes);
            if (in.getLong(40) != crc.getValue()) {
                return null;
            }
            return new Slot(new SpendRecord(in.getLong(), in.getLong(), in.getLong(), in.getLong()), in.getLong());
        }
    }

    /** {@code keys-ledgers.dat}: two entries per ledger ({@link Slot}). */
    static ChronicleMap<String, byte[]> openLedgers(Path dir, boolean unclean, int entries) {
        return ChronicleFiles.openMap(dir.resolve("keys-ledgers.dat"), unclean, () -> ChronicleMap.of(String.class, byte[].class)
                .name("nemo-keys-ledgers").entries(2L * entries).averageKey(SAMPLE_ID + "#0")
                .constantValueSizeBySample(new byte[SLOT_BYTES]).maxBloatFactor(1.0));
    }

    /** {@code keys-spend.dat}, as stores before the two-entry ledgers kept them: one 32-byte entry per ledger. */
    static ChronicleMap<String, byte[]> openOldSpend(Path dir, boolean unclean, int entries) {
        return ChronicleFiles.openMap(dir.resolve("keys-spend.dat"), unclean, () -> ChronicleMap.of(String.class, byte[].class)
                .name("nemo-keys-spend").entries(entries).averageKey(SAMPLE_ID)
                .constantValueSizeBySample(new byte[32]).maxBloatFactor(1.0));
    }

    /**
     * A data directory from before the two-entry ledgers keeps them in {@code keys-spend.dat}, one
     * 32-byte entry each: they are copied into the new file once, as sequence 1, and the old file deleted.
     * The old file is the newer wherever both hold a ledger (a migration cut short, or a start of an older
     * version in between), so its ledger replaces both entries.
     */
    private static void migrateOldLedgers(Path dir, boolean unclean, int entries, ChronicleMap<String, byte[]> ledgers)
            throws IOException {
        Path old = dir.resolve("keys-spend.dat");
        if (!java.nio.file.Files.exists(old)) {
            return;
        }
        try (ChronicleMap<String, byte[]> spend = openOldSpend(dir, unclean, entries)) {
            spend.forEach((id, b) -> {
                ByteBuffer in = ByteBuffer.wrap(b);
                SpendRecord r = new SpendRecord(in.getLong(), in.getLong(), in.getLong(), in.getLong());
                ledgers.remove(entry(id, 0));
                ledgers.put(entry(id, 1), Slot.encode(r, 1));
            });
        }
        java.nio.file.Files.delete(old);
        LOG.info("key store: spend ledgers moved from {} to keys-ledgers.dat", old);
    }

    @Override
    public void close() {
        records.close();
        ledgers.close();
        claim.close(); // closed cleanly: the next start need not recover
    }
}
