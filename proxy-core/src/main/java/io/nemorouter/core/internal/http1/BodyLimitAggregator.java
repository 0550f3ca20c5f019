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
 * only knows when to give it. Either way the connection closes after the answer: after a sent body
 * the rest of it is unread, and after an expectation refused the decoder still counts on the
 * announced body (a client that sent it anyway would have it read as requests).
 */
public final class BodyLimitAggregator extends HttpObjectAggregator {
    private final Function<HttpMessage, FullHttpResponse> tooLarge;

    public BodyLimitAggregator(int maxBytes, Function<HttpMessage, FullHttpResponse> tooLarge) {
        super(maxBytes, true); // close after a refused expectation, see the class comment
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
            FullHttpResponse ours = tooLarge.apply(start);
            ours.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            return ours;
        }
        return answer;
    }
}
