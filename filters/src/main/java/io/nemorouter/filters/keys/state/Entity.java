package io.nemorouter.filters.keys.state;

import io.nemorouter.filters.keys.store.Limits;
import io.nemorouter.filters.keys.store.SpendRecord;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The live side of a key, team or organization: its record (replaced on every admin change), its
 * rate limits, its requests in flight and its budget. Lives as long as the record; an admin change
 * keeps the counters of limits whose value did not change. Thread-safe.
 */
public final class Entity<R> {
    /** {@code key}, {@code team} or {@code organization}: what errors name. */
    public final String level;
    /** The id of its spend ledger in the store. */
    public final String ledger;
    public final Budget budget;
    public final AtomicInteger inFlight = new AtomicInteger();
    private volatile R record;
    private volatile RateLimit rpm;
    private volatile RateLimit tpm;
    private volatile int maxParallel;

    public Entity(String level, String ledger, R record, Limits limits, SpendRecord recorded, long nowMillis) {
        this.level = level;
        this.ledger = ledger;
        this.record = record;
        Limits l = limits == null ? Limits.NONE : limits;
        this.budget = new Budget(ledger, nanoUsd(l.maxBudget()), BudgetDuration.parse(l.budgetDuration()), recorded, nowMillis);
        apply(l);
    }

    public R record() {
        return record;
    }

    /** The record changed (limits, models, state): counters of unchanged limits carry on. */
    public void update(R newRecord, Limits limits) {
        Limits l = limits == null ? Limits.NONE : limits;
        record = newRecord;
        budget.update(nanoUsd(l.maxBudget()), BudgetDuration.parse(l.budgetDuration()));
        apply(l);
    }

    private void apply(Limits l) {
        budget.alerts(alerts(l));
        rpm = same(rpm, l.rpmLimit()) ? rpm : l.rpmLimit() == null ? null : new RateLimit(l.rpmLimit());
        tpm = same(tpm, l.tpmLimit()) ? tpm : l.tpmLimit() == null ? null : new RateLimit(l.tpmLimit());
        maxParallel = l.maxParallelRequests() == null ? 0 : l.maxParallelRequests();
    }

    private static boolean same(RateLimit current, Long limit) {
        return current == null ? limit == null : limit != null && current.limit() == limit;
    }

    /** Requests per minute, or null. */
    public RateLimit rpm() {
        return rpm;
    }

    /** Tokens per minute, or null. */
    public RateLimit tpm() {
        return tpm;
    }

    /** At most this many in flight; 0: no limit. */
    public int maxParallel() {
        return maxParallel;
    }

    /** The limits' alert thresholds as spends: none without a soft budget or a budget to be percents of. */
    static Budget.Alerts alerts(Limits l) {
        Double base = l.alertBase();
        java.util.List<Integer> percents = l.thresholds();
        if (base == null || percents.isEmpty()) {
            return Budget.Alerts.NONE;
        }
        long[] at = new long[percents.size()];
        int[] p = new int[percents.size()];
        for (int i = 0; i < p.length; i++) {
            p[i] = percents.get(i);
            at[i] = Math.round(base * p[i] / 100.0 * SpendRecord.NANOS_PER_USD);
        }
        return new Budget.Alerts(at, p);
    }

    /** USD as nano-USD; null (no budget) as -1. */
    public static long nanoUsd(Double usd) {
        return usd == null ? -1 : Math.round(usd * SpendRecord.NANOS_PER_USD);
    }

    @Override
    public String toString() {
        return level + " " + Objects.toString(ledger);
    }
}
