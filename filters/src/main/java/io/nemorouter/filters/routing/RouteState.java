package io.nemorouter.filters.routing;

import io.nemorouter.core.exchange.Key;

/**
 * One request's way through the router: the capability tags it needs, the groups it may go
 * through in order (its model's group, then that group's fallbacks), where it is in them, and
 * which deployments of the current group it has tried. Kept on the exchange.
 */
final class RouteState {
    static final Key<RouteState> KEY = Key.of("router.state");

    final long tags;
    final Group[] chain;
    int link;
    long tried;
    /** Members of the current group not to try again in this request: their upstream asked for a longer wait than a retry may take. */
    long noRetry;
    int retriesLeft;
    /** The deployment whose half-open probe this request holds, or null: given back if the request ends without using it. */
    DeploymentState probe;

    RouteState(long tags, Group[] chain) {
        this.tags = tags;
        this.chain = chain;
        this.retriesLeft = chain.length == 0 ? 0 : chain[0].settings.numRetries();
    }
}
