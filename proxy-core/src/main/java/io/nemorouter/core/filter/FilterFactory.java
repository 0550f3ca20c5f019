package io.nemorouter.core.filter;

import io.nemorouter.core.GatewayContext;
import io.netty.channel.ChannelHandler;

/**
 * Makes a named filter; found through {@link java.util.ServiceLoader}, so a filter in another
 * jar is enabled by naming it in {@code nemo.pipeline}. A {@link ChannelHandler.Sharable}
 * filter is created once; any other once per connection.
 */
public interface FilterFactory {
    String name();

    ChannelHandler create(GatewayContext context);
}
