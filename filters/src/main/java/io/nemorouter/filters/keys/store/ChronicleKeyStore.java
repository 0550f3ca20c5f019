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
 * and {@code keys-spend.dat} (each ledger's period and sums as 32 bytes). Memory-mapped: a write is
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
            ChronicleMap<String, byte[]> spend = ChronicleFiles.openMap(dir.resolve("keys-spend.dat"), unclean,
                    () -> ChronicleMap.of(String.class, byte[].class)
                            .name("nemo-keys-spend").entries(entries).averageKey(SAMPLE_ID)
                            .constantValueSizeBySample(new byte[32]).maxBloatFactor(1.0));
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
        Map<String, SpendRecord> out = new HashMap<>();
        ledgers.forEach((id, bytes) -> out.put(id, decode(bytes)));
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
        ledgers.compute(ledger, (id, old) -> encode(old == null
                ? new SpendRecord(start, end, nanoUsd, nanoUsd)
                : decode(old).plus(start, end, nanoUsd)));
    }

    @Override
    public void setPeriod(String ledger, long start, long end) {
        ledgers.compute(ledger, (id, old) -> {
            SpendRecord r = old == null ? new SpendRecord(start, end, 0, 0) : decode(old);
            return encode(new SpendRecord(start, end, r.periodSpend(), r.totalSpend()));
        });
    }

    @Override
    public void deleteSpend(String ledger) {
        ledgers.remove(ledger);
    }

    private static byte[] encode(SpendRecord r) {
        return ByteBuffer.allocate(32).putLong(r.periodStart()).putLong(r.periodEnd()).putLong(r.periodSpend())
                .putLong(r.totalSpend()).array();
    }

    private static SpendRecord decode(byte[] b) {
        ByteBuffer in = ByteBuffer.wrap(b);
        return new SpendRecord(in.getLong(), in.getLong(), in.getLong(), in.getLong());
    }

    @Override
    public void close() {
        records.close();
        ledgers.close();
        claim.close(); // closed cleanly: the next start need not recover
    }
}
