package io.nemorouter.filters.keys.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisException;
import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.filters.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The shared store of cluster mode: every key, team and organization as JSON in one Redis hash
 * ({@code {p}:records}, fields {@code key:<hash>}, {@code team:<id>}, {@code org:<id>}, the same
 * JSON as the embedded store), each ledger in a hash of its own ({@code {p}:ledger:<ledger>}: period
 * {@code start}, {@code end}, {@code spent}, {@code total}, in nano-USD; see {@code keys-admit.lua}
 * for the rest). A write publishes the record's id on {@code {p}:changes}; every gateway (this one
 * too) then reads the record and its ledger and applies them, so a change made on one replica is
 * live on all within a round trip or two. Messages missed while the link was down are made up by
 * reading everything again when it returns, and every 30 s in any case.
 *
 * <p>Writes come from the admin API, off the event loops (each call waits at most the connect
 * timeout, then fails with a {@link StoreException}: the admin API answers 503). Spend is not written here
 * but by the ledger scripts ({@code RedisLedgers}).
 */
public final class RedisKeyStore implements KeyStore {
    private static final Logger LOG = LoggerFactory.getLogger(RedisKeyStore.class);
    private static final ObjectMapper JSON = ChronicleKeyStore.JSON; // the same JSON in either store
    private static final long RESYNC_SECONDS = 30;

    private final RedisLink link;
    private final String records;
    private final String changes;

    public RedisKeyStore(RedisLink link) {
        this.link = link;
        this.records = link.key("records");
        this.changes = link.key("changes");
    }

    /** The hash of a ledger ({@code key:<id>}, {@code team:<id>}, {@code org:<id>}). */
    public static String ledgerKey(RedisLink link, String ledger) {
        return link.key("ledger:" + ledger);
    }

    @Override
    public Map<String, KeyRecord> keys() {
        return read("key:", KeyRecord.class, all());
    }

    @Override
    public Map<String, TeamRecord> teams() {
        return read("team:", TeamRecord.class, all());
    }

    @Override
    public Map<String, OrgRecord> orgs() {
        return read("org:", OrgRecord.class, all());
    }

    private Map<String, String> all() {
        return call(c -> c.hgetall(records), "read the records");
    }

    private static <T> Map<String, T> read(String prefix, Class<T> type, Map<String, String> all) {
        Map<String, T> out = new HashMap<>();
        all.forEach((id, json) -> {
            if (id.startsWith(prefix)) {
                out.put(id.substring(prefix.length()), parse(id, json, type));
            }
        });
        return out;
    }

    private static <T> T parse(String id, String json, Class<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (IOException e) {
            throw new StoreException("Redis: the record " + id + " is unreadable: " + e.getMessage(), e);
        }
    }

    /** Every ledger of a record that exists, read in one pipelined batch. */
    @Override
    public Map<String, SpendRecord> spend() {
        return ledgers(all());
    }

    private Map<String, SpendRecord> ledgers(Map<String, String> all) {
        List<String> ids = new ArrayList<>();
        all.forEach((id, json) -> ids.add(ledgerOf(id, json)));
        List<io.lettuce.core.RedisFuture<List<KeyValue<String, String>>>> pending = new ArrayList<>();
        for (String ledger : ids) {
            pending.add(link.slowAsync().hmget(ledgerKey(link, ledger), "start", "end", "spent", "total"));
        }
        Map<String, SpendRecord> out = new HashMap<>();
        for (int i = 0; i < ids.size(); i++) {
            SpendRecord r = spendOf(await(pending.get(i)));
            if (r != null) {
                out.put(ids.get(i), r);
            }
        }
        return out;
    }

    private <T> T await(io.lettuce.core.RedisFuture<T> f) {
        try {
            return f.get(link.timeout().toMillis() * 20 + 1000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new StoreException("Redis: the ledgers cannot be read: " + e, e);
        }
    }

    /** The ledger of a record by its id in the hash: keys' ledgers go by the key's id (kept across rotations), not its hash. */
    private static String ledgerOf(String id, String json) {
        if (id.startsWith("key:")) {
            return "key:" + parse(id, json, KeyRecord.class).id();
        }
        return id; // team:<id>, org:<id>
    }

    static SpendRecord spendOf(List<KeyValue<String, String>> f) {
        if (f == null || f.isEmpty() || !f.get(0).hasValue()) {
            return null;
        }
        return new SpendRecord(number(f.get(0)), number(f.get(1)), number(f.get(2)), number(f.get(3)));
    }

    private static long number(KeyValue<String, String> v) {
        return v.hasValue() ? Long.parseLong(v.getValue()) : 0;
    }

    @Override
    public SpendRecord ledger(String ledger) {
        return call(c -> spendOf(c.hmget(ledgerKey(link, ledger), "start", "end", "spent", "total")), "read the ledger " + ledger);
    }

    @Override
    public void putKey(KeyRecord key) {
        put("key:" + key.hash(), key);
    }

    @Override
    public void deleteKey(String hash) {
        delete("key:" + hash);
    }

    @Override
    public void putTeam(TeamRecord team) {
        put("team:" + team.id(), team);
    }

    @Override
    public void deleteTeam(String id) {
        delete("team:" + id);
    }

    @Override
    public void putOrg(OrgRecord org) {
        put("org:" + org.id(), org);
    }

    @Override
    public void deleteOrg(String id) {
        delete("org:" + id);
    }

    private void put(String id, Object record) {
        String json;
        try {
            json = JSON.writeValueAsString(record);
        } catch (IOException e) {
            throw new StoreException("the record " + id + " cannot be written as JSON: " + e.getMessage(), e);
        }
        call(c -> {
            c.hset(records, id, json);
            return c.publish(changes, id);
        }, "write " + id);
    }

    private void delete(String id) {
        call(c -> {
            c.hdel(records, id);
            return c.publish(changes, id);
        }, "delete " + id);
    }

    /** Spend is settled by the ledger scripts in cluster mode; this is for a caller outside them (none today). */
    @Override
    public void addSpend(String ledger, long start, long end, long nanoUsd) {
        throw new UnsupportedOperationException("cluster mode settles spend through RedisLedgers");
    }

    /** As {@code keys-period.lua} says: a new ledger takes the period; an ended one starts it afresh; a running one keeps its start. */
    @Override
    public void setPeriod(String ledger, long start, long end) {
        try {
            link.scriptOffPath("keys-period", io.lettuce.core.ScriptOutputType.INTEGER, new String[] {ledgerKey(link, ledger)},
                    Long.toString(start), Long.toString(end)).toCompletableFuture()
                    .get(link.slowTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new StoreException("Redis: cannot set the period of " + ledger + ": " + e, e);
        }
    }

    @Override
    public void deleteSpend(String ledger) {
        call(c -> c.del(ledgerKey(link, ledger)), "delete the ledger " + ledger);
    }

    private <T> T call(java.util.function.Function<io.lettuce.core.cluster.api.sync.RedisClusterCommands<String, String>, T> command, String what) {
        try {
            return command.apply(link.sync());
        } catch (RedisException e) {
            throw new StoreException("Redis: cannot " + what + ": " + e.getMessage(), e);
        }
    }

    /**
     * Where changes are applied: one thread of their own, in the order they came. Never a Lettuce
     * thread (the registry's lock may be held by an admin request waiting for Redis, whose answer
     * that thread would have to read), never an event loop.
     */
    private final java.util.concurrent.ExecutorService applier = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "nemo-cluster-keys");
        t.setDaemon(true);
        return t;
    });

    @Override
    public void watch(Watcher target) {
        Watcher watcher = new Watcher() {
            @Override
            public void changed(String id, Object record, SpendRecord spend) {
                applier.execute(() -> target.changed(id, record, spend));
            }

            @Override
            public void reloaded(Map<String, KeyRecord> keys, Map<String, TeamRecord> teams, Map<String, OrgRecord> orgs,
                                 Map<String, SpendRecord> spend, long readStartedNanos) {
                applier.execute(() -> target.reloaded(keys, teams, orgs, spend, readStartedNanos));
            }
        };
        link.subscribe(changes, (channel, id) -> changed(watcher, id));
        link.onReconnect(() -> reload(watcher));
        link.timer().scheduleWithFixedDelay(() -> reload(watcher), RESYNC_SECONDS, RESYNC_SECONDS, TimeUnit.SECONDS);
    }

    /** Reads the record a message names, then its ledger, and hands both to the watcher (off the event loops). */
    private void changed(Watcher watcher, String id) {
        link.async().hget(records, id).whenComplete((json, e) -> {
            if (e != null) {
                LOG.warn("cluster: the change to {} could not be read ({}); the next full read picks it up", id, e.toString());
                return;
            }
            if (json == null) {
                watcher.changed(id, null, null);
                return;
            }
            Object record;
            try {
                record = parse(id, json, type(id));
            } catch (StoreException bad) {
                LOG.error("cluster: the record {} in Redis is unreadable; left as it was here", id, bad);
                return;
            }
            link.async().hmget(ledgerKey(link, ledgerOf(id, json)), "start", "end", "spent", "total").whenComplete((f, e2) -> {
                if (e2 != null) {
                    LOG.warn("cluster: the ledger of {} could not be read ({}); the next full read picks it up", id, e2.toString());
                    return;
                }
                watcher.changed(id, record, spendOf(f));
            });
        });
    }

    private static Class<?> type(String id) {
        return id.startsWith("key:") ? KeyRecord.class : id.startsWith("team:") ? TeamRecord.class : OrgRecord.class;
    }

    private void reload(Watcher watcher) {
        try {
            long started = System.nanoTime();
            Map<String, String> all = all();
            watcher.reloaded(read("key:", KeyRecord.class, all), read("team:", TeamRecord.class, all),
                    read("org:", OrgRecord.class, all), ledgers(all), started);
        } catch (RuntimeException e) {
            LOG.warn("cluster: reading every record failed ({}); the next try is in {} s", e.toString(), RESYNC_SECONDS);
        }
    }

    @Override
    public void close() {
        applier.shutdownNow(); // the link is the cluster extension's; it closes it
    }
}
