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
 * <p>Order after a failure: the attempt ends ({@link #attemptEnded}), then {@link #delayMillis},
 * then, that long later, {@link #next}: a choice always sees the failure it follows, and what
 * changed while a retry waited.
 *
 * <p>Called on the exchange's event loop: nothing here may block, and choosing should not allocate.
 * Per-request progress belongs on the exchange ({@link Exchange#set}).
 */
public interface RoutingStrategy {
    /**
     * The deployment for the exchange's next attempt, or null when there is none (left). For the
     * first attempt {@code failed} is null; after that it is the attempt that failed, already
     * ended. On the first call the strategy may answer the exchange itself instead (a 400 for a
     * capability no deployment has, a 429 when every deployment is at its quota) and return null;
     * if it does not, null means 404 {@code model_not_found}.
     */
    Deployment next(Exchange exchange, AttemptRecord failed);

    /**
     * Whether another attempt may follow {@code failed}, asked while it decides whether to refuse
     * its upstream's 429 or 5xx (its status and wait hint are set; it has not ended). A refusal
     * that {@link #next} then cannot follow gives the client the gateway's own error for that
     * status rather than the upstream's body. No choice is made here. The default: yes.
     */
    default boolean mayRetry(Exchange exchange, AttemptRecord failed) {
        return true;
    }

    /** How long to wait after {@code failed} before asking {@link #next}: 0 for at once (the default). */
    default long delayMillis(Exchange exchange, AttemptRecord failed) {
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
