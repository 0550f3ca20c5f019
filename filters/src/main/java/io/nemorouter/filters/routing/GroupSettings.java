package io.nemorouter.filters.routing;

import java.util.List;

/**
 * One model group's routing settings: {@code nemo.router.groups."<name>"} over the router's defaults.
 *
 * @param numRetries             more attempts within the group after a retryable failure (other
 *                               deployments first, the same one again after a backoff)
 * @param fallbacks              other groups to try, in order, when the group has nothing left
 * @param contextWindowFallbacks groups for a request too long for this group's context window
 */
record GroupSettings(Balance balance, int numRetries, List<String> fallbacks, List<String> contextWindowFallbacks,
                     int allowedFails, long cooldownMillis, long failureWindowMillis, long retryBackoffMillis,
                     long maxRetryAfterMillis) {
}
