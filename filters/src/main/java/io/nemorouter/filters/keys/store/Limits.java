package io.nemorouter.filters.keys.store;

/**
 * What a key, team or organization may spend and how fast; a null field is no limit at that level.
 *
 * @param maxBudget           USD per budget period (or in all, without a duration)
 * @param budgetDuration      how often spend resets ({@code 30m}, {@code 1h}, {@code 1d}, {@code 7d},
 *                            {@code 30d}, {@code 1mo}); null: never
 * @param rpmLimit            requests per minute
 * @param tpmLimit            tokens (prompt and completion) per minute
 * @param maxParallelRequests requests in flight at once
 * @param softBudget          USD per budget period past which alerts go out but nothing is refused
 * @param alertThresholds     percents of the soft budget (else of the budget) whose crossing sends one alert
 *                            a period; null: the gateway's defaults ({@link #DEFAULT_ALERT_THRESHOLDS}), empty: none
 */
public record Limits(Double maxBudget, String budgetDuration, Long rpmLimit, Long tpmLimit, Integer maxParallelRequests,
                     Double softBudget, java.util.List<Integer> alertThresholds) {
    public static final Limits NONE = new Limits(null, null, null, null, null, null, null);
    public static final java.util.List<Integer> DEFAULT_ALERT_THRESHOLDS = java.util.List.of(80, 100);

    /** The spend the thresholds are percents of, in USD: the soft budget, else the budget; null when neither is set. */
    public Double alertBase() {
        return softBudget != null ? softBudget : maxBudget;
    }

    /** The thresholds in force, ascending. */
    public java.util.List<Integer> thresholds() {
        return alertThresholds == null ? DEFAULT_ALERT_THRESHOLDS : alertThresholds;
    }
}
