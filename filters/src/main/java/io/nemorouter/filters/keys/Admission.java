package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.AnswerListener;
import io.nemorouter.core.exchange.AttemptRecord;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Usage;
import io.nemorouter.filters.keys.cluster.RedisLedgers;
import io.nemorouter.filters.keys.state.Budget;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.RateLimit;
import io.nemorouter.filters.keys.state.Registry;

import java.util.ArrayList;
import java.util.List;

/**
 * What one keyed request holds at each level (key, team, organization) while it runs: a place
 * in flight, the tokens its TPM limits reserved, and the budget reservations of its current
 * attempt. Listens to the answer and gives everything back, or settles it, exactly once: a failed
 * attempt's reservations go back before the next attempt reserves its own, and the completion
 * settles tokens and cost with the real usage. Confined to the exchange's event loop.
 */
final class Admission implements AnswerListener {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Admission.class);
    final Entity<?>[] levels;
    /** Tokens reserved at admission (prompt estimate + max output), per level's TPM limit. */
    final long[] tokensTaken;
    /** Whether admission took one request from each level's RPM limit. */
    final boolean[] rpmTaken;
    /**
     * The limits admission took from, per level (null where a level has none): what is given back or
     * charged later goes to these, even if an admin has replaced a level's limits meanwhile.
     */
    final RateLimit[] rpm;
    final RateLimit[] tpm;
    final long promptEstimate;
    private final Registry registry;
    private final Exchange exchange;
    private final BudgetAlerts alerts;
    /** The current attempt's reservations, per level (null where the level has none). */
    private Budget.Reservation[] reservations;
    private boolean settled;
    /** Cluster mode: the shared ledgers every settlement goes to; null when the gateway runs alone. */
    private final RedisLedgers ledgers;
    /** Cluster mode, admitted by Redis: what the request took there (null: admitted here, Redis being away). */
    SharedShare share;

    /**
     * What a request admitted by the shared ledgers holds of them, per level (from this replica's
     * leases or granted by Redis): its RPM request, its TPM tokens, its place in flight, its budget
     * reservation for the dearest deployment so far (covering every attempt), and what a dearer
     * deployment's top-up added.
     */
    static final class SharedShare {
        final Leases.Share[] levels;
        final List<Leases.Share[]> topUps = new ArrayList<>(1);
        long worst;

        SharedShare(Leases.Share[] levels, long worst) {
            this.levels = levels;
            this.worst = worst;
        }

        void add(Leases.Share[] topUp, long worst) {
            topUps.add(topUp);
            this.worst = worst;
        }
    }

    Admission(Entity<?>[] levels, long promptEstimate, Registry registry, Exchange exchange, BudgetAlerts alerts) {
        this(levels, promptEstimate, registry, exchange, alerts, null);
    }

    Admission(Entity<?>[] levels, long promptEstimate, Registry registry, Exchange exchange, BudgetAlerts alerts, RedisLedgers ledgers) {
        this.ledgers = ledgers;
        this.exchange = exchange;
        this.alerts = alerts;
        this.levels = levels;
        this.tokensTaken = new long[levels.length];
        this.rpmTaken = new boolean[levels.length];
        this.rpm = new RateLimit[levels.length];
        this.tpm = new RateLimit[levels.length];
        this.promptEstimate = promptEstimate;
        this.registry = registry;
    }

    void reserved(Budget.Reservation[] r) {
        reservations = r;
    }

    /** Gives back the current attempt's budget reservations. */
    void releaseReservations() {
        Budget.Reservation[] r = reservations;
        reservations = null;
        if (r != null) {
            for (Budget.Reservation one : r) {
                if (one != null) {
                    Budget.release(one);
                }
            }
        }
    }

    /** Gives back what admission took at the first {@code n} levels (the last of them, or a later one, refused). */
    void rollBack(int n, long now) {
        for (int i = 0; i < n; i++) {
            levels[i].inFlight.decrementAndGet();
            if (rpmTaken[i] && rpm[i] != null) {
                rpm[i].adjust(-1, now);
            }
            if (tokensTaken[i] > 0 && tpm[i] != null) {
                tpm[i].adjust(-tokensTaken[i], now);
            }
        }
    }

    static final String KEY_SPEND = "x-nemo-key-spend";

    /**
     * {@code x-nemo-key-spend}: the key's spend in its current budget period with this call's cost,
     * on every answer whose cost is known before its head (non-streaming ones).
     */
    @Override
    public void onHead(Exchange exchange, int status) {
        double cost = exchange.cost();
        if (cost >= 0) {
            long spent = levels[0].budget.spent(registry.clock().millis()) + Math.round(cost * 1e9);
            exchange.responseHeader(KEY_SPEND, java.math.BigDecimal.valueOf(spent, 9).stripTrailingZeros().toPlainString());
        }
    }

    @Override
    public void onAttemptFailed(Exchange exchange, AttemptRecord attempt) {
        if (share == null) { // in cluster mode one reservation covers every attempt, settled at the end
            releaseReservations();
        }
    }

    @Override
    public void onComplete(Completion c) {
        if (settled) {
            return;
        }
        settled = true;
        long now = registry.clock().nanos();
        Usage usage = c.usage();
        // refused by the gateway before any upstream was asked (a budget, an unknown model): the request
        // used no provider capacity, so it does not count against the rate limits either. An answer (2xx)
        // always counts: a provider that answers in the gateway (the built-in mock) records no attempt
        boolean noAttempt = c.status() >= 400;
        for (AttemptRecord a : c.attempts()) {
            noAttempt &= a.outcome() == AttemptRecord.Outcome.ABANDONED;
        }
        // answered from the cache: it counts toward the RPM limits (a request was made), but used no tokens
        boolean hit = "hit".equals(c.cacheDecision());
        noAttempt &= !hit;
        // a client that left mid-answer (499) still used what the upstream generated until then; so did one
        // that left, or timed out (504), after the request had gone upstream: the provider bills those too
        boolean answered = c.headSentNanos() != 0 && (c.status() < 400 || c.cancelled())
                || c.upstreamSentNanos() != 0 && (c.cancelled() || c.status() == 504);
        if (share != null) {
            settleShared(c, noAttempt, hit, answered);
            return;
        }
        for (int i = 0; i < levels.length; i++) {
            levels[i].inFlight.decrementAndGet();
            if (noAttempt && rpm[i] != null) {
                rpm[i].adjust(-1, now);
            }
            RateLimit tpm = this.tpm[i];
            if (tpm != null && tokensTaken[i] > 0) {
                // the real count when the answer had usage; a failure used no tokens; a stream that broke
                // without its usage event keeps the reservation
                long used = hit ? 0 : usage != null ? usage.totalTokens() : answered ? tokensTaken[i] : 0;
                if (used != tokensTaken[i]) {
                    tpm.adjust(used - tokensTaken[i], now);
                }
            } else if (tpm != null && usage != null) {
                tpm.adjust(usage.totalTokens(), now);
            }
        }
        Budget.Reservation[] r = reservations;
        reservations = null;
        if (r == null) {
            return;
        }
        long[] costs = new long[r.length];
        for (int i = 0; i < r.length; i++) { // every level in memory first: a store failure must not strand a reservation
            if (r[i] != null) {
                costs[i] = cost(c, answered, r[i].amount());
                registry.settle(r[i], costs[i]);
            }
        }
        List<BudgetAlert> crossed = null;
        for (int i = 0; i < r.length; i++) {
            long range = r[i] == null || costs[i] == 0 ? 0 : Budget.crossed(r[i]);
            for (int t = (int) (range >>> 32); t < (int) range; t++) {
                if (crossed == null) {
                    crossed = new ArrayList<>(2);
                }
                crossed.add(alert(levels[i], r[i], t, c.requestId()));
            }
        }
        if (crossed != null) {
            exchange.set(BudgetAlert.KEY, crossed); // for the request log, which reads it next
            crossed.forEach(alerts::publish);
        }
        if (ledgers != null) { // admitted here while Redis was away: the spend still goes to the shared ledgers
            List<RedisLedgers.SettleLevel> spend = new ArrayList<>(r.length);
            for (int i = 0; i < r.length; i++) {
                if (r[i] != null) {
                    spend.add(new RedisLedgers.SettleLevel(levels[i].ledger, r[i].period().start, r[i].period().end, 0, costs[i], 0, 0,
                            0, 0, 0, null));
                }
            }
            ledgers.settle(spend, null);
            return;
        }
        for (int i = 0; i < r.length; i++) {
            if (r[i] != null) {
                try {
                    registry.writeThrough(r[i], costs[i]);
                } catch (RuntimeException e) {
                    LOG.error("spend of request {} could not be written to the store for {}", c.requestId(), levels[i], e);
                }
            }
        }
    }

    private BudgetAlert alert(Entity<?> level, Budget.Reservation r, int threshold, String requestId) {
        return BudgetAlert.crossed(level, r.budget().alerts(), threshold, r.period().spent(), r.period().end, requestId,
                registry.clock().millis());
    }

    /**
     * Cluster mode: one settle script call for every level (its reservation by the real cost, tokens
     * and the request given back where due, its place in flight freed); the ledgers' new state comes
     * back to the local budgets, and a crossed alert threshold (handed to one settlement cluster-wide)
     * goes out from here. Off the event loop from the call on.
     */
    private void settleShared(Completion c, boolean noAttempt, boolean hit, boolean answered) {
        Usage usage = c.usage();
        Leases leases = share.levels.length == 0 ? null : share.levels[0].leases;
        List<RedisLedgers.SettleLevel> settle = new ArrayList<>(levels.length);
        Budget.Alerts[] alertsAt = new Budget.Alerts[levels.length];
        // a cache hit costs nothing (it was reserved for, before the cache answered)
        long cost = hit ? 0 : cost(c, answered, share.worst);
        for (int i = 0; i < levels.length; i++) {
            levels[i].inFlight.decrementAndGet();
            Leases.Share s = share.levels[i];
            long tokensUsed = hit ? 0 : usage != null ? usage.totalTokens() : answered ? tokensTaken[i] : 0;
            alertsAt[i] = levels[i].budget.alerts();
            settle.add(leases.settle(s, cost, tokensUsed, usage != null && !hit, noAttempt, alertsAt[i].at()));
        }
        List<RedisLedgers.SettleLevel> topUps = new ArrayList<>(0);
        for (Leases.Share[] t : share.topUps) { // its cost was settled above: only the extra reservation goes back
            for (Leases.Share s : t) {
                RedisLedgers.SettleLevel back = leases.settle(s, 0, 0, false, false, null);
                if (!back.empty()) {
                    topUps.add(back);
                }
            }
        }
        if (!topUps.isEmpty()) {
            ledgers.settle(topUps, null);
        }
        String requestId = c.requestId();
        ledgers.settle(settle, settled -> {
            long[] s = settled.state();
            for (int i = 0; i < levels.length && (i + 1) * RedisLedgers.Settled.PER_LEVEL <= s.length; i++) {
                int o = i * RedisLedgers.Settled.PER_LEVEL;
                levels[i].budget.observe(s[o], s[o + 1], s[o + 2], s[o + 3]);
                alerts.publishCrossed(levels[i], alertsAt[i], s, o, requestId, registry.clock().millis());
            }
        });
    }

    /**
     * The cost to settle: from the usage when the answer had one; nothing for an answer that
     * failed; the reservation (the worst case) for an answer without usage (a stream cut short,
     * a body too large to read), so the ceiling holds. The request log will estimate better.
     */
    private static long cost(Completion c, boolean answered, long reserved) {
        if (c.usage() != null && c.cost() >= 0) {
            return Math.round(c.cost() * 1e9);
        }
        return answered ? reserved : 0;
    }
}
