package io.nemorouter.examples.failover;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AttemptRecord;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.RoutingStrategy;

import java.util.List;

/**
 * {@code failover}: a routing strategy that goes through every catalog entry of the requested name,
 * in the catalog's order. The gateway's dispatcher does the rest: when an attempt fails before its
 * answer's head (connect failure, timeout, a 429 or 5xx) it asks for the next entry, and the answer
 * says so in {@code x-nemo-fallbacks}. Off by default, since it replaces the built-in {@code router}:
 * {@code nemo { router.enabled = false, failover.enabled = true }}.
 */
public final class FailoverExtension implements Extension, RoutingStrategy {
    private io.nemorouter.core.config.ModelCatalog catalog;

    @Override
    public String name() {
        return "failover";
    }

    @Override
    public void start(ExtensionContext context) {
        catalog = context.catalog();
        context.routingStrategy(this);
    }

    @Override
    public Deployment next(Exchange exchange, AttemptRecord failed) {
        List<Deployment> all = catalog.deployments(exchange.body().model()); // kept by the catalog: nothing allocated
        if (failed == null) {
            return all.isEmpty() ? null : all.get(0);
        }
        int i = all.indexOf(failed.deployment());
        return i >= 0 && i + 1 < all.size() ? all.get(i + 1) : null; // the next entry, until there are none
    }

    /** Another entry follows this one: only then is an upstream's 429 or 5xx refused (else it goes to the client as it came). */
    @Override
    public boolean mayRetry(Exchange exchange, AttemptRecord failed) {
        List<Deployment> all = catalog.deployments(exchange.body().model());
        int i = all.indexOf(failed.deployment());
        return i >= 0 && i + 1 < all.size();
    }
}
