package io.nemorouter.filters.routing;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.RoutingStrategy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code route}: the gateway's routing strategy until balancing and fallback arrive. A request
 * goes to the first catalog entry of its model's name, and only there: a later entry of the same
 * name is a stand-in (the mock behind a real upstream whose key is unset), not a fallback. An
 * unknown model gets 404 {@code model_not_found} from the dispatcher. The lists are built once:
 * choosing allocates nothing.
 */
public final class RouteExtension implements Extension, RoutingStrategy {
    private final Map<String, List<Deployment>> firstByName = new HashMap<>();

    @Override
    public String name() {
        return "route";
    }

    @Override
    public void start(ExtensionContext context) {
        ModelCatalog catalog = context.catalog();
        for (String name : catalog.names()) {
            firstByName.put(name, List.of(catalog.deployments(name).get(0)));
        }
        context.routingStrategy(this);
    }

    @Override
    public List<Deployment> route(Exchange exchange) {
        List<Deployment> first = firstByName.get(exchange.body().model());
        return first == null ? List.of() : first;
    }
}
