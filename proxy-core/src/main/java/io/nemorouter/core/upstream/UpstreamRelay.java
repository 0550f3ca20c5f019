package io.nemorouter.core.upstream;

import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.http.Exchange;
import io.nemorouter.core.http.OpenAiError;
import io.nemorouter.core.usage.UsageScanner;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * Relays one upstream answer at a time to the exchange bound to this connection, on the
 * connection's (= the client's) event loop.
 *
 * <p>Streams and large bodies are relayed piece by piece as they arrive, never copied: each
 * {@link HttpContent} is handed to the client channel and flushed when the read completes.
 * A small non-streaming answer is held (as a composite of the received buffers) until its end,
 * so its usage can be read and {@code x-nemo-response-cost} set before the head goes out; when it
 * arrives whole in one read (the usual case) {@link WholeAnswerDecoder} skips the decoding and it
 * goes to the client as bytes ({@link #onWholeAnswer}).
 * First-byte and total timeouts, and an upstream that dies, end the exchange with 504/502 or,
 * mid-stream, a final error event.
 */
final class UpstreamRelay extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(UpstreamRelay.class);

    private final UpstreamClient client;
    private final Origin pool;
    private final GatewayConfig config;

    private ChannelHandlerContext ctx;
    private Exchange ex;
    private Origin origin;
    private ByteBuf retry;
    private boolean answerStarted;
    private boolean keepAlive;
    private HttpResponse heldHead;
    /** Contents of the current read not yet handed to the client (see {@link #sendBurst}). */
    private HttpContent burstFirst;
    private CompositeByteBuf burst;
    private CompositeByteBuf held;
    /**
     * One timer per connection, armed lazily: an exchange that ends before its deadline leaves it
     * running (no cancel, no re-schedule per request), and when it fires it checks whatever exchange
     * is bound then and re-arms for that one's next deadline, or stops while the connection is idle.
     */
    private ScheduledFuture<?> timer;
    private long timerAt;
    private final Runnable onTimer = this::onTimer;
    private long firstByteDeadline;
    private long totalDeadline;
    private Throwable lastError;
    /** Counts the exchanges bound to this connection, so {@link WholeAnswerDecoder} can tell answers apart. */
    private int answerNumber;

    UpstreamRelay(UpstreamClient client, Origin pool, GatewayConfig config) {
        this.client = client;
        this.pool = pool;
        this.config = config;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    void bind(Exchange exchange, Origin origin, ByteBuf retryCopy) {
        this.ex = exchange;
        this.origin = origin;
        this.retry = retryCopy;
        this.answerStarted = false;
        this.lastError = null;
        this.answerNumber++;
        long now = System.nanoTime();
        firstByteDeadline = now + config.firstByteTimeout.toNanos();
        totalDeadline = now + config.totalTimeout.toNanos();
        long next = Math.min(firstByteDeadline, totalDeadline);
        if (timer != null && timerAt - next > 0) {
            timer.cancel(false); // armed for a later deadline (a long stream before): this one is due sooner
            timer = null;
        }
        if (timer == null) {
            arm(next, now);
        }
    }

    /** The connection this relays; set once the relay is in its pipeline, before any request. */
    Channel channel() {
        return ctx.channel();
    }

    int answerNumber() {
        return answerNumber;
    }

    /** Whether an answer that arrives whole may take {@link #onWholeAnswer}: one is awaited and will be held, not streamed. */
    boolean awaitingWholeAnswer() {
        return ex != null && !answerStarted && !ex.fields.stream && !ex.finished();
    }

    /** A whole non-streaming answer (see {@link WholeAnswerDecoder}): to the client in one write. Releases it. */
    void onWholeAnswer(WholeAnswer answer) {
        answerBegins(answer.keepAlive);
        try {
            ex.usage(UsageScanner.scan(answer.body()));
            ex.respondPassthrough(answer);
        } finally {
            answer.release();
        }
        finishAnswer();
    }

    /** The upstream has started answering: no retry any more, and the first byte is timed. */
    private void answerBegins(boolean upstreamKeepAlive) {
        answerStarted = true;
        if (retry != null) {
            retry.release();
            retry = null;
        }
        ex.markUpstreamFirstByte();
        keepAlive = upstreamKeepAlive;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ex == null || ex.finished()) {
            // bytes nobody asked for (or for a client that left): this connection is not reusable
            ReferenceCountUtil.release(msg);
            unbind(false);
            return;
        }
        if (((HttpObject) msg).decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            failAndClose(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_response",
                    "The upstream sent a malformed HTTP response."));
            return;
        }
        if (msg instanceof HttpResponse head) {
            onHead(head);
        }
        if (msg instanceof HttpContent content) {
            onContent(content);
        }
    }

    private void onHead(HttpResponse head) {
        answerBegins(HttpUtil.isKeepAlive(head));
        HopByHop.removeFrom(head.headers());
        head.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (shouldHold(head)) {
            heldHead = head;
            held = ctx.alloc().compositeBuffer(64);
        } else {
            ex.respondHead(head);
        }
    }

    private boolean shouldHold(HttpResponse head) {
        if (ex.fields.stream) {
            return false;
        }
        String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (type != null && type.startsWith("text/event-stream")) {
            return false;
        }
        long length = HttpUtil.getContentLength(head, -1L);
        return length <= config.maxBufferedResponseBytes;
    }

    private void onContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        if (held != null) {
            if (held.readableBytes() + content.content().readableBytes() > config.maxBufferedResponseBytes) {
                spill();
            } else {
                held.addComponent(true, content.content()); // takes the buffer's reference
                if (last) {
                    respondHeld();
                    finishAnswer();
                }
                return;
            }
        }
        if (last) {
            sendBurst();
            ex.respondLast((LastHttpContent) content);
            finishAnswer();
        } else if (!content.content().isReadable()) {
            content.release();
        } else if (burstFirst == null && burst == null) {
            burstFirst = content;
        } else {
            if (burst == null) {
                burst = ctx.alloc().compositeBuffer(16);
                burst.addComponent(true, burstFirst.content()); // takes the buffer's reference
                burstFirst = null;
            }
            burst.addComponent(true, content.content());
        }
    }

    /**
     * Hands the client everything this read brought, as one piece: an SSE upstream often sends
     * several events per read, and one chunk for them all saves the client pipeline a pass per
     * event. Nothing waits: this runs at the end of every read, and the buffers are not copied.
     */
    private void sendBurst() {
        if (burst != null) {
            CompositeByteBuf b = burst;
            burst = null;
            ex.respondContent(new DefaultHttpContent(b));
        } else if (burstFirst != null) {
            HttpContent c = burstFirst;
            burstFirst = null;
            ex.respondContent(c);
        }
    }

    /** Too large to hold after all: send what we have and relay the rest as it comes. */
    private void spill() {
        HttpResponse head = heldHead;
        heldHead = null;
        if (!HttpUtil.isContentLengthSet(head)) {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        ex.respondHead(head);
        ex.respondContent(new DefaultHttpContent(held));
        held = null;
    }

    private void respondHeld() {
        CompositeByteBuf body = held;
        held = null;
        ex.usage(UsageScanner.scan(body));
        DefaultFullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, heldHead.status(), body,
                heldHead.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        heldHead = null;
        full.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        ex.respond(full);
    }

    private void finishAnswer() {
        unbind(keepAlive);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (ex != null && held == null) {
            sendBurst();
            ex.flush();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (ex == null) {
            if (timer != null) {
                timer.cancel(false); // a pooled connection closed while idle: drop its lazily armed timer
                timer = null;
            }
            return;
        }
        if (held == null) {
            sendBurst(); // what arrived before the end still reaches the client, ahead of the error event
        }
        Exchange e = ex;
        ByteBuf again = retry;
        retry = null;
        boolean started = answerStarted;
        unbind(false);
        if (!started && again != null && !e.finished()) {
            LOG.debug("pooled connection to {} was closed before answering; retrying on a new one", origin);
            client.connect(e, origin, again);
            return;
        }
        if (again != null) {
            again.release();
        }
        javax.net.ssl.SSLException tls = tlsFailure(lastError);
        if (tls != null) {
            e.fail(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_tls_error",
                    "TLS with the upstream " + origin.hostHeader() + " failed: " + tls.getMessage() + "."));
            return;
        }
        String why = lastError != null ? ": " + lastError.getMessage() : "";
        e.fail(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, started ? "upstream_disconnected" : "upstream_closed",
                (started ? "The upstream connection ended before the answer was complete" : "The upstream closed the connection without answering") + why + "."));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        lastError = cause;
        LOG.debug("upstream {} error", origin, cause);
        ctx.close(); // channelInactive reports it to the exchange
    }

    private static javax.net.ssl.SSLException tlsFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException ssl) {
                return ssl;
            }
        }
        return null;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent done && !done.isSuccess()) {
            lastError = done.cause(); // the handler closes the channel; channelInactive reports it
            return;
        }
        if (evt instanceof IdleStateEvent) {
            if (ex == null) {
                ctx.close(); // idle in the pool for too long
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void arm(long at, long now) {
        timerAt = at;
        timer = ctx.executor().schedule(onTimer, Math.max(0, at - now), TimeUnit.NANOSECONDS);
    }

    private void onTimer() {
        timer = null;
        if (ex == null || !ctx.channel().isActive()) {
            return; // idle in the pool: the next exchange arms it again
        }
        long now = System.nanoTime();
        if (!answerStarted && now - firstByteDeadline >= 0) {
            timeout("first byte", config.firstByteTimeout.toMillis());
        } else if (now - totalDeadline >= 0) {
            timeout("complete answer", config.totalTimeout.toMillis());
        } else {
            arm(answerStarted ? totalDeadline : Math.min(firstByteDeadline, totalDeadline), now);
        }
    }

    private void timeout(String what, long millis) {
        failAndClose(OpenAiError.upstream(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout",
                "The upstream did not send its " + what + " within " + millis + " ms."));
    }

    private void failAndClose(OpenAiError error) {
        Exchange e = ex;
        if (retry != null) {
            retry.release();
            retry = null;
        }
        unbind(false);
        e.fail(error);
    }

    /** Ends this connection's part in the exchange; the connection goes back to the pool or closes. */
    private void unbind(boolean reusable) {
        if (timer != null && !reusable) {
            timer.cancel(false); // the connection closes; a pooled one keeps its timer (see the field)
            timer = null;
        }
        if (held != null) {
            held.release();
            held = null;
            heldHead = null;
        }
        if (burstFirst != null) {
            burstFirst.release();
            burstFirst = null;
        }
        if (burst != null) {
            burst.release();
            burst = null;
        }
        if (ex != null) {
            ex.detachUpstream();
            ex = null;
        }
        if (reusable && ctx.channel().isActive()) {
            client.release(pool, this);
        } else {
            ctx.channel().config().setAutoRead(true);
            ctx.close();
        }
    }
}
