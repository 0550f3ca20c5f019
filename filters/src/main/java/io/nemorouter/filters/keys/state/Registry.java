package io.nemorouter.filters.keys.state;

import io.nemorouter.filters.keys.store.KeyRecord;
import io.nemorouter.filters.keys.store.KeyStore;
import io.nemorouter.filters.keys.store.Limits;
import io.nemorouter.filters.keys.store.OrgRecord;
import io.nemorouter.filters.keys.store.SpendRecord;
import io.nemorouter.filters.keys.store.TeamRecord;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every key, team and organization, live, in memory: the request path reads these maps and never
 * the store. Changes (from the admin API) write the store first, then the maps, one at a time
 * (a lock on the admin path only); settled spend is written through by {@link #settle}.
 */
public final class Registry implements KeyStore.Watcher {
    private final KeyStore store;
    private final KeysClock clock;
    private final Map<String, Entity<KeyRecord>> keysByHash = new ConcurrentHashMap<>();
    private final Map<String, Entity<TeamRecord>> teams = new ConcurrentHashMap<>();
    private final Map<String, Entity<OrgRecord>> orgs = new ConcurrentHashMap<>();
    /** Ledgers of records that exist: a request that settles after its key was deleted writes nothing. */
    private final java.util.Set<String> liveLedgers = ConcurrentHashMap.newKeySet();

    public Registry(KeyStore store, KeysClock clock) {
        this.store = store;
        this.clock = clock;
        long now = clock.millis();
        Map<String, SpendRecord> spend = store.spend();
        store.orgs().forEach((id, r) -> orgs.put(id, new Entity<>("organization", "org:" + id, r, r.limits(), spend.get("org:" + id), now)));
        store.teams().forEach((id, r) -> teams.put(id, new Entity<>("team", "team:" + id, r, r.limits(), spend.get("team:" + id), now)));
        Map<String, KeyRecord> stored = store.keys();
        Map<String, KeyRecord> latestById = new java.util.HashMap<>();
        for (KeyRecord r : stored.values()) { // a rotation cut short by a crash leaves the old record too: the newer wins
            latestById.merge(r.id(), r, (a, b) -> a.updatedAt() >= b.updatedAt() ? a : b);
        }
        for (KeyRecord r : stored.values()) {
            if (latestById.get(r.id()) != r) {
                store.deleteKey(r.hash());
            }
        }
        latestById.values().forEach(r -> keysByHash.put(r.hash(),
                new Entity<>("key", "key:" + r.id(), r, r.limits(), spend.get("key:" + r.id()), now)));
        keysByHash.values().forEach(e -> liveLedgers.add(e.ledger));
        teams.values().forEach(e -> liveLedgers.add(e.ledger));
        orgs.values().forEach(e -> liveLedgers.add(e.ledger));
        store.watch(this);
    }

    public KeysClock clock() {
        return clock;
    }

    public Entity<KeyRecord> keyByHash(String hash) {
        return keysByHash.get(hash);
    }

    public Entity<TeamRecord> team(String id) {
        return id == null ? null : teams.get(id);
    }

    public Entity<OrgRecord> org(String id) {
        return id == null ? null : orgs.get(id);
    }

    /** The key, team or organization whose spend ledger is {@code ledger} ({@code key:<id>}, {@code team:<id>}, {@code org:<id>}), or null. */
    public Entity<?> byLedger(String ledger) {
        if (ledger.startsWith("team:")) {
            return team(ledger.substring(5));
        }
        if (ledger.startsWith("org:")) {
            return org(ledger.substring(4));
        }
        for (Entity<KeyRecord> e : keys()) {
            if (e.ledger.equals(ledger)) {
                return e;
            }
        }
        return null;
    }

    public Collection<Entity<KeyRecord>> keys() {
        return keysByHash.values();
    }

    public Collection<Entity<TeamRecord>> teams() {
        return teams.values();
    }

    public Collection<Entity<OrgRecord>> orgs() {
        return orgs.values();
    }

    // ---- changes (admin) -----------------------------------------------------------------------

    public synchronized void putKey(KeyRecord r) {
        touch("key:" + r.hash());
        Entity<KeyRecord> e = keysByHash.get(r.hash());
        if (e == null) {
            // its ledger's period first: a gateway sharing the store reads it when it hears of the record
            e = new Entity<>("key", "key:" + r.id(), r, r.limits(), null, clock.millis());
            recordPeriod(e);
            store.putKey(r);
            keysByHash.put(r.hash(), e);
            liveLedgers.add(e.ledger);
        } else {
            store.putKey(r);
            e.update(r, r.limits());
            recordPeriod(e);
        }
    }

    /** A new secret for a key: same id, settings, spend and live counters. */
    public synchronized void rotateKey(String oldHash, KeyRecord renamed) {
        touch("key:" + oldHash);
        touch("key:" + renamed.hash());
        Entity<KeyRecord> e = keysByHash.get(oldHash);
        store.putKey(renamed);
        store.deleteKey(oldHash);
        e.update(renamed, renamed.limits());
        keysByHash.put(renamed.hash(), e);
        keysByHash.remove(oldHash);
    }

    public synchronized void removeKey(String hash) {
        touch("key:" + hash);
        Entity<KeyRecord> e = keysByHash.get(hash);
        store.deleteKey(hash);
        if (e != null) {
            liveLedgers.remove(e.ledger);
            store.deleteSpend(e.ledger);
            keysByHash.remove(hash);
        }
    }

    public synchronized void putTeam(TeamRecord r) {
        touch("team:" + r.id());
        putGroup(teams, r.id(), r, r.limits(), "team", "team:", () -> store.putTeam(r));
    }

    public synchronized void removeTeam(String id) {
        touch("team:" + id);
        store.deleteTeam(id);
        removeGroup(teams, id);
    }

    public synchronized void putOrg(OrgRecord r) {
        touch("org:" + r.id());
        putGroup(orgs, r.id(), r, r.limits(), "organization", "org:", () -> store.putOrg(r));
    }

    public synchronized void removeOrg(String id) {
        touch("org:" + id);
        store.deleteOrg(id);
        removeGroup(orgs, id);
    }

    /** A team or organization, deleted from the store already: its ledger and live side go too. */
    private <R> void removeGroup(Map<String, Entity<R>> map, String id) {
        Entity<R> e = map.remove(id);
        if (e != null) {
            liveLedgers.remove(e.ledger);
            store.deleteSpend(e.ledger);
        }
    }

    /**
     * A team or organization: stored ({@code write}), its live side made or updated, its ledger's
     * period recorded (before the record, when new: a gateway sharing the store reads both when it hears of it).
     */
    private <R> void putGroup(Map<String, Entity<R>> map, String id, R r, Limits limits, String level, String ledgerPrefix,
                              Runnable write) {
        Entity<R> e = map.get(id);
        if (e == null) {
            e = new Entity<>(level, ledgerPrefix + id, r, limits, null, clock.millis());
            recordPeriod(e);
            write.run();
            map.put(id, e);
            liveLedgers.add(e.ledger);
        } else {
            write.run();
            e.update(r, limits);
            recordPeriod(e);
        }
    }

    /** The store learns the ledger's current period (new, or its duration changed); its sums stay the store's. */
    private void recordPeriod(Entity<?> e) {
        Budget.Period p = e.budget.current(clock.millis());
        store.setPeriod(e.ledger, p.start, p.end);
    }

    /**
     * Brings an entity's spend up to date from a shared store (other gateways settle into the same
     * ledger); the figures in memory stand when the store is this gateway's own or does not answer.
     * For the admin API, off the event loops.
     */
    public void fresh(Entity<?> e) {
        try {
            SpendRecord r = store.ledger(e.ledger);
            if (r != null) {
                e.budget.observe(r.periodStart(), r.periodEnd(), r.periodSpend(), r.totalSpend());
            }
        } catch (RuntimeException ignored) {
            // Redis away: what this gateway last saw
        }
    }

    // ---- changes other gateways made (a shared store) --------------------------------------------

    /**
     * When each record last changed here (a local write or a message), by its id in the store
     * ({@code key:<hash>}, ...): a full read begun before that is older than what this gateway has.
     */
    private final Map<String, Long> changedAt = new ConcurrentHashMap<>();

    private void touch(String id) {
        changedAt.put(id, System.nanoTime());
    }

    private boolean changedSince(String id, long nanos) {
        Long at = changedAt.get(id);
        return at != null && at - nanos >= 0;
    }

    @Override
    public synchronized void changed(String id, Object record, SpendRecord spend) {
        touch(id);
        if (id.startsWith("key:")) {
            if (record == null) {
                dropKey(id.substring(4));
            } else {
                applyKey((KeyRecord) record, spend);
            }
        } else if (id.startsWith("team:")) {
            TeamRecord r = (TeamRecord) record;
            applyGroup(teams, id.substring(5), r, r == null ? null : r.limits(), "team", "team:", spend);
        } else if (id.startsWith("org:")) {
            OrgRecord r = (OrgRecord) record;
            applyGroup(orgs, id.substring(4), r, r == null ? null : r.limits(), "organization", "org:", spend);
        }
    }

    @Override
    public synchronized void reloaded(Map<String, KeyRecord> keys, Map<String, TeamRecord> teams, Map<String, OrgRecord> orgs,
                                      Map<String, SpendRecord> spend, long readStartedNanos) {
        // what changed here after the read began (a local write, a message) is newer than the read: left as it is
        orgs.forEach((id, r) -> {
            if (!changedSince("org:" + id, readStartedNanos)) {
                applyGroup(this.orgs, id, r, r.limits(), "organization", "org:", spend.get("org:" + id));
            }
        });
        teams.forEach((id, r) -> {
            if (!changedSince("team:" + id, readStartedNanos)) {
                applyGroup(this.teams, id, r, r.limits(), "team", "team:", spend.get("team:" + id));
            }
        });
        Map<String, KeyRecord> latestById = new java.util.HashMap<>(); // a rotation cut short leaves two: the newer wins
        for (KeyRecord r : keys.values()) {
            latestById.merge(r.id(), r, (a, b) -> a.updatedAt() >= b.updatedAt() ? a : b);
        }
        latestById.values().forEach(r -> {
            if (!changedSince("key:" + r.hash(), readStartedNanos) && !movedSince(r.id(), readStartedNanos)) {
                applyKey(r, spend.get("key:" + r.id()));
            }
        });
        java.util.List.copyOf(keysByHash.keySet()).forEach(hash -> {
            if (!keys.containsKey(hash) && !changedSince("key:" + hash, readStartedNanos)) {
                dropKey(hash);
            }
        });
        java.util.List.copyOf(this.teams.keySet()).forEach(id -> {
            if (!teams.containsKey(id) && !changedSince("team:" + id, readStartedNanos)) {
                applyGroup(this.teams, id, null, null, "team", "team:", null);
            }
        });
        java.util.List.copyOf(this.orgs.keySet()).forEach(id -> {
            if (!orgs.containsKey(id) && !changedSince("org:" + id, readStartedNanos)) {
                applyGroup(this.orgs, id, null, null, "organization", "org:", null);
            }
        });
        long old = System.nanoTime() - java.util.concurrent.TimeUnit.MINUTES.toNanos(10);
        changedAt.values().removeIf(at -> at - old < 0); // no read takes ten minutes
    }

    /** Whether the key with this id changed here since {@code nanos} under any of its hashes (a rotation moves it). */
    private boolean movedSince(String keyId, long nanos) {
        for (Map.Entry<String, Entity<KeyRecord>> e : keysByHash.entrySet()) {
            if (e.getValue().record().id().equals(keyId) && changedSince("key:" + e.getKey(), nanos)) {
                return true;
            }
        }
        return false;
    }

    /** A key as another gateway wrote it: updated, moved to its new hash (a rotation: same id), or new. */
    private void applyKey(KeyRecord r, SpendRecord spend) {
        Entity<KeyRecord> e = keysByHash.get(r.hash());
        if (e == null) {
            for (Map.Entry<String, Entity<KeyRecord>> other : keysByHash.entrySet()) {
                if (other.getValue().record().id().equals(r.id())) { // rotated elsewhere: live counters go with it
                    e = other.getValue();
                    keysByHash.remove(other.getKey());
                    keysByHash.put(r.hash(), e);
                    break;
                }
            }
        }
        if (e == null) {
            e = new Entity<>("key", "key:" + r.id(), r, r.limits(), spend, clock.millis());
            keysByHash.put(r.hash(), e);
            liveLedgers.add(e.ledger);
        } else if (!r.equals(e.record())) {
            e.update(r, r.limits());
        }
    }

    private void dropKey(String hash) {
        Entity<KeyRecord> e = keysByHash.remove(hash);
        if (e != null) {
            liveLedgers.remove(e.ledger);
        }
    }

    /** A team or organization as another gateway wrote it (null: deleted); the store is not written. */
    private <R> void applyGroup(Map<String, Entity<R>> map, String id, R r, Limits limits, String level, String ledgerPrefix,
                                SpendRecord spend) {
        Entity<R> e = map.get(id);
        if (r == null) {
            if (e != null) {
                map.remove(id);
                liveLedgers.remove(e.ledger);
            }
        } else if (e == null) {
            e = new Entity<>(level, ledgerPrefix + id, r, limits, spend, clock.millis());
            map.put(id, e);
            liveLedgers.add(e.ledger);
        } else if (!r.equals(e.record())) {
            e.update(r, limits);
        }
    }

    // ---- spend (request path) -----------------------------------------------------------------

    /** Settles a reservation with the real cost in memory; {@link #writeThrough} records it. */
    public void settle(Budget.Reservation r, long cost) {
        Budget.settle(r, cost);
    }

    /** Writes a settled cost through to the store, unless its record was deleted meanwhile. */
    public void writeThrough(Budget.Reservation r, long cost) {
        if (cost != 0 && liveLedgers.contains(r.budget().ledger())) {
            store.addSpend(r.budget().ledger(), r.period().start, r.period().end, cost);
        }
    }
}
