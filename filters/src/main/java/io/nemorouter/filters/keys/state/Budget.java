package io.nemorouter.filters.keys.state;

import io.nemorouter.filters.keys.store.SpendRecord;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One ledger's spend in its current budget period, and the ceiling. Admission reserves a request's
 * worst-case cost: {@code committed} (settled spend plus open reservations) may only grow by a
 * compare-and-set that keeps it within the budget, so however many requests race for the last
 * dollars, what is settled never passes the ceiling. Settling replaces the reservation with the
 * real cost. Amounts are nano-USD. Lock-free; thread-safe.
 */
public final class Budget {
    /** One budget period: when it began and ends, and its sums. */
    public static final class Period {
        public final long start;
        /** 0: never ends. Moves when an admin changes the duration (the period, and the reservations in it, stay). */
        public volatile long end;
        final AtomicLong committed;
        final AtomicLong spent;
        /**
         * How many of the alert thresholds this period has sent; -1 until first asked, then counted from
         * the spend it began with (a period restored from the store has sent those before the restart).
         */
        final AtomicInteger alerted = new AtomicInteger(-1);
        private final long initialSpent;

        Period(long start, long end, long spent) {
            this(start, end, spent, spent);
        }

        Period(long start, long end, long committed, long spent) {
            this.start = start;
            this.end = end;
            this.committed = new AtomicLong(committed);
            this.spent = new AtomicLong(spent);
            this.initialSpent = spent;
        }

        public long spent() {
            return spent.get();
        }
    }

    /** What {@link #reserve} took: given back or settled once. */
    public record Reservation(Budget budget, Period period, long amount) {
    }

    /**
     * The spends (nano-USD, ascending) whose crossing sends an alert, and the percents they stand for.
     * An admin's change applies from the current spend on: thresholds already passed stay quiet.
     */
    public record Alerts(long[] at, int[] percents) {
        public static final Alerts NONE = new Alerts(new long[0], new int[0]);

        /** How many thresholds {@code spend} has reached. */
        int reached(long spend) {
            int n = 0;
            while (n < at.length && spend >= at[n]) {
                n++;
            }
            return n;
        }
    }

    private final String ledger;
    private volatile Alerts alerts = Alerts.NONE;
    private volatile long limit;
    private volatile BudgetDuration duration;
    private final AtomicReference<Period> period;
    private final AtomicLong total;

    /**
     * @param limit    nano-USD per period; negative: no ceiling (spend is still counted)
     * @param duration null: one period that never ends
     * @param recorded what the store holds for this ledger, or null
     */
    public Budget(String ledger, long limit, BudgetDuration duration, SpendRecord recorded, long now) {
        this.ledger = ledger;
        this.limit = limit;
        this.duration = duration;
        Period p;
        if (recorded != null && (duration == null) == (recorded.periodEnd() == 0)) {
            p = new Period(recorded.periodStart(), recorded.periodEnd(), recorded.periodSpend());
        } else {
            p = new Period(now, duration == null ? 0 : duration.end(now), 0); // new, or its duration changed
        }
        this.period = new AtomicReference<>(p);
        this.total = new AtomicLong(recorded == null ? 0 : recorded.totalSpend());
    }

    public String ledger() {
        return ledger;
    }

    /** The ceiling in nano-USD, or negative for none. */
    public long limit() {
        return limit;
    }

    public BudgetDuration duration() {
        return duration;
    }

    /**
     * New settings from an admin. A new duration keeps the current period's start and spend and
     * ends it where the new duration says (at once, when that is past).
     */
    public void update(long newLimit, BudgetDuration newDuration) {
        limit = newLimit;
        if (java.util.Objects.equals(newDuration, duration)) {
            return;
        }
        duration = newDuration;
        Period p = period.get();
        p.end = newDuration == null ? 0 : newDuration.end(p.start); // the same period: its open reservations settle in it
    }

    public long totalSpent() {
        return total.get();
    }

    /** The period {@code now} falls in, starting new ones as their ends pass. */
    public Period current(long now) {
        while (true) {
            Period p = period.get();
            long end0 = p.end;
            if (end0 == 0 || now < end0) {
                return p;
            }
            BudgetDuration d = duration;
            if (d == null) {
                return p;
            }
            long start = end0;
            long end = d.end(start);
            while (end <= now) { // idle for several periods: the current one starts at a boundary too
                start = end;
                end = d.end(start);
            }
            period.compareAndSet(p, new Period(start, end, 0));
        }
    }

    /**
     * Reserves {@code amount} in the current period: the reservation, or null when it would pass the
     * ceiling (a ledger already at its ceiling refuses even a request that costs nothing).
     */
    public Reservation reserve(long amount, long now) {
        Period p = current(now);
        long limit = this.limit;
        if (limit < 0) {
            p.committed.addAndGet(amount);
            return new Reservation(this, p, amount);
        }
        while (true) {
            long c = p.committed.get();
            if (c >= limit || amount > limit - c) { // not c + amount: a huge amount would wrap round and pass
                return null;
            }
            if (p.committed.compareAndSet(c, c + amount)) {
                return new Reservation(this, p, amount);
            }
        }
    }

    /** Gives a reservation back whole (its attempt failed, or a later level refused). */
    public static void release(Reservation r) {
        r.period.committed.addAndGet(-r.amount);
    }

    /** Replaces a reservation by the real cost, in the period it was made in. */
    public static void settle(Reservation r, long cost) {
        r.period.committed.addAndGet(cost - r.amount);
        r.period.spent.addAndGet(cost);
        r.budget.total.addAndGet(cost);
    }

    /** New alert thresholds; the current period has already sent those its spend has reached. */
    public void alerts(Alerts a) {
        alerts = a;
        Period p = period.get();
        p.alerted.set(a.reached(p.spent.get()));
    }

    public Alerts alerts() {
        return alerts;
    }

    /**
     * After a settle: the thresholds the period's spend has newly reached, as {@code [from, to)}
     * indexes into {@link #alerts()} packed in a long ({@code from << 32 | to}), or 0 for none. A
     * compare-and-set hands each threshold of a period to exactly one caller, however many settle at once.
     */
    public static long crossed(Reservation r) {
        Alerts a = r.budget.alerts;
        if (a.at.length == 0) {
            return 0;
        }
        Period p = r.period;
        while (true) {
            int sent = p.alerted.get();
            if (sent < 0) {
                p.alerted.compareAndSet(-1, a.reached(p.initialSpent));
                continue;
            }
            int reached = a.reached(p.spent.get());
            if (reached <= sent) {
                return 0;
            }
            if (p.alerted.compareAndSet(sent, reached)) {
                return (long) sent << 32 | reached;
            }
        }
    }

    /**
     * What the shared ledger says (cluster mode), as of a round trip ago: the period it is in and its
     * sums. This gateway's own open reservations stay counted in {@code committed} (they matter only
     * when it must decide alone, Redis being away).
     */
    public void observe(long start, long end, long spent, long totalSpent) {
        Period p = period.get();
        if (start > p.start) {
            period.compareAndSet(p, new Period(start, end, spent));
        } else if (start == p.start) {
            long old = p.spent.getAndSet(spent);
            p.committed.addAndGet(spent - old);
        }
        total.accumulateAndGet(totalSpent, Math::max);
    }

    /** Spend settled in the period {@code now} falls in. */
    public long spent(long now) {
        return current(now).spent.get();
    }
}
