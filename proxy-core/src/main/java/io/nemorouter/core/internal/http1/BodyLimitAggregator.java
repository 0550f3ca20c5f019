package io.nemorouter.core.internal.http1;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.function.Function;

/**
 * Netty's aggregator with the gateway's own answer to a body over the limit (Netty's 413 has no
 * body), whether the client sent the body or asked first with {@code Expect: 100-continue} (curl
 * does for large bodies). The answer is made by the server layer ({@code tooLarge}); this class
 * only knows when to give it. After a sent body the connection is closed, since the rest of it is
 * unread; after an expectation the client sends no body and the connection stays usable.
 */
public final class BodyLimitAggregator extends HttpObjectAggregator {
    private final Function<HttpMessage, FullHttpResponse> tooLarge;

    public BodyLimitAggregator(int maxBytes, Function<HttpMessage, FullHttpResponse> tooLarge) {
        super(maxBytes);
        this.tooLarge = tooLarge;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        FullHttpResponse r = tooLarge.apply(oversized);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        LingeringClose.after(ctx.writeAndFlush(r));
    }

    @Override
    protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
        Object answer = super.newContinueResponse(start, maxContentLength, pipeline);
        if (answer instanceof FullHttpResponse r && r.status().code() == HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code()) {
            r.release();
            return tooLarge.apply(start);
        }
        return answer;
    }
}
