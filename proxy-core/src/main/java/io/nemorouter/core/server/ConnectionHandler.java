package io.nemorouter.core.server;

import io.nemorouter.core.engine.GatewayRuntime;
import io.nemorouter.core.engine.RouteTable;
import io.nemorouter.core.engine.ServerExchange;
import io.nemorouter.core.extension.HealthCheck;
import io.nemorouter.core.internal.http1.LingeringClose;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.RequestIds;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;

import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;

/**
 * One per client connection, and the owner of its lifecycle. Turns each aggregated HTTP request
 * into a {@link ServerExchange} and starts it, one at a time (pipelined requests wait their turn):
 * health, metrics, unknown paths and unreadable requests are answered here; an extension's route
 * goes to its handler; the OpenAI endpoints are read ({@code model}, {@code stream}, ...) and handed
 * to the runtime (filters, routing, attempts). A client that leaves cancels its exchange; an idle
 * keep-alive connection is closed. Event-loop confined.
 */
public final class ConnectionHandler extends ChannelInboundHandlerAdapter implements ServerExchange.Owner {
    private final GatewayRuntime runtime;
    private final BooleanSupplier draining;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>(0);
    private ChannelHandlerContext ctx;
    private ServerExchange current;

    public ConnectionHandler(GatewayRuntime runtime, BooleanSupplier draining) {
        this.runtime = runtime;
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
            if (waiting.size() >= MAX_PIPELINED) {
                ctx.channel().config().setAutoRead(false); // read no more until some are answered: bounded memory
            }
            return;
        }
        start(request);
    }

    /** Requests a connection may have waiting behind the one being served before the gateway stops reading it. */
    private static final int MAX_PIPELINED = 8;

    private void start(FullHttpRequest request) {
        long now = System.nanoTime();
        String clientId = request.headers().get(ServerExchange.X_REQUEST_ID);
        String id = RequestIds.acceptable(clientId) ? clientId : RequestIds.next();
        Endpoint endpoint = Endpoint.ofPath(request.uri());
        RouteTable.Match extensionRoute = null;
        if (endpoint == Endpoint.UNKNOWN && !request.decoderResult().isFailure()) {
            extensionRoute = runtime.route(request.method(), pathOf(request.uri()));
            if (extensionRoute.route() != null) {
                endpoint = Endpoint.EXTENSION;
            }
        }
        ServerExchange ex = new ServerExchange(runtime, ctx.channel(), request, endpoint, id, now, this);
        current = ex;
        runtime.metrics.requestStarted();

        if (request.decoderResult().isFailure()) {
            rejectUnreadable(ex, request.decoderResult().cause());
            return;
        }
        if (endpoint == Endpoint.EXTENSION) {
            runtime.serve(ex, extensionRoute.route());
            return;
        }
        if (endpoint == Endpoint.UNKNOWN) {
            if (extensionRoute != null && !extensionRoute.allowed().isEmpty()) {
                methodNotAllowed(ex, String.join(", ", extensionRoute.allowed()), request.method());
            } else {
                ex.respond(new OpenAiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "unknown_url", null,
                        "Invalid URL (" + request.method() + " " + pathOf(request.uri()) + ")"));
            }
            return;
        }
        if (!endpoint.allows(request.method())) {
            methodNotAllowed(ex, endpoint.method.name(), request.method());
            return;
        }
        switch (endpoint) {
            case HEALTH -> ex.respond(health());
            case METRICS -> ex.respond(metrics());
            default -> {
                if (endpoint.proxied && !readBody(ex)) {
                    return;
                }
                runtime.handle(ex);
            }
        }
    }

    private boolean readBody(ServerExchange ex) {
        OpenAiError err = ex.readBody();
        if (err != null) {
            ex.respond(err);
            return false;
        }
        return true;
    }

    private void methodNotAllowed(ServerExchange ex, String allowed, HttpMethod method) {
        FullHttpResponse r = new OpenAiError(HttpResponseStatus.METHOD_NOT_ALLOWED, "invalid_request_error",
                "method_not_allowed", null, "Method " + method + " is not allowed on " + ex.path()
                + "; use " + allowed + ".").toResponse(ctx.alloc());
        r.headers().set(HttpHeaderNames.ALLOW, allowed);
        ex.respond(r);
    }

    private void rejectUnreadable(ServerExchange ex, Throwable cause) {
        OpenAiError err = cause instanceof TooLongFrameException
                ? new OpenAiError(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "invalid_request_error",
                "headers_too_large", null, "The request line or headers are too large.")
                : OpenAiError.badRequest("bad_http_request", null, "The HTTP request could not be parsed.");
        FullHttpResponse r = err.toResponse(ctx.alloc());
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ex.respond(r);
        // the HTTP decoder cannot resync after a bad message: close once the answer is out
        LingeringClose.after(ctx.writeAndFlush(Unpooled.EMPTY_BUFFER));
    }

    private FullHttpResponse health() {
        boolean d = draining.getAsBoolean();
        String body = d ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}";
        HttpResponseStatus status = d ? HttpResponseStatus.SERVICE_UNAVAILABLE : HttpResponseStatus.OK;
        java.util.Map<String, HealthCheck> checks = runtime.healthChecks();
        if (!checks.isEmpty()) {
            HealthReport report = HealthReport.of(checks, d);
            body = report.json();
            status = report.down() ? HttpResponseStatus.SERVICE_UNAVAILABLE : status;
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, ServerExchange.utf8(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return r;
    }

    private FullHttpResponse metrics() {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                ServerExchange.utf8(runtime.metrics.scrape()));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return r;
    }

    private static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    @Override
    public void exchangeFinished(ServerExchange exchange) {
        if (current != exchange) {
            return;
        }
        current = null;
        if (!ctx.channel().isActive()) {
            releaseWaiting();
            return;
        }
        FullHttpRequest next = waiting.poll();
        if (waiting.size() < MAX_PIPELINED && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
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
