package io.nemorouter.core.extension;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AttemptRecord;
import io.nemorouter.core.exchange.Exchange;

/**
 * Chooses the deployment of each attempt of a request. The dispatcher asks for the first one,
 * and, each time an attempt fails before its answer's head with a retryable cause (connect
 * failure, timeout, an upstream that closed, a 429 or 5xx), for the next, giving the failed
 * attempt: the same deployment again is a retry, another one a fallback, null the end (the client
 * gets the last failure). A strategy learns how attempts go from {@link #attemptStarted} and
 * {@link #attemptEnded}, so what one request sees (a cooldown, a slow deployment) steers the next.
 *
 * <p>Called on the exchange's event loop: nothing here may block, and choosing should not allocate.
 * Per-request progress belongs on the exchange ({@link Exchange#set}).
 */
public interface RoutingStrategy {
    /**
     * The deployment for the exchange's next attempt, or null when there is none (left). For the
     * first attempt {@code failed} is null; after that it is the attempt that failed. On the first
     * call the strategy may answer the exchange itself instead (a 400 for a capability no
     * deployment has) and return null; if it does not, null means 404 {@code model_not_found}.
     * The dispatcher may ask once while the failed attempt is still deciding whether to refuse
     * its upstream's 429 or 5xx (its status and {@code Retry-After} are set by then), and uses
     * that answer.
     */
    Deployment next(Exchange exchange, AttemptRecord failed);

    /** How long to wait before the attempt on {@code next} after {@code failed}: 0 for at once (the default). */
    default long delayMillis(Exchange exchange, AttemptRecord failed, Deployment next) {
        return 0;
    }

    /** An attempt on {@code attempt.deployment()} begins (its request is about to go upstream). */
    default void attemptStarted(Exchange exchange, AttemptRecord attempt) {
    }

    /**
     * An attempt begun with {@link #attemptStarted} has ended, once: answered (at the end of its
     * answer, streams included), failed, cancelled or abandoned; its times and status are final.
     */
    default void attemptEnded(Exchange exchange, AttemptRecord attempt) {
    }
}
