package io.nemorouter.filters.keys;

import io.nemorouter.filters.keys.cluster.RedisLedgers;
import io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel.BUDGET;
import static io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel.KINDS;
import static io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel.PLACES;
import static io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel.REQUESTS;
import static io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel.TOKENS;

/**
 * Cluster mode: this replica's {@link Lease}s, one per ledger it admits requests at, so that a busy
 * key's requests are admitted here, not by a round trip to Redis each.
 *
 * <p>A lease is a hundredth of each limit ({@link #SHARE}); a limit under 200 (of requests, tokens
 * or places) is not leased, so every request at it asks Redis and small limits stay exact. A lease
 * running below half is topped up ahead of need by one script call off the request path; a request
 * it does not cover asks Redis for the rest and tops the lease up in the same call. What a lease
 * holds beyond its size goes back with the next settlement, and all it holds goes back once it has
 * been idle for {@link #IDLE_NANOS}. So a limit of N admits at most N across the replicas, and at
 * least N − (R − 1) · N / 100 while other replicas hold leases they are not using, for at most a
 * second; the budget likewise, by at most a hundredth of it per replica.
 */
final class Leases implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Leases.class);
    /** A lease is this part of a limit. */
    static final long SHARE = 100;
    /** A lease not used for this long gives back all it holds. */
    static final long IDLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final ConcurrentHashMap<String, Lease> byLedger = new ConcurrentHashMap<>();
    private final RedisLedgers ledgers;

    Leases(RedisLedgers ledgers) {
        this.ledgers = ledgers;
        ledgers.link().timer().scheduleWithFixedDelay(this::sweep, 250, 250, TimeUnit.MILLISECONDS);
    }

    /** One level of a request: its limits, what the request needs of each kind, and the lease sizes they give. */
    static final class Share {
        final Leases leases;
        final Lease lease;
        final String ledger;
        final long budgetLimit;
        final long rpmLimit;
        final long tpmLimit;
        final long parallel;
        /** What the request holds of each kind (after admission: all it needed). */
        final long[] need;
        /** Of {@link #need}, what the lease covered; the rest came from Redis. */
        final long[] local = new long[KINDS];
        final long[] size;
        /** The budget period its reservation is in. */
        long start;
        long end;

        private Share(Leases leases, Lease lease, String ledger, long budgetLimit, long start, long end, long rpmLimit, long tpmLimit,
                      long parallel, long[] need) {
            this.leases = leases;
            this.lease = lease;
            this.ledger = ledger;
            this.budgetLimit = budgetLimit;
            this.start = start;
            this.end = end;
            this.rpmLimit = rpmLimit;
            this.tpmLimit = tpmLimit;
            this.parallel = parallel;
            this.need = need;
            this.size = new long[] {leased(rpmLimit), leased(tpmLimit), leased(parallel), budgetLimit > 0 ? budgetLimit / SHARE : 0};
        }

        /** Whether the lease covered all the request needs. */
        boolean covered() {
            for (int k = 0; k < KINDS; k++) {
                if (local[k] < need[k]) {
                    return false;
                }
            }
            return true;
        }

        /** What to ask Redis for: the rest of the need, and the lease topped up to its size. */
        AdmitLevel ask() {
            long[] shortOf = new long[KINDS];
            long[] want = new long[KINDS];
            synchronized (lease) {
                for (int k = 0; k < KINDS; k++) {
                    shortOf[k] = need[k] - local[k];
                    want[k] = Math.max(0, size[k] - Math.max(0, lease.free(k)));
                }
            }
            return new AdmitLevel(ledger, budgetLimit, start, end, rpmLimit, tpmLimit, parallel, shortOf, want);
        }
    }

    private static long leased(long limit) {
        long s = limit / SHARE;
        return s >= 2 ? s : 0;
    }

    /**
     * A request's share at one level (its limits, and of each kind what it needs), with what this
     * replica's lease of the ledger covers of it taken now.
     */
    Share take(String ledger, long budgetLimit, long start, long end, long rpmLimit, long tpmLimit, long parallel, long[] need,
               long nowMillis) {
        while (true) {
            Share s = new Share(this, byLedger.computeIfAbsent(ledger, Lease::new), ledger, budgetLimit, start, end, rpmLimit, tpmLimit,
                    parallel, need);
            if (take(s, nowMillis)) {
                return s;
            }
        }
    }

    /** {@code false} when the lease was retired meanwhile (the sweeper forgot it: take from a fresh one). */
    private boolean take(Share s, long nowMillis) {
        Lease l = s.lease;
        synchronized (l) {
            if (l.retired) {
                return false;
            }
            if (l.start >= 0 && !l.budgetValid(nowMillis)) {
                l.dropBudget();
            }
            for (int k = 0; k < KINDS; k++) {
                long t = Math.max(0, Math.min(s.need[k], l.free(k)));
                if (k == BUDGET) {
                    if (!l.budgetValid(nowMillis)) {
                        t = 0;
                    } else {
                        s.start = l.start;
                        s.end = l.end;
                    }
                }
                s.local[k] = t;
                use(l, k, t);
            }
            l.usedAt = System.nanoTime();
            return true;
        }
    }

    private static void use(Lease l, int kind, long n) {
        if (kind == REQUESTS || kind == TOKENS) {
            l.held[kind] -= n;
        } else {
            l.used[kind] += n;
        }
    }

    /** Puts back what {@link #take} took, for a request Redis refused or that could not be asked. */
    void untake(Share s) {
        Lease l = s.lease;
        synchronized (l) {
            for (int k = 0; k < KINDS; k++) {
                if (k == BUDGET && l.start != s.start) {
                    continue; // taken in a period since ended
                }
                use(l, k, -s.local[k]);
                s.local[k] = 0;
            }
        }
    }

    /**
     * Redis granted level {@code i} of {@code answer}: the share's shortfall is the request's, the rest
     * joins the lease. Records Redis's view for the rate-limit headers.
     */
    void granted(Share s, RedisLedgers.Admitted answer, int i) {
        Lease l = s.lease;
        long[] st = answer.state();
        int o = i * RedisLedgers.Admitted.PER_LEVEL;
        synchronized (l) {
            for (int k = 0; k < KINDS; k++) {
                long got = answer.granted(i, k);
                long shortOf = s.need[k] - s.local[k];
                if (k == BUDGET) {
                    if (s.budgetLimit < 0) { // no budget here: its spend settles in the period Redis holds
                        s.start = st[o];
                        s.end = st[o + 1];
                    }
                    if (got == 0 && shortOf == 0) {
                        continue;
                    }
                    if (l.start != st[o]) { // the lease's first budget, or a new period: what was held before is gone
                        l.held[BUDGET] = 0;
                        l.used[BUDGET] = 0;
                        l.start = st[o];
                        l.end = st[o + 1];
                    }
                    s.start = st[o];
                    s.end = st[o + 1];
                }
                if (k == REQUESTS || k == TOKENS) {
                    l.held[k] += got - shortOf;
                } else {
                    l.held[k] += got;
                    l.used[k] += shortOf;
                }
            }
            l.rpmLimit = s.rpmLimit;
            l.tpmLimit = s.tpmLimit;
            l.rpmRemaining = st[o + 4];
            l.rpmResetMs = st[o + 5];
            l.tpmRemaining = st[o + 6];
            l.tpmResetMs = st[o + 7];
        }
    }

    /** Whether the share's lease runs below half its size of some kind (and no top-up is on its way): then it is taken now. */
    boolean low(Share s) {
        Lease l = s.lease;
        synchronized (l) {
            if (l.refilling) {
                return false;
            }
            for (int k = 0; k < KINDS; k++) {
                if (s.size[k] > 0 && l.free(k) < s.size[k] / 2) {
                    l.refilling = true;
                    return true;
                }
            }
            return false;
        }
    }

    /** Tops up a lease ahead of need, off the request path: nothing is needed, so Redis refuses nothing. */
    void refill(Share s, java.util.function.Consumer<long[]> observed) {
        Share top;
        synchronized (s.lease) { // in the period the lease holds budget in, else the request's
            boolean held = s.lease.start >= 0;
            top = new Share(this, s.lease, s.ledger, s.budgetLimit, held ? s.lease.start : s.start, held ? s.lease.end : s.end,
                    s.rpmLimit, s.tpmLimit, s.parallel, new long[KINDS]);
        }
        AdmitLevel ask = top.ask(); // nothing needed: only the lease topped up to its size
        ledgers.admit(List.of(ask)).whenComplete((answer, error) -> {
            synchronized (s.lease) {
                s.lease.refilling = false;
            }
            if (answer != null && answer.ok()) {
                granted(top, answer, 0);
                observed.accept(answer.state());
            }
        });
    }

    /**
     * What a finished request settles at its share's level: its cost spent (moved out of this
     * replica's reservations), its shares back to the lease (a request that never went upstream
     * gives its RPM request back, the real token count corrects the estimate), and what the lease
     * then holds beyond its size back to Redis.
     */
    RedisLedgers.SettleLevel settle(Share s, long cost, long tokensUsed, boolean usage, boolean requestBack, long[] alertAt) {
        Lease l = s.lease;
        long reserved = s.need[BUDGET] > 0 || s.local[BUDGET] > 0 ? cost : 0;
        long requestsBack = 0;
        long tpmCharge = 0;
        long placesFreed = 0;
        synchronized (l) {
            if (requestBack) {
                l.held[REQUESTS] += s.need[REQUESTS];
            }
            if (s.tpmLimit > 0 && s.need[TOKENS] > 0) {
                l.held[TOKENS] += s.need[TOKENS] - tokensUsed;
            } else if (s.tpmLimit > 0 && usage) {
                l.held[TOKENS] -= tokensUsed;
            }
            l.used[PLACES] = Math.max(0, l.used[PLACES] - s.need[PLACES]);
            boolean samePeriod = l.start >= 0 && l.start == s.start;
            if (samePeriod && s.need[BUDGET] > 0) {
                l.used[BUDGET] = Math.max(0, l.used[BUDGET] - s.need[BUDGET]);
                // the cost leaves what is held, even below what open requests use (the request's own top-up, settled
                // next, is one of them): the lease then owes it until they end; Redis's reservation drops by as much
                long before = l.held[BUDGET];
                l.held[BUDGET] = Math.max(0, before - cost);
                reserved = before - l.held[BUDGET];
            }
            // a lease the sweeper retired while this request waited for Redis is no longer swept: it keeps nothing
            boolean keep = !l.retired;
            requestsBack = trim(l, REQUESTS, keep ? s.size[REQUESTS] : 0);
            long tokens = trim(l, TOKENS, keep ? s.size[TOKENS] : 0);
            tpmCharge = -tokens;
            placesFreed = trim(l, PLACES, keep ? s.size[PLACES] : 0);
            if (samePeriod) {
                reserved += trim(l, BUDGET, keep ? s.size[BUDGET] : 0);
            }
        }
        return new RedisLedgers.SettleLevel(s.ledger, s.start, s.end, reserved, cost, tpmCharge, s.tpmLimit, requestsBack, s.rpmLimit,
                placesFreed, alertAt);
    }

    /** Gives back what the lease holds free of one kind beyond {@code keep}; what it owes (tokens below 0) comes back negative. */
    private static long trim(Lease l, int kind, long keep) {
        long free = l.free(kind);
        if (free < 0 && kind == BUDGET) {
            return 0; // spent beyond what is free: owed by the open requests' reservations, made good as they settle
        }
        if (free < 0) {
            l.held[kind] -= free;
            return free;
        }
        long back = Math.max(0, free - keep);
        l.held[kind] -= back;
        return back;
    }

    /** Every 250 ms: a lease idle for a second gives back all it holds free; one that holds nothing is forgotten. */
    private void sweep() {
        try {
            giveBack(false);
        } catch (RuntimeException e) {
            LOG.error("cluster: giving back idle leases failed", e);
        }
    }

    private void giveBack(boolean all) {
        long now = System.nanoTime();
        List<RedisLedgers.SettleLevel> back = new ArrayList<>();
        for (Lease l : byLedger.values()) {
            synchronized (l) {
                if (!all && (now - l.usedAt < IDLE_NANOS || l.refilling)) {
                    continue;
                }
                long requests = trim(l, REQUESTS, 0);
                long tokens = trim(l, TOKENS, 0);
                long places = trim(l, PLACES, 0);
                long budget = l.start >= 0 ? trim(l, BUDGET, 0) : 0;
                RedisLedgers.SettleLevel s = new RedisLedgers.SettleLevel(l.ledger, l.start, l.end, budget, 0, -tokens, l.tpmLimit,
                        requests, l.rpmLimit, places, null);
                if (!s.empty()) {
                    back.add(s);
                }
                if (l.empty()) {
                    l.retired = true;
                    byLedger.remove(l.ledger, l);
                }
            }
        }
        if (!back.isEmpty()) {
            ledgers.settle(back, null);
        }
    }

    /** At shutdown, after the drain and before the ledgers' last flush: everything held goes back. */
    @Override
    public void close() {
        giveBack(true);
    }
}
