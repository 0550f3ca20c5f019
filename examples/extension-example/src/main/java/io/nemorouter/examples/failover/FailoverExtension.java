package io.nemorouter.examples.failover;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.RoutingStrategy;

import java.util.List;

/**
 * {@code failover}: a routing strategy that offers every catalog entry of the requested name, in
 * the catalog's order. The gateway's dispatcher does the rest: when an attempt fails before its
 * answer's head (connect failure, timeout, a 429 or 5xx) it tries the next entry, and the answer
 * says so in {@code x-nemo-fallbacks}. Off by default, since it replaces the built-in {@code route}:
 * {@code nemo { route.enabled = false, failover.enabled = true }}.
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
    public List<Deployment> route(Exchange exchange) {
        return catalog.deployments(exchange.body().model()); // kept by the catalog: nothing allocated
    }
}
