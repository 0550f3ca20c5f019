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
 */
public record Limits(Double maxBudget, String budgetDuration, Long rpmLimit, Long tpmLimit, Integer maxParallelRequests) {
    public static final Limits NONE = new Limits(null, null, null, null, null);
}
