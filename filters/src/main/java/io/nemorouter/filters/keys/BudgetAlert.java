package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.Key;

import java.util.List;

/**
 * A key's, team's or organization's spend crossed one of its alert thresholds in the current budget
 * period: sent once per threshold and period (to the alert targets, see the export extension), in
 * the request log of the call that crossed it, and counted in {@code nemo_budget_alerts_total}.
 *
 * @param level     {@code key}, {@code team} or {@code organization}
 * @param id        the key's id, or the team's or organization's
 * @param alias     the key's or team's alias, or null
 * @param threshold the percent crossed
 * @param base      what the percent is of, USD: the soft budget, else the budget
 * @param soft      whether {@code base} is the soft budget
 * @param spend     the spend in the period with the call that crossed it, USD
 * @param budget    the budget (hard ceiling), USD, or null
 * @param periodEnd when the period ends (epoch ms), 0 for never
 */
public record BudgetAlert(String level, String id, String alias, int threshold, double base, boolean soft, double spend,
                          Double budget, long periodEnd, String requestId, long timeMillis) {
    /** The alerts a call's spend set off, for the request log (absent when none). */
    public static final Key<List<BudgetAlert>> KEY = Key.of("budget_alerts");

    /** {@code level}'s spend reached threshold number {@code threshold} of {@code a} (its percents): the alert to send. */
    static BudgetAlert crossed(io.nemorouter.filters.keys.state.Entity<?> level, io.nemorouter.filters.keys.state.Budget.Alerts a,
                               int threshold, long spent, long periodEnd, String requestId, long nowMillis) {
        io.nemorouter.filters.keys.store.LimitedRecord rec =
                level.record() instanceof io.nemorouter.filters.keys.store.LimitedRecord lr ? lr : null;
        String id = rec != null ? rec.id() : level.ledger;
        String alias = rec != null ? rec.alias() : null;
        io.nemorouter.filters.keys.store.Limits l = rec != null ? rec.limits() : null;
        return new BudgetAlert(level.level, id, alias, a.percents()[threshold], l == null || l.alertBase() == null ? 0 : l.alertBase(),
                l != null && l.softBudget() != null, spent / 1e9, l == null ? null : l.maxBudget(), periodEnd, requestId, nowMillis);
    }
}
