package io.nemorouter.core.filter;

import io.nemorouter.core.http.Exchange;
import io.nemorouter.core.http.OpenAiError;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A step of the request pipeline. It sees each {@link Exchange} once and either passes it on
 * with {@code ctx.fireChannelRead(exchange)} or answers it (an error, a cached reply). A filter
 * that throws answers 500 instead of leaving the client hanging.
 */
public abstract class ExchangeFilter extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ExchangeFilter.class);

    @Override
    public final void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Exchange exchange)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            filter(ctx, exchange);
        } catch (RuntimeException e) {
            LOG.error("filter {} failed on request {}", getClass().getSimpleName(), exchange.requestId, e);
            exchange.fail(OpenAiError.internal("The gateway failed to process the request (" + exchange.requestId + ")."));
        }
    }

    protected abstract void filter(ChannelHandlerContext ctx, Exchange exchange);
}
