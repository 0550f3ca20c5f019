package io.nemorouter.core.http;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.usage.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One client request and its answer, from the decoded request to the last byte written back.
 * Confined to the client channel's event loop: filters, providers and the upstream relay all
 * run there, so nothing here is synchronised.
 *
 * <p>Every answer goes through {@link #respond}, {@link #respondHead}/{@link #respondContent}/
 * {@link #respondLast} or {@link #fail}, which add the gateway headers and finish the exchange
 * exactly once.
 */
public final class Exchange {
    public static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
    public static final AsciiString X_NEMO_MODEL = AsciiString.cached("x-nemo-model");
    public static final AsciiString X_NEMO_CACHE = AsciiString.cached("x-nemo-cache");
    public static final AsciiString X_NEMO_COST = AsciiString.cached("x-nemo-response-cost");
    public static final AsciiString X_NEMO_OVERHEAD = AsciiString.cached("x-nemo-overhead-ms");
    public static final AsciiString X_NEMO_FALLBACKS = AsciiString.cached("x-nemo-fallbacks");
    private static final String EVENT_STREAM = "text/event-stream";
    private static final byte[] HTTP_1_1 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

    /** What the owner of the connection needs to hear when an exchange ends. */
    public interface Owner {
        void exchangeFinished(Exchange exchange);

        boolean draining();
    }

    public final Channel client;
    public final FullHttpRequest request;
    public final Endpoint endpoint;
    public final String requestId;
    public final long receivedNanos;
    public final RequestFields fields = new RequestFields();
    private final boolean clientKeepAlive;
    private final Owner owner;
    private final List<ExchangeObserver> observers;

    private Deployment deployment;
    private String cacheDecision = "bypass";
    private int fallbacks;
    private Channel upstream;

    private long dispatchedNanos;
    private long upstreamSentNanos;
    private long upstreamFirstByteNanos;
    private long headSentNanos;
    private long finishedNanos;

    private HttpResponseStatus status;
    private boolean headSent;
    private boolean eventStream;
    private boolean finished;
    private boolean cancelled;
    private Usage usage;
    private double cost = -1;
    private String failure;

    public Exchange(Channel client, FullHttpRequest request, Endpoint endpoint, String requestId, long receivedNanos,
                    Owner owner, List<ExchangeObserver> observers) {
        this.client = client;
        this.request = request;
        this.endpoint = endpoint;
        this.requestId = requestId;
        this.receivedNanos = receivedNanos;
        this.clientKeepAlive = HttpUtil.isKeepAlive(request);
        this.owner = owner;
        this.observers = observers;
    }

    // ---- request side -------------------------------------------------------------------------

    public ByteBuf body() {
        return request.content();
    }

    public Deployment deployment() {
        return deployment;
    }

    public void deployment(Deployment d) {
        this.deployment = d;
    }

    public void cacheDecision(String decision) {
        this.cacheDecision = decision;
    }

    public String cacheDecision() {
        return cacheDecision;
    }

    public void fallbacks(int n) {
        this.fallbacks = n;
    }

    public int fallbacks() {
        return fallbacks;
    }

    // ---- timings, as providers and the relay see them ----------------------------------------

    /** The provider has the exchange; everything before this is gateway work. */
    public void markDispatched() {
        dispatchedNanos = System.nanoTime();
    }

    public void markUpstreamSent(Channel upstreamChannel) {
        upstream = upstreamChannel;
        upstreamSentNanos = System.nanoTime();
    }

    public void markUpstreamFirstByte() {
        upstreamFirstByteNanos = System.nanoTime();
    }

    /** The upstream channel is no longer this exchange's (returned to the pool or closed). */
    public void detachUpstream() {
        if (upstream != null) {
            upstream.config().setAutoRead(true);
            upstream = null;
        }
    }

    public long upstreamSentNanos() {
        return upstreamSentNanos;
    }

    public long upstreamFirstByteNanos() {
        return upstreamFirstByteNanos;
    }

    public long finishedNanos() {
        return finishedNanos;
    }

    /** Time the gateway itself spent: before handing off, and between the upstream's first byte and ours. */
    public long overheadNanos() {
        long handoff = upstreamSentNanos != 0 ? upstreamSentNanos : dispatchedNanos != 0 ? dispatchedNanos
                : headSentNanos != 0 ? headSentNanos : finishedNanos;
        long overhead = handoff - receivedNanos;
        if (upstreamFirstByteNanos != 0 && headSentNanos >= upstreamFirstByteNanos) {
            overhead += headSentNanos - upstreamFirstByteNanos;
        }
        return Math.max(0, overhead);
    }

    public void usage(Usage u) {
        this.usage = u;
        if (u != null && deployment != null) {
            cost = deployment.cost(u.promptTokens(), u.completionTokens());
        }
    }

    public Usage usage() {
        return usage;
    }

    /** Cost in USD, or -1 when unknown. */
    public double cost() {
        return cost;
    }

    public HttpResponseStatus status() {
        return status;
    }

    /** The status for logs and metrics: 499 when the client left before the end, as nginx counts it. */
    public int statusCode() {
        return cancelled ? 499 : status == null ? 0 : status.code();
    }

    public boolean headSent() {
        return headSent;
    }

    public boolean finished() {
        return finished;
    }

    public boolean cancelled() {
        return cancelled;
    }

    public String failure() {
        return failure;
    }

    // ---- response side ------------------------------------------------------------------------

    /** A complete answer in one message. */
    public void respond(FullHttpResponse response) {
        if (finished || headSent) {
            response.release();
            return;
        }
        decorate(response);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        if (HttpMethod.HEAD.equals(request.method())) {
            // the head of the answer a GET would get, without its body (RFC 9110, 9.3.2)
            FullHttpResponse headOnly = response.replace(Unpooled.EMPTY_BUFFER);
            response.release();
            response = headOnly;
        }
        writeLast(response);
    }

    /**
     * A complete upstream answer sent on in one write: its status line and header lines as they
     * came, the gateway's headers, the length and the body. The caller keeps ownership of {@code answer}.
     */
    public void respondPassthrough(PassthroughAnswer answer) {
        if (finished || headSent) {
            return;
        }
        ByteBuf body = answer.body();
        int bodyBytes = body.readableBytes();
        boolean inline = bodyBytes <= WireBytes.INLINE_BODY_BYTES;
        WireBytes out = WireBytes.start(answer.headBytes() + 384 + (inline ? bodyBytes : 0));
        out.put(HTTP_1_1);
        answer.writeStatus(out);
        out.crlf();
        answer.writeHeaderLines(out);
        status = HttpResponseStatus.valueOf(answer.status());
        gatewayHeaders(out);
        out.name(HttpHeaderNames.CONTENT_LENGTH).decimal(bodyBytes).crlf().crlf();
        if (inline) {
            out.put(body, body.readerIndex(), bodyBytes);
            writeLast(out.copyTo(client.alloc()));
        } else {
            CompositeByteBuf whole = client.alloc().compositeDirectBuffer(2);
            whole.addComponent(true, out.copyTo(client.alloc())).addComponent(true, body.retain());
            writeLast(whole);
        }
    }

    public void respond(OpenAiError error) {
        failure = error.code();
        respond(error.toResponse(client.alloc()));
    }

    /** Starts a relayed answer; contents follow with {@link #respondContent}. Not flushed. */
    public void respondHead(HttpResponse head) {
        if (finished || headSent) {
            return;
        }
        decorate(head);
        HttpHeaders h = head.headers();
        if (!HttpUtil.isContentLengthSet(head) && !HttpUtil.isTransferEncodingChunked(head)) {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        String contentType = h.get(HttpHeaderNames.CONTENT_TYPE);
        eventStream = contentType != null && contentType.regionMatches(true, 0, EVENT_STREAM, 0, EVENT_STREAM.length());
        client.write(head, client.voidPromise());
    }

    /** Relays one piece of the body; ownership passes to the client channel. Not flushed. */
    public void respondContent(HttpContent content) {
        if (finished) {
            content.release();
            return;
        }
        client.write(content, client.voidPromise());
        if (upstream != null && !client.isWritable()) {
            upstream.config().setAutoRead(false); // resumed by clientWritable()
        }
    }

    public void flush() {
        if (!finished) {
            client.flush();
        }
    }

    public void respondLast(LastHttpContent last) {
        if (finished) {
            last.release();
            return;
        }
        writeLast(last);
    }

    /**
     * Ends the exchange on an error. Before the head is sent the client gets the error as a
     * normal OpenAI error response; mid-stream it gets a final {@code data: {"error":...}}
     * event and a clean end of stream; a half-sent plain body can only be cut short.
     */
    public void fail(OpenAiError error) {
        if (finished) {
            return;
        }
        if (!headSent) {
            respond(error);
            return;
        }
        failure = error.code();
        if (eventStream) {
            ByteBuf event = client.alloc().buffer();
            event.writeCharSequence(error.sseEvent(), StandardCharsets.UTF_8);
            client.write(new DefaultHttpContent(event), client.voidPromise());
            client.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
            finish();
        } else {
            finish();
            client.close();
        }
    }

    /** The client went away: stop the upstream at once, without returning it to the pool. */
    public void cancel() {
        if (finished) {
            return;
        }
        cancelled = true;
        failure = "client_closed";
        if (upstream != null) {
            Channel u = upstream;
            upstream = null;
            u.close();
        }
        finish();
    }

    /** The client can take more bytes again: resume reading the upstream. */
    public void clientWritable() {
        if (upstream != null && client.isWritable()) {
            upstream.config().setAutoRead(true);
        }
    }

    private void decorate(HttpResponse response) {
        status = response.status();
        HttpHeaders h = response.headers();
        h.remove(X_NEMO_COST); // an upstream's own (another gateway's) is not ours; ours is set when known
        gatewayHeaders(new HeaderSink() {
            @Override
            public void text(AsciiString name, CharSequence value) {
                h.set(name, value);
            }

            @Override
            public void number(AsciiString name, long value) {
                h.set(name, Long.toString(value));
            }

            @Override
            public void cost(AsciiString name, double usd) {
                h.set(name, formatCost(usd));
            }

            @Override
            public void millis(AsciiString name, long nanos) {
                h.set(name, formatMillis(nanos));
            }
        });
    }

    /** Marks the head as sent and gives every header the gateway adds to an answer. */
    private void gatewayHeaders(HeaderSink out) {
        headSent = true;
        headSentNanos = System.nanoTime();
        out.text(X_REQUEST_ID, requestId);
        if (deployment != null) {
            out.text(X_NEMO_MODEL, deployment.id());
            out.text(X_NEMO_CACHE, cacheDecision);
            out.number(X_NEMO_FALLBACKS, fallbacks);
            if (cost >= 0) {
                out.cost(X_NEMO_COST, cost);
            }
        }
        out.millis(X_NEMO_OVERHEAD, overheadNanos());
        if (!keepAlive()) {
            out.text(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (!request.protocolVersion().isKeepAliveDefault()) {
            out.text(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
    }

    private boolean keepAlive() {
        return clientKeepAlive && !owner.draining();
    }

    /**
     * Writes the end of the answer and finishes the exchange. A kept-alive connection needs nothing
     * from the write, so it gets no promise (one object and a listener list fewer per request);
     * any other closes once the answer is out.
     */
    private void writeLast(Object last) {
        if (keepAlive()) {
            client.writeAndFlush(last, client.voidPromise());
        } else {
            client.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
        }
        finish();
    }

    private void finish() {
        finished = true;
        finishedNanos = System.nanoTime();
        if (status == null) {
            status = HttpResponseStatus.valueOf(499, "Client Closed Request");
        }
        for (int i = 0; i < observers.size(); i++) {
            try {
                observers.get(i).onComplete(this);
            } catch (RuntimeException e) {
                // an observer must never break the answer; it reports its own failures
            }
        }
        request.release();
        owner.exchangeFinished(this);
    }

    /** Milliseconds with three decimals: 0.015 (for a header map; answers' bytes get the digits directly). */
    static CharSequence formatMillis(long nanos) {
        return WireBytes.detached().millis(nanos).text();
    }

    /** USD with up to 8 decimals, trailing zeros dropped: 0.0075, 0.00000123, 12. */
    static CharSequence formatCost(double usd) {
        return WireBytes.detached().cost(usd).text();
    }

    /** The body of a small local answer (health, metrics). */
    public static ByteBuf utf8(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }
}
