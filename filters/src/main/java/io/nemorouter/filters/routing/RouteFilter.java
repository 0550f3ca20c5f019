package io.nemorouter.filters.routing;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.filter.ExchangeFilter;
import io.nemorouter.core.http.Exchange;
import io.nemorouter.core.http.OpenAiError;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;

import java.util.List;

/**
 * Picks the deployment for the requested model: the first catalog entry of that name.
 * An unknown model is answered 404 {@code model_not_found} here, before any provider work.
 * (Tag filters, balancers and fallback chains extend this step.)
 */
@ChannelHandler.Sharable
public final class RouteFilter extends ExchangeFilter {
    private final ModelCatalog catalog;

    public RouteFilter(ModelCatalog catalog) {
        this.catalog = catalog;
    }

    @Override
    protected void filter(ChannelHandlerContext ctx, Exchange exchange) {
        if (exchange.endpoint.proxied) {
            List<Deployment> candidates = catalog.deployments(exchange.fields.model);
            if (candidates.isEmpty()) {
                exchange.respond(OpenAiError.modelNotFound(exchange.fields.model));
                return;
            }
            exchange.deployment(candidates.get(0));
        }
        ctx.fireChannelRead(exchange);
    }
}
