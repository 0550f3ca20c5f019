package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.List;

/**
 * Netty's request decoder, telling {@link WholeRequestDecoder} whether it is between messages
 * with nothing buffered, the only time a read may bypass it. After a malformed request it never
 * is again: the connection is closing, and what follows is discarded by this decoder.
 */
public final class GatewayRequestDecoder extends HttpRequestDecoder {
    private boolean midMessage;
    private boolean broken;

    public GatewayRequestDecoder(HttpDecoderConfig config) {
        super(config);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        int before = out.size();
        super.decode(ctx, buffer, out);
        for (int i = before; i < out.size(); i++) {
            Object o = out.get(i);
            if (o instanceof DecoderResultProvider d && d.decoderResult().isFailure()) {
                broken = true;
            }
            if (o instanceof HttpMessage) {
                midMessage = true;
            }
            if (o instanceof LastHttpContent) {
                midMessage = false;
            }
        }
    }

    /** Whether the next read may be taken as a whole request without this decoder losing its place. */
    boolean between() {
        ByteBuf buffered = internalBuffer();
        return !midMessage && !broken && !buffered.isReadable();
    }
}
