package io.nemorouter.examples.stamp;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;

/**
 * After routing, once per attempt: {@code x-stamp-route: <client> via <deployment>}, from the state
 * {@link StampHeader} set before routing and the deployment the attempt goes to. A fallback to
 * another deployment runs this again, so the header names the one that answered.
 */
final class RouteHeader implements RequestFilter {
    @Override
    public Verdict filter(Exchange exchange) {
        String client = exchange.get(StampExtension.CLIENT);
        exchange.responseHeader("x-stamp-route", client + " via " + exchange.deployment().id());
        return Verdict.CONTINUE;
    }
}
