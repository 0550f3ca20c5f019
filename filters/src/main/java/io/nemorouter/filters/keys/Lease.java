package io.nemorouter.filters.keys;

import io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel;

/**
 * Cluster mode: what this replica holds ahead at one ledger (a key's, a team's or an
 * organization's) of the limits shared in Redis, granted by the admission script beside what a
 * request needed: requests of the RPM limit, tokens of the TPM limit, places in flight, and budget
 * (a reservation in the ledger's period). A request whose needs this covers at every level is
 * admitted without asking Redis. Indexed by {@link AdmitLevel#REQUESTS} and its siblings. Guarded
 * by itself: event loops take from it, Redis's answers and the sweeper add and give back.
 */
final class Lease {
    final String ledger;
    /**
     * What is held, per kind: requests and tokens are used for good by a request (tokens corrected
     * by the real count at its end, and owed to Redis when that is more: then below 0); places and
     * budget are held while requests use part of them ({@link #used}).
     */
    final long[] held = new long[AdmitLevel.KINDS];
    /** Of the places and budget held, what open requests use. */
    final long[] used = new long[AdmitLevel.KINDS];
    /** The period the budget is held in (Redis's stored period; start -1: none held). */
    long start = -1;
    long end;
    /** The limits the last grant was taken under: what is given back is counted in them. */
    long rpmLimit;
    long tpmLimit;
    /** {@code System.nanoTime()} of the last take: a lease idle for a while gives back what it holds. */
    long usedAt;
    /** A grant asked for ahead of need and not answered yet: one at a time. */
    boolean refilling;
    /** Forgotten by the sweeper (it held nothing): a request that finds it takes a fresh one. */
    boolean retired;
    /** Redis's view at the last grant, for the {@code x-ratelimit-*} headers (-1: no such limit). */
    long rpmRemaining = -1;
    long rpmResetMs;
    long tpmRemaining = -1;
    long tpmResetMs;

    Lease(String ledger) {
        this.ledger = ledger;
    }

    /** What is free of one kind: held and not used by an open request. */
    long free(int kind) {
        return held[kind] - used[kind];
    }

    /** Whether the budget held belongs to a period still running at {@code nowMillis} (end 0: a budget that never resets). */
    boolean budgetValid(long nowMillis) {
        return start >= 0 && (end == 0 || nowMillis < end);
    }

    /** Forgets the budget of an ended period: Redis clears it when the next period begins. */
    void dropBudget() {
        held[AdmitLevel.BUDGET] = 0;
        used[AdmitLevel.BUDGET] = 0;
        start = -1;
        end = 0;
    }

    /** Whether it holds nothing and nothing uses it: it can be forgotten. */
    boolean empty() {
        for (int k = 0; k < AdmitLevel.KINDS; k++) {
            if (held[k] != 0 || used[k] != 0) {
                return false;
            }
        }
        return true;
    }
}
