package io.nemorouter.filters.routing;

import io.nemorouter.core.GatewayContext;
import io.nemorouter.core.filter.FilterFactory;
import io.netty.channel.ChannelHandler;

/** {@code route} in {@code nemo.pipeline}. */
public final class RouteFilterFactory implements FilterFactory {
    @Override
    public String name() {
        return "route";
    }

    @Override
    public ChannelHandler create(GatewayContext context) {
        return new RouteFilter(context.catalog);
    }
}
