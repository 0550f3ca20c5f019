package io.nemorouter.core.upstream;

import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.internal.http1.HopByHop;
import io.nemorouter.core.internal.http1.PassthroughTarget;
import io.nemorouter.core.internal.http1.WholeAnswer;
import io.nemorouter.core.internal.http1.WholeAnswerDecoder;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
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
 * Reports one upstream answer at a time to the {@link Attempt} bound to this connection, on the
 * connection's (= the client's) event loop. It never answers the client itself: the attempt
 * translates and writes, or, on a failure before the head, the dispatcher tries elsewhere.
 *
 * <p>Streams and large bodies are handed on piece by piece as they arrive, never copied, and
 * flushed when the read completes. A small non-streaming answer is held (as a composite of the
 * received buffers) until its end, so its usage can be read and {@code x-nemo-response-cost} set
 * before the head goes out; when it arrives whole in one read (the usual case) and needs no
 * translation, {@link WholeAnswerDecoder} skips the decoding and it goes on as bytes
 * ({@link #onWholeAnswer}). First-byte and total timeouts, and an upstream that dies, are reported
 * as failures.
 */
final class UpstreamRelay extends ChannelInboundHandlerAdapter implements WholeAnswerDecoder.Sink {
    private static final Logger LOG = LoggerFactory.getLogger(UpstreamRelay.class);

    private final UpstreamClient client;
    private final Origin pool;
    private final GatewayConfig config;

    private ChannelHandlerContext ctx;
    private Attempt attempt;
    /** The attempt as the fast way's target, or null when it has none. */
    private PassthroughTarget target;
    private Origin origin;
    private ByteBuf retry;
    private boolean answerStarted;
    private boolean keepAlive;
    private HttpResponse heldHead;
    private CompositeByteBuf held;
    /**
     * One timer per connection, armed lazily: an answer that ends before its deadline leaves it
     * running (no cancel, no re-schedule per request), and when it fires it checks whatever attempt
     * is bound then and re-arms for that one's next deadline, or stops while the connection is idle.
     */
    private ScheduledFuture<?> timer;
    private long timerAt;
    private final Runnable onTimer = this::onTimer;
    private long firstByteDeadline;
    private long totalDeadline;
    private Throwable lastError;
    /** Counts the attempts bound to this connection, so {@link WholeAnswerDecoder} can tell answers apart. */
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

    void bind(Attempt a, Origin origin, ByteBuf retryCopy) {
        this.attempt = a;
        this.target = a instanceof PassthroughTarget t ? t : null;
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

    @Override
    public int answerNumber() {
        return answerNumber;
    }

    @Override
    public boolean awaitingWholeAnswer() {
        return attempt != null && !answerStarted && target != null && !attempt.exchange().body().stream()
                && target.acceptsPassthrough();
    }

    /** A whole non-streaming answer (see {@link WholeAnswerDecoder}): on to the client in one write. Releases it. */
    @Override
    public void onWholeAnswer(WholeAnswer answer) {
        answerBegins(answer.keepAlive());
        try {
            target.passthrough(answer); // a refused one (a 429 to retry elsewhere) was read whole all the same
        } finally {
            answer.release();
        }
        unbind(keepAlive);
    }

    /** The upstream has started answering: no retry of the request on this connection any more, and the first byte is timed. */
    private void answerBegins(boolean upstreamKeepAlive) {
        answerStarted = true;
        attempt.firstByteArrived();
        if (retry != null) {
            retry.release();
            retry = null;
        }
        keepAlive = upstreamKeepAlive;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (attempt == null || attempt.abandoned()) {
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
        if (msg instanceof HttpResponse head && !onHead(head)) {
            ReferenceCountUtil.release(msg);
            unbind(false); // refused mid-answer: the rest of it is not worth reading
            return;
        }
        if (msg instanceof HttpContent content) {
            onContent(content);
        }
    }

    /** False when the attempt refused the answer. */
    private boolean onHead(HttpResponse head) {
        answerBegins(HttpUtil.isKeepAlive(head));
        HopByHop.removeFrom(head.headers());
        head.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (shouldHold(head)) {
            heldHead = head;
            held = ctx.alloc().compositeBuffer(64);
            return true;
        }
        return attempt.head(head);
    }

    /**
     * Whether to hold the answer until its end: a non-streaming body, of a size that may be held or
     * not yet known; always for a provider that translates, which needs whole bodies.
     */
    private boolean shouldHold(HttpResponse head) {
        String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (type != null && type.regionMatches(true, 0, EVENT_STREAM, 0, EVENT_STREAM.length())) {
            return false;
        }
        if (!passthrough()) {
            return true; // a translator needs the whole body, whatever the client asked (an error answers a stream too)
        }
        return !attempt.exchange().body().stream() && HttpUtil.getContentLength(head, -1L) <= config.maxBufferedResponseBytes;
    }

    private static final String EVENT_STREAM = "text/event-stream";

    private boolean passthrough() {
        return target != null && target.acceptsPassthrough();
    }

    private void onContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        if (held != null) {
            if (held.readableBytes() + content.content().readableBytes() > config.maxBufferedResponseBytes) {
                if (!passthrough()) {
                    content.release();
                    failAndClose(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_answer_too_large",
                            "The upstream's answer is larger than nemo.upstream.max_buffered_response ("
                                    + config.maxBufferedResponseBytes + " bytes), the most the gateway translates."));
                    return;
                }
                if (!spill()) {
                    content.release();
                    unbind(false);
                    return;
                }
            } else {
                held.addComponent(true, content.content()); // takes the buffer's reference
                if (last) {
                    respondHeld();
                }
                return;
            }
        }
        attempt.content(content.content()); // takes the buffer's reference
        if (last) {
            attempt.end();
            unbind(keepAlive);
        }
    }

    /** Too large to hold after all: hand on what we have and relay the rest as it comes. False when refused. */
    private boolean spill() {
        HttpResponse head = heldHead;
        heldHead = null;
        if (!HttpUtil.isContentLengthSet(head)) {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        CompositeByteBuf body = held;
        held = null;
        if (!attempt.head(head)) {
            body.release();
            return false;
        }
        attempt.content(body);
        return true;
    }

    private void respondHeld() {
        CompositeByteBuf body = held;
        held = null;
        DefaultFullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, heldHead.status(), body,
                heldHead.headers(), EmptyHttpHeaders.INSTANCE);
        heldHead = null;
        attempt.whole(full); // a refused answer was read to its end all the same: the connection is reusable
        unbind(keepAlive);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (attempt != null && held == null) {
            attempt.flush();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (attempt == null) {
            if (timer != null) {
                timer.cancel(false); // a pooled connection closed while idle: drop its lazily armed timer
                timer = null;
            }
            return;
        }
        if (held == null) {
            attempt.flush(); // what arrived before the end still reaches the client, ahead of the error event
        }
        Attempt a = attempt;
        ByteBuf again = retry;
        retry = null;
        boolean started = answerStarted;
        unbind(false);
        if (!started && again != null && !a.abandoned()) {
            LOG.debug("pooled connection to {} was closed before answering; retrying on a new one", origin);
            client.connect(a, origin, again);
            return;
        }
        if (again != null) {
            again.release();
        }
        javax.net.ssl.SSLException tls = tlsFailure(lastError);
        if (tls != null) {
            a.failed(AttemptFailure.retryable(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_tls_error",
                    "TLS with the upstream " + origin.hostHeader() + " failed: " + tls.getMessage() + ".")));
            return;
        }
        String why = lastError != null ? ": " + lastError.getMessage() : "";
        a.failed(AttemptFailure.retryable(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY,
                started ? "upstream_disconnected" : "upstream_closed",
                (started ? "The upstream connection ended before the answer was complete"
                        : "The upstream closed the connection without answering") + why + ".")));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        lastError = cause;
        LOG.debug("upstream {} error", origin, cause);
        ctx.close(); // channelInactive reports it to the attempt
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
            if (attempt == null) {
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
        if (attempt == null || !ctx.channel().isActive()) {
            return; // idle in the pool: the next attempt arms it again
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
        Attempt a = attempt;
        if (retry != null) {
            retry.release();
            retry = null;
        }
        if (held == null) {
            a.flush();
        }
        unbind(false);
        a.failed(AttemptFailure.retryable(error));
    }

    /** Ends this connection's part in the attempt; the connection goes back to the pool or closes. */
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
        if (retry != null) {
            retry.release(); // a copy kept to resend on a fresh connection: not needed now
            retry = null;
        }
        attempt = null;
        target = null;
        if (reusable && ctx.channel().isActive()) {
            client.release(pool, this);
        } else {
            ctx.channel().config().setAutoRead(true);
            ctx.close();
        }
    }
}
