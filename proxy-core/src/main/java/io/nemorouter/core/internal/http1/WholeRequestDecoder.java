package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;

/**
 * Sits in front of Netty's request decoder and aggregator and takes the fast way for a read that
 * holds exactly one plain request ({@link WholeRequest}): the {@link FullHttpRequest} they would
 * have produced, made in one pass. Every other read goes to them as it came, and while they are
 * part way through a request every read does.
 */
public final class WholeRequestDecoder extends ChannelInboundHandlerAdapter {
    private final WholeRequest whole;
    private final GatewayRequestDecoder general;
    /** The aggregator's context, found on first use: a whole request is fired from there, past the two handlers it does not need. */
    private ChannelHandlerContext afterDecoders;

    public WholeRequestDecoder(WholeRequest whole, GatewayRequestDecoder general) {
        this.whole = whole;
        this.general = general;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf in && general.between()) {
            FullHttpRequest request = whole.parse(in);
            if (request != null) {
                if (afterDecoders == null) {
                    ChannelHandlerContext aggregator = ctx.pipeline().context(BodyLimitAggregator.class);
                    afterDecoders = aggregator != null ? aggregator : ctx;
                }
                afterDecoders.fireChannelRead(request);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }
}
