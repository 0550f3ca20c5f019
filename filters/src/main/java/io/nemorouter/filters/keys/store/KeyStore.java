package io.nemorouter.filters.keys.store;

import java.util.Map;

/**
 * Where keys, teams, organizations and spend ledgers are kept, durably. The gateway holds every
 * record in memory and reads the store only at start; it writes through on every change and on
 * every settled request. The embedded store is {@link ChronicleKeyStore}; a shared one (Redis) can
 * implement the same calls. Implementations are thread-safe.
 */
public interface KeyStore extends AutoCloseable {
    Map<String, KeyRecord> keys();

    Map<String, TeamRecord> teams();

    Map<String, OrgRecord> orgs();

    /** Every ledger, by id ({@code key:<hash>}, {@code team:<id>}, {@code org:<id>}). */
    Map<String, SpendRecord> spend();

    void putKey(KeyRecord key);

    void deleteKey(String hash);

    void putTeam(TeamRecord team);

    void deleteTeam(String id);

    void putOrg(OrgRecord org);

    void deleteOrg(String id);

    /**
     * Adds {@code nanoUsd} to a ledger, in the period [start, end) (see {@link SpendRecord#plus}).
     * Durable when it returns: a crash of the process after it loses nothing.
     */
    void addSpend(String ledger, long start, long end, long nanoUsd);

    /**
     * Sets the period of a ledger (an admin changed its duration), keeping its sums; creates it
     * empty when absent. Never a snapshot of sums from memory: settlements may be under way.
     */
    void setPeriod(String ledger, long start, long end);

    void deleteSpend(String ledger);

    /**
     * A ledger as a shared store holds it now (other gateways settle into it too); null from a store
     * this gateway alone writes, whose figures it has in memory already.
     */
    default SpendRecord ledger(String ledger) {
        return null;
    }

    /**
     * A shared store tells {@code watcher} of the records other gateways write (and echoes this one's);
     * the embedded store has no others and never calls it.
     */
    default void watch(Watcher watcher) {
    }

    /** What a gateway sharing its store hears of changes. Called on a thread of the store's, one change at a time, in order. */
    interface Watcher {
        /**
         * {@code id} ({@code key:<hash>}, {@code team:<id>}, {@code org:<id>}) now holds {@code record}
         * ({@link KeyRecord}, {@link TeamRecord} or {@link OrgRecord}; null: deleted), with its ledger
         * as stored ({@code spend}, null when it has none).
         */
        void changed(String id, Object record, SpendRecord spend);

        /**
         * Every record and ledger as the store held them when it began reading, at {@code readStartedNanos}
         * ({@link System#nanoTime()}): after messages may have been missed. A record changed since then
         * is newer than this read of it.
         */
        void reloaded(Map<String, KeyRecord> keys, Map<String, TeamRecord> teams, Map<String, OrgRecord> orgs,
                      Map<String, SpendRecord> spend, long readStartedNanos);
    }

    @Override
    void close();
}
