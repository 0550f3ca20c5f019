package io.nemorouter.filters.keys.store;

/**
 * The recorded spend of one ledger (a key, team or organization), in nano-USD (10^-9 USD, so sums
 * stay exact).
 *
 * @param periodStart epoch ms when the current budget period began
 * @param periodEnd   epoch ms when it ends (spend resets); 0: it never does
 * @param periodSpend settled spend within the period
 * @param totalSpend  settled spend since the ledger began
 */
public record SpendRecord(long periodStart, long periodEnd, long periodSpend, long totalSpend) {
    public static final long NANOS_PER_USD = 1_000_000_000L;

    /** This record with {@code nanoUsd} settled in the period that began at {@code start}. */
    public SpendRecord plus(long start, long end, long nanoUsd) {
        if (start == periodStart) {
            return new SpendRecord(periodStart, periodEnd, periodSpend + nanoUsd, totalSpend + nanoUsd);
        }
        if (start > periodStart) { // the first settlement of a new period
            return new SpendRecord(start, end, nanoUsd, totalSpend + nanoUsd);
        }
        return new SpendRecord(periodStart, periodEnd, periodSpend, totalSpend + nanoUsd); // a period already over
    }
}
