package io.nemorouter.core.http;

import io.nemorouter.core.GatewayContext;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;

import java.util.ArrayDeque;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * One per client connection. Turns each aggregated HTTP request into an {@link Exchange} and
 * hands it to the filters, one exchange at a time (pipelined requests wait their turn).
 * Answers itself what needs no model: health, metrics, unknown paths and unreadable bodies.
 * Also owns the connection's lifecycle: a client that leaves cancels its exchange, an idle
 * keep-alive connection is closed. Event-loop confined.
 */
public final class RequestDecoder extends ChannelInboundHandlerAdapter implements Exchange.Owner {
    private final GatewayContext context;
    private final List<ExchangeObserver> observers;
    private final BooleanSupplier draining;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>(0);
    private ChannelHandlerContext ctx;
    private Exchange current;

    public RequestDecoder(GatewayContext context, List<ExchangeObserver> observers, BooleanSupplier draining) {
        this.context = context;
        this.observers = observers;
        this.draining = draining;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (current != null) {
            waiting.add(request);
            return;
        }
        start(request);
    }

    private void start(FullHttpRequest request) {
        long now = System.nanoTime();
        String clientId = request.headers().get(Exchange.X_REQUEST_ID);
        String id = RequestIds.acceptable(clientId) ? clientId : RequestIds.next();
        Endpoint endpoint = Endpoint.ofPath(request.uri());
        Exchange ex = new Exchange(ctx.channel(), request, endpoint, id, now, this, observers);
        current = ex;
        context.metrics.requestStarted();

        if (request.decoderResult().isFailure()) {
            rejectUnreadable(ex, request.decoderResult().cause());
            return;
        }
        if (endpoint == Endpoint.UNKNOWN) {
            ex.respond(new OpenAiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "unknown_url", null,
                    "Invalid URL (" + request.method() + " " + pathOf(request.uri()) + ")"));
            return;
        }
        if (!endpoint.method.equals(request.method())) {
            FullHttpResponse r = new OpenAiError(HttpResponseStatus.METHOD_NOT_ALLOWED, "invalid_request_error",
                    "method_not_allowed", null, "Method " + request.method() + " is not allowed on " + endpoint.path
                    + "; use " + endpoint.method + ".").toResponse(ctx.alloc());
            r.headers().set(HttpHeaderNames.ALLOW, endpoint.method.name());
            ex.respond(r);
            return;
        }
        switch (endpoint) {
            case HEALTH -> ex.respond(health());
            case METRICS -> ex.respond(metrics());
            default -> {
                if (endpoint.proxied && !readFields(ex)) {
                    return;
                }
                ctx.fireChannelRead(ex);
            }
        }
    }

    private boolean readFields(Exchange ex) {
        OpenAiError err = ex.fields.parse(ex.body());
        if (err == null && ex.fields.model == null) {
            err = OpenAiError.badRequest("missing_required_parameter", "model",
                    "You must provide a model parameter.");
        }
        if (err != null) {
            ex.respond(err);
            return false;
        }
        return true;
    }

    private void rejectUnreadable(Exchange ex, Throwable cause) {
        OpenAiError err = cause instanceof TooLongFrameException
                ? new OpenAiError(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "invalid_request_error",
                "headers_too_large", null, "The request line or headers are too large.")
                : OpenAiError.badRequest("bad_http_request", null, "The HTTP request could not be parsed.");
        FullHttpResponse r = err.toResponse(ctx.alloc());
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ex.respond(r);
        // the HTTP decoder cannot resync after a bad message: close once the answer is out
        LingeringClose.after(ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER));
    }

    private FullHttpResponse health() {
        boolean d = draining.getAsBoolean();
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                d ? HttpResponseStatus.SERVICE_UNAVAILABLE : HttpResponseStatus.OK,
                Exchange.utf8(d ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}"));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return r;
    }

    private FullHttpResponse metrics() {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Exchange.utf8(context.metrics.scrape()));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return r;
    }

    private static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    @Override
    public void exchangeFinished(Exchange exchange) {
        if (current != exchange) {
            return;
        }
        current = null;
        if (!ctx.channel().isActive()) {
            releaseWaiting();
            return;
        }
        FullHttpRequest next = waiting.poll();
        if (next != null) {
            // let the finished answer's write complete first; keeps ordering and the stack shallow
            ctx.channel().eventLoop().execute(() -> {
                if (current == null) {
                    start(next);
                } else {
                    waiting.addFirst(next);
                }
            });
        }
    }

    @Override
    public boolean draining() {
        return draining.getAsBoolean();
    }

    /** Whether a request is being served; the drain closes connections for which this is false. */
    public boolean busy() {
        return current != null || !waiting.isEmpty();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (current != null) {
            current.cancel();
        }
        releaseWaiting();
        ctx.fireChannelInactive();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (current != null) {
            current.clientWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && !busy()) {
            ctx.close(); // idle keep-alive connection; busy ones are bounded by upstream timeouts
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // connection-level I/O errors (reset by peer, ...) end in channelInactive, which cleans up
        ctx.close();
    }

    private void releaseWaiting() {
        FullHttpRequest r;
        while ((r = waiting.poll()) != null) {
            r.release();
        }
    }
}
