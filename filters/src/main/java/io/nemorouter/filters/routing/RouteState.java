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
    /** The A/B experiment's variant this request was given, or null. */
    final String variant;
    int link;
    long tried;
    int retriesLeft;

    RouteState(long tags, Group[] chain, String variant) {
        this.tags = tags;
        this.chain = chain;
        this.variant = variant;
        this.retriesLeft = chain.length == 0 ? 0 : chain[0].settings.numRetries();
    }

    /** The variant, for the request log ({@code null} when the request was in no experiment). */
    public String variant() {
        return variant;
    }
}
