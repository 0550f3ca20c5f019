package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * Netty's response encoder, except that a {@link ByteBuf} goes to the socket as it is: the gateway
 * writes one only as a complete answer already in HTTP bytes (the exchange),
 * never between a head and its last content.
 *
 * <p>Unlike {@code HttpServerCodec} this keeps no queue of request methods, so the one thing that
 * queue was for, answering {@code HEAD} without a body, is done by the exchange.
 */
public final class GatewayResponseEncoder extends HttpResponseEncoder {
    @Override
    public boolean acceptOutboundMessage(Object msg) throws Exception {
        return !(msg instanceof ByteBuf) && super.acceptOutboundMessage(msg);
    }
}
