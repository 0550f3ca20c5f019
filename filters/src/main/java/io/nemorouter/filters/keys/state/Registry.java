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
public final class Registry {
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
        store.putKey(r);
        Entity<KeyRecord> e = keysByHash.get(r.hash());
        if (e == null) {
            e = new Entity<>("key", "key:" + r.id(), r, r.limits(), null, clock.millis());
            keysByHash.put(r.hash(), e);
            liveLedgers.add(e.ledger);
        } else {
            e.update(r, r.limits());
        }
        recordPeriod(e);
    }

    /** A new secret for a key: same id, settings, spend and live counters. */
    public synchronized void rotateKey(String oldHash, KeyRecord renamed) {
        Entity<KeyRecord> e = keysByHash.get(oldHash);
        store.putKey(renamed);
        store.deleteKey(oldHash);
        e.update(renamed, renamed.limits());
        keysByHash.put(renamed.hash(), e);
        keysByHash.remove(oldHash);
    }

    public synchronized void removeKey(String hash) {
        Entity<KeyRecord> e = keysByHash.get(hash);
        store.deleteKey(hash);
        if (e != null) {
            liveLedgers.remove(e.ledger);
            store.deleteSpend(e.ledger);
            keysByHash.remove(hash);
        }
    }

    public synchronized void putTeam(TeamRecord r) {
        store.putTeam(r);
        putGroup(teams, r.id(), r, r.limits(), "team", "team:");
    }

    public synchronized void removeTeam(String id) {
        store.deleteTeam(id);
        removeGroup(teams, id);
    }

    public synchronized void putOrg(OrgRecord r) {
        store.putOrg(r);
        putGroup(orgs, r.id(), r, r.limits(), "organization", "org:");
    }

    public synchronized void removeOrg(String id) {
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

    /** A team or organization, stored already: its live side made or updated, its ledger recorded. */
    private <R> void putGroup(Map<String, Entity<R>> map, String id, R r, Limits limits, String level, String ledgerPrefix) {
        Entity<R> e = map.get(id);
        if (e == null) {
            e = new Entity<>(level, ledgerPrefix + id, r, limits, null, clock.millis());
            map.put(id, e);
            liveLedgers.add(e.ledger);
        } else {
            e.update(r, limits);
        }
        recordPeriod(e);
    }

    /** The store learns the ledger's current period (new, or its duration changed); its sums stay the store's. */
    private void recordPeriod(Entity<?> e) {
        Budget.Period p = e.budget.current(clock.millis());
        store.setPeriod(e.ledger, p.start, p.end);
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
