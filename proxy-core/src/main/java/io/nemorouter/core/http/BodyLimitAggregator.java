package io.nemorouter.core.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Netty's aggregator with the body limit answered in OpenAI's envelope (Netty's own 413 has
 * no body). The connection is closed after, since the rest of the oversized body is unread.
 */
public final class BodyLimitAggregator extends HttpObjectAggregator {
    private final int maxBytes;

    public BodyLimitAggregator(int maxBytes) {
        super(maxBytes);
        this.maxBytes = maxBytes;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        FullHttpResponse r = new OpenAiError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error",
                "request_too_large", null, "The request body is larger than the gateway's limit of " + maxBytes
                + " bytes (nemo.server.max_body_size).").toResponse(ctx.alloc());
        // no exchange exists for a request refused before its body is read, but its answer still has an id
        String clientId = oversized.headers().get(Exchange.X_REQUEST_ID);
        r.headers().set(Exchange.X_REQUEST_ID, RequestIds.acceptable(clientId) ? clientId : RequestIds.next())
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        LingeringClose.after(ctx.writeAndFlush(r));
    }
}
