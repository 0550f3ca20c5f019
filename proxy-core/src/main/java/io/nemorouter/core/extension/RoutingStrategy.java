package io.nemorouter.core.extension;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.Exchange;

import java.util.List;

/**
 * Orders the deployments that may serve a request. The dispatcher tries them in that order: it
 * moves to the next when an attempt fails before its answer's head with a retryable cause (connect
 * failure, timeout, an upstream that closed, a 429 or 5xx), and stops at the first answer. So
 * retries and fallbacks are a matter of the list: the same deployment twice is a retry, another
 * one a fallback. Called once per request on the exchange's event loop: it must not block, and
 * should not allocate where it can return a list it keeps.
 */
@FunctionalInterface
public interface RoutingStrategy {
    /**
     * The candidates, best first. An empty list means none: the strategy may have answered the
     * exchange itself (a 400 for a tag no deployment has); if it did not, the client gets 404
     * {@code model_not_found}.
     */
    List<Deployment> route(Exchange exchange);
}
