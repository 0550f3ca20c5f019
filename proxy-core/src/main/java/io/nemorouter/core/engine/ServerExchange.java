package io.nemorouter.core.engine;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AnswerListener;
import io.nemorouter.core.exchange.AnswerStream;
import io.nemorouter.core.exchange.AttemptRecord;
import io.nemorouter.core.exchange.Attributes;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.exchange.Key;
import io.nemorouter.core.internal.http1.HttpBytes;
import io.nemorouter.core.internal.http1.HeaderSink;
import io.nemorouter.core.internal.http1.PassthroughAnswer;
import io.nemorouter.core.internal.http1.WireBytes;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.core.openai.Usage;
import io.nemorouter.core.openai.UsageScanner;
import io.nemorouter.core.provider.DroppedParams;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The gateway's exchange: the request, its way through the filters and attempts, and the writing
 * of its answer. Confined to the client channel's event loop: filters, providers, the upstream
 * relay and the answer hooks all run there, so nothing here is synchronised.
 *
 * <p>Every answer goes through {@link #respond}, {@link #respondPassthrough} or
 * {@link #respondHead}/{@link #sendEvent}/{@link #sendBodyPiece}/{@link #endAnswer}, or
 * {@link #fail}, which add the gateway headers, tell the listeners and finish the exchange exactly
 * once.
 */
public final class ServerExchange implements Exchange, Completion {
    private static final Logger LOG = LoggerFactory.getLogger(ServerExchange.class);
    public static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");
    static final AsciiString X_NEMO_MODEL = AsciiString.cached("x-nemo-model");
    static final AsciiString X_NEMO_CACHE = AsciiString.cached("x-nemo-cache");
    static final AsciiString X_NEMO_COST = AsciiString.cached("x-nemo-response-cost");
    static final AsciiString X_NEMO_OVERHEAD = AsciiString.cached("x-nemo-overhead-ms");
    static final AsciiString X_NEMO_FALLBACKS = AsciiString.cached("x-nemo-fallbacks");
    /** Headers only the gateway sets: {@link #responseHeader} refuses them. */
    private static final AsciiString[] RESERVED = {X_REQUEST_ID, X_NEMO_MODEL, X_NEMO_CACHE, X_NEMO_COST, X_NEMO_OVERHEAD,
            X_NEMO_FALLBACKS, HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.CONNECTION};
    private static final String EVENT_STREAM = "text/event-stream";
    private static final byte[] HTTP_1_1 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

    /** What the owner of the connection needs to hear when an exchange ends. */
    public interface Owner {
        void exchangeFinished(ServerExchange exchange);

        boolean draining();
    }

    final GatewayRuntime runtime;
    final Channel client;
    final FullHttpRequest request;
    private final Endpoint endpoint;
    private final String requestId;
    private final long receivedNanos;
    private RequestBody body;
    private final boolean clientKeepAlive;
    private final Owner owner;

    private Attributes attributes;
    /** Headers filters asked for: names and values in turn. */
    private List<Object> extraHeaders;
    /** Headers for the upstream request ({@link #upstreamHeader}); null when none. */
    private List<java.util.Map.Entry<String, String>> upstreamHeaders;
    private AnswerListener[] listeners;

    // ---- filters and attempts (see FilterChain, Dispatcher) ----------------------------------
    FilterChain chain;
    /** Where {@link #chain} resumes after a filter that returned PENDING; -1 when it is not suspended. */
    int resumeAt = -1;
    /** A filter is running: a {@link #proceed} now only notes that it decided, the chain goes on when it returns. */
    boolean inFilter;
    boolean proceededEarly;
    /** Counts suspensions, so a timeout armed for an earlier one does nothing. */
    int suspensions;
    io.netty.util.concurrent.ScheduledFuture<?> suspendedTimeout;
    LiveAttempt attempt;
    private LiveAttempt firstAttempt;
    private List<LiveAttempt> laterAttempts;
    private String cacheDecision = "bypass";
    private Channel upstream;

    // ---- the answer ----------------------------------------------------------------------------
    private HttpResponseStatus status;
    private boolean headSent;
    private boolean eventStream;
    private boolean finished;
    private boolean cancelled;
    private Usage usage;
    private double cost = -1;
    /** Bytes and events of the answer relayed to the client: what an estimate of its usage starts from. */
    private long answerBytes;
    private int answerEvents;
    /** The last bytes of a body too large to hold, where its usage is: read when it has ended. */
    private byte[] bodyTail;
    private int bodyTailLength;
    private String failure;
    /** Pieces of the answer written since the last flush, sent as one: see {@link #flushAnswer}. */
    private ByteBuf burstFirst;
    private CompositeByteBuf burst;

    private long headSentNanos;
    private long finishedNanos;

    public ServerExchange(GatewayRuntime runtime, Channel client, FullHttpRequest request, Endpoint endpoint,
                          String requestId, long receivedNanos, Owner owner) {
        this.runtime = runtime;
        this.client = client;
        this.request = request;
        this.endpoint = endpoint;
        this.requestId = requestId;
        this.receivedNanos = receivedNanos;
        this.clientKeepAlive = HttpUtil.isKeepAlive(request);
        this.owner = owner;
        this.body = RequestBody.unparsed(request.content());
    }

    /** Reads the gateway's fields of an OpenAI request's body; the error to answer with, or null. */
    public OpenAiError readBody() {
        body = RequestBody.read(request.content());
        return body.error();
    }

    // ---- Exchange: the request -----------------------------------------------------------------

    @Override
    public String requestId() {
        return requestId;
    }

    @Override
    public Endpoint endpoint() {
        return endpoint;
    }

    @Override
    public HttpMethod method() {
        return request.method();
    }

    @Override
    public String uri() {
        return request.uri();
    }

    @Override
    public String path() {
        String uri = request.uri();
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }

    @Override
    public HttpHeaders requestHeaders() {
        return request.headers();
    }

    @Override
    public RequestBody body() {
        return body;
    }

    @Override
    public ByteBuf content() {
        return request.content();
    }

    @Override
    public long receivedNanos() {
        return receivedNanos;
    }

    @Override
    public EventLoop eventLoop() {
        return client.eventLoop();
    }

    @Override
    public ByteBufAllocator alloc() {
        return client.alloc();
    }

    // ---- per-request state ---------------------------------------------------------------------

    @Override
    public <T> T get(Key<T> key) {
        return attributes == null ? null : attributes.get(key);
    }

    @Override
    public <T> void set(Key<T> key, T value) {
        if (attributes == null) {
            attributes = new Attributes();
        }
        attributes.set(key, value);
    }

    // ---- routing -------------------------------------------------------------------------------

    @Override
    public Deployment deployment() {
        return attempt == null ? null : attempt.deployment();
    }

    @Override
    public int attemptNumber() {
        return attempt == null ? 0 : attempt.number();
    }

    @Override
    public void cacheDecision(String decision) {
        this.cacheDecision = decision;
    }

    @Override
    public String cacheDecision() {
        return cacheDecision;
    }


    private int headersAtRouting;
    private int listenersAtRouting;
    private Object editsAtRouting;
    private List<java.util.Map.Entry<String, String>> upstreamHeadersAtRouting;

    /** Routing is done: what the filters set so far holds for every attempt; what comes after is per attempt. */
    void markRouted() {
        headersAtRouting = extraHeaders == null ? 0 : extraHeaders.size();
        listenersAtRouting = listeners == null ? 0 : listeners.length;
        editsAtRouting = body.editsSnapshot();
        upstreamHeadersAtRouting = upstreamHeaders == null ? null : List.copyOf(upstreamHeaders);
    }

    /** Undoes what the last attempt's {@code DEPLOYMENT_CHOSEN} filters set (headers, listeners, body edits) and the params its provider dropped. */
    void rewindToRouted() {
        if (extraHeaders != null) {
            extraHeaders.subList(headersAtRouting, extraHeaders.size()).clear();
        }
        if (listeners != null && listeners.length > listenersAtRouting) {
            listeners = listenersAtRouting == 0 ? null : java.util.Arrays.copyOf(listeners, listenersAtRouting);
        }
        body.restoreEdits(editsAtRouting);
        upstreamHeaders = upstreamHeadersAtRouting == null ? null : new ArrayList<>(upstreamHeadersAtRouting);
        if (attributes != null) {
            attributes.set(DroppedParams.KEY, null); // what the last attempt's provider dropped: its header went above, the log's goes too
        }
    }

    /** Tells the listeners an attempt failed before its head (a budget reservation for it can go). */
    void attemptFailed(LiveAttempt failed) {
        if (listeners != null) {
            for (AnswerListener l : listeners) {
                try {
                    l.onAttemptFailed(this, failed);
                } catch (RuntimeException e) {
                    LOG.warn("answer listener {} failed on a failed attempt of {}", l.getClass().getName(), requestId, e);
                }
            }
        }
    }

    /** Makes {@code a} the attempt under way (and records it). */
    void attemptStarted(LiveAttempt a) {
        if (upstream != null) {
            detachUpstream(); // the failed attempt's connection is not this one's
        }
        attempt = a;
        if (firstAttempt == null) {
            firstAttempt = a;
        } else {
            if (laterAttempts == null) {
                laterAttempts = new ArrayList<>(2);
            }
            laterAttempts.add(a);
        }
    }

    /** The attempt's request went out on {@code upstreamChannel}: its reads pause while the client cannot keep up. */
    void bindUpstream(Channel upstreamChannel) {
        upstream = upstreamChannel;
    }

    /** The upstream channel is no longer this exchange's (returned to the pool or closed). */
    void detachUpstream() {
        if (upstream != null) {
            upstream.config().setAutoRead(true);
            upstream = null;
        }
    }

    // ---- filters -------------------------------------------------------------------------------

    @Override
    public void proceed() {
        if (!client.eventLoop().inEventLoop()) {
            client.eventLoop().execute(this::proceed);
            return;
        }
        if (inFilter) {
            proceededEarly = true; // called from inside the filter, before it returned PENDING
            return;
        }
        if (resumeAt < 0 || finished) {
            return; // not suspended (a second call), or over
        }
        int from = resumeAt;
        resumeAt = -1;
        if (suspendedTimeout != null) {
            suspendedTimeout.cancel(false);
            suspendedTimeout = null;
        }
        chain.run(this, from);
    }

    // ---- the answer: what filters use ----------------------------------------------------------

    @Override
    public void responseHeader(CharSequence name, CharSequence value) {
        checkLoop();
        if (headSent) {
            throw new IllegalStateException("the head of the answer to " + requestId + " has gone out already");
        }
        AsciiString n = AsciiString.of(name).toLowerCase();
        for (AsciiString reserved : RESERVED) {
            if (reserved.contentEqualsIgnoreCase(n)) {
                throw new IllegalArgumentException("the gateway sets " + name + " itself");
            }
        }
        if (!HttpBytes.isHeaderText(n) || n.isEmpty() || !HttpBytes.isHeaderText(value)) {
            throw new IllegalArgumentException("a header name or value may not hold control or non-Latin-1 characters");
        }
        if (extraHeaders == null) {
            extraHeaders = new ArrayList<>(4);
        }
        for (int i = 0; i < extraHeaders.size(); i += 2) {
            if (((AsciiString) extraHeaders.get(i)).contentEquals(n)) {
                extraHeaders.set(i + 1, value.toString());
                return;
            }
        }
        extraHeaders.add(n);
        extraHeaders.add(value.toString());
    }

    @Override
    public void upstreamHeader(CharSequence name, CharSequence value) {
        checkLoop();
        String n = name.toString().toLowerCase(java.util.Locale.ROOT);
        if (n.isEmpty() || !HttpBytes.isHeaderText(n) || !HttpBytes.isHeaderText(value) || n.indexOf(':') >= 0 || n.indexOf(' ') >= 0) {
            throw new IllegalArgumentException("a header name or value may not hold control or non-Latin-1 characters");
        }
        if (!io.nemorouter.core.upstream.UpstreamClient.forwarded(n)) {
            throw new IllegalArgumentException("the gateway or the provider sets " + name + " itself");
        }
        java.util.Map.Entry<String, String> h = java.util.Map.entry(n, value.toString());
        if (upstreamHeaders == null) {
            upstreamHeaders = new ArrayList<>(2);
        }
        for (int i = 0; i < upstreamHeaders.size(); i++) {
            if (upstreamHeaders.get(i).getKey().equals(n)) {
                upstreamHeaders.set(i, h);
                return;
            }
        }
        upstreamHeaders.add(h);
    }

    @Override
    public List<java.util.Map.Entry<String, String>> upstreamHeaders() {
        return upstreamHeaders == null ? List.of() : java.util.Collections.unmodifiableList(upstreamHeaders);
    }

    /** Exchanges are confined to their event loop: a call from elsewhere is a bug in the caller, said at once. */
    private void checkLoop() {
        if (!client.eventLoop().inEventLoop()) {
            throw new IllegalStateException("exchange " + requestId + " was called off its event loop: use exchange.eventLoop().execute(...)");
        }
    }

    @Override
    public void listen(AnswerListener listener) {
        checkLoop();
        if (listeners == null) {
            listeners = new AnswerListener[]{listener};
        } else {
            AnswerListener[] more = java.util.Arrays.copyOf(listeners, listeners.length + 1);
            more[listeners.length] = listener;
            listeners = more;
        }
    }

    @Override
    public void respond(OpenAiError error) {
        if (!client.eventLoop().inEventLoop()) {
            client.eventLoop().execute(() -> respond(error)); // from an asynchronous filter's callback
            return;
        }
        if (finished || headSent) {
            return;
        }
        failure = error.code();
        respond(error.toResponse(client.alloc()));
    }

    /** A complete answer in one message. */
    @Override
    public void respond(FullHttpResponse response) {
        if (!client.eventLoop().inEventLoop()) {
            FullHttpResponse later = response;
            client.eventLoop().execute(() -> respond(later)); // from an asynchronous filter's callback
            return;
        }
        if (finished || headSent) {
            response.release();
            return;
        }
        status = response.status();
        answerBytes = response.content().readableBytes();
        tellHead();
        tellBody(response.content());
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

    @Override
    public AnswerStream respondStream() {
        checkLoop();
        if (finished || headSent) {
            return null;
        }
        status = HttpResponseStatus.OK;
        eventStream = true;
        tellHead();
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream");
        head.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
        decorate(head);
        HttpUtil.setTransferEncodingChunked(head, true);
        client.writeAndFlush(head, client.voidPromise());
        return new OwnStream();
    }

    /** An answer an extension streams itself: each event written and flushed as it comes. */
    private final class OwnStream implements AnswerStream {
        @Override
        public void event(ByteBuf event) {
            checkLoop();
            if (finished) {
                event.release();
                return;
            }
            tellEvent(event);
            client.writeAndFlush(new DefaultHttpContent(event), client.voidPromise());
        }

        @Override
        public void end() {
            checkLoop();
            if (!finished) {
                writeLast(LastHttpContent.EMPTY_LAST_CONTENT);
            }
        }

        @Override
        public void abort(OpenAiError error) {
            checkLoop();
            fail(error);
        }
    }

    @Override
    public void answerCost(double usd) {
        checkLoop();
        if (!headSent) {
            cost = usd;
        }
    }

    @Override
    public boolean finished() {
        return finished;
    }

    @Override
    public boolean headSent() {
        return headSent;
    }

    // ---- the answer: what attempts use ---------------------------------------------------------

    /**
     * A complete upstream answer sent on in one write: its status line and header lines as they
     * came, the gateway's headers, the length and the body. The caller keeps ownership of {@code answer}.
     */
    void respondPassthrough(PassthroughAnswer answer) {
        if (finished || headSent) {
            return;
        }
        status = HttpResponseStatus.valueOf(answer.status());
        ByteBuf content = answer.body();
        tellHead();
        tellBody(content);
        int bodyBytes = content.readableBytes();
        answerBytes = bodyBytes;
        boolean inline = bodyBytes <= WireBytes.INLINE_BODY_BYTES;
        WireBytes out = WireBytes.start(answer.headBytes() + 384 + (inline ? bodyBytes : 0));
        out.put(HTTP_1_1);
        answer.writeStatus(out);
        out.crlf();
        if (extraHeaders == null) {
            answer.writeHeaderLines(out);
        } else {
            answer.writeHeaderLines(out, extraHeaderNames());
        }
        gatewayHeaders(out);
        out.name(HttpHeaderNames.CONTENT_LENGTH).decimal(bodyBytes).crlf().crlf();
        if (inline) {
            out.put(content, content.readerIndex(), bodyBytes);
            writeLast(out.copyTo(client.alloc()));
        } else {
            CompositeByteBuf whole = client.alloc().compositeDirectBuffer(2);
            whole.addComponent(true, out.copyTo(client.alloc())).addComponent(true, content.retain());
            writeLast(whole);
        }
    }

    /** Starts a relayed answer; its body follows in pieces or events. Not flushed. */
    void respondHead(HttpResponse head) {
        if (finished || headSent) {
            return;
        }
        status = head.status();
        HttpHeaders h = head.headers();
        String contentType = h.get(HttpHeaderNames.CONTENT_TYPE);
        eventStream = contentType != null && contentType.regionMatches(true, 0, EVENT_STREAM, 0, EVENT_STREAM.length());
        tellHead();
        decorate(head);
        if (eventStream) {
            // the gateway may drop or rewrite events (the usage it asked for, a translation): no length holds
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
        if (!eventStream && endpoint.proxied && status.code() / 100 == 2 && request.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
            // a body too large to hold: its usage comes at its end, so its cost goes in a trailer (chunked)
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
            HttpUtil.setTransferEncodingChunked(head, true);
            h.set(HttpHeaderNames.TRAILER, X_NEMO_COST);
            costTrailer = true;
        }
        if (!HttpUtil.isContentLengthSet(head) && !HttpUtil.isTransferEncodingChunked(head)) {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        client.write(head, client.voidPromise());
    }

    /** Whether the answer's cost goes in a trailer: a non-streaming body relayed as it came. */
    private boolean costTrailer;

    /** Whether the answer under way is an event stream. */
    boolean eventStream() {
        return eventStream;
    }

    /**
     * One whole event of a streamed answer (a view: the exchange takes its own reference). Reads the
     * usage from it; drops the usage-only event the gateway asked the upstream for when the client
     * did not; tells the listeners; queues it for the next {@link #flushAnswer}.
     */
    void sendEvent(ByteBuf event) {
        if (finished) {
            return;
        }
        ByteBuf out = null;
        if (endpoint.proxied) {
            Usage u = UsageScanner.scan(event);
            boolean chat = endpoint == Endpoint.CHAT_COMPLETIONS; // the usage event is chat's: other streams carry theirs anyway
            if (u != null) {
                usage(u);
                if (chat && !body.includeUsage() && UsageScanner.hasEmptyChoices(event)) {
                    return; // the client did not ask for it: only the gateway wanted the usage
                }
            } else if (chat && !body.includeUsage()) {
                out = withoutNullUsage(event);
            }
        }
        if (out == null) {
            out = event.retainedSlice();
        }
        tellEvent(out);
        queue(out);
    }

    /**
     * The event without its {@code ,"usage":null} member (a composite of two views), or null when it
     * has none: a stream whose usage event only the gateway asked for carries that member in every
     * chunk, and the client, who did not ask, gets the chunks as it would have without the gateway.
     */
    private ByteBuf withoutNullUsage(ByteBuf event) {
        int[] span = UsageScanner.nullUsageMember(event);
        if (span == null) {
            return null;
        }
        int from = event.readerIndex();
        CompositeByteBuf c = client.alloc().compositeBuffer(2);
        c.addComponent(true, event.retainedSlice(from, span[0] - from));
        c.addComponent(true, event.retainedSlice(span[1], event.writerIndex() - span[1]));
        return c;
    }

    /** A piece of a relayed body that is not an event stream (ownership passes). Queued for the next flush. */
    void sendBodyPiece(ByteBuf piece) {
        if (finished) {
            piece.release();
            return;
        }
        tellBody(piece);
        answerBytes += piece.readableBytes();
        if (endpoint.proxied) {
            keepTail(piece);
        }
        queue(piece);
    }

    private static final int TAIL_BYTES = 4096;

    /** Keeps the last {@value #TAIL_BYTES} bytes of a relayed body: its usage object is at its end. */
    private void keepTail(ByteBuf piece) {
        if (bodyTail == null) {
            bodyTail = new byte[TAIL_BYTES];
        }
        int n = piece.readableBytes();
        if (n >= TAIL_BYTES) {
            piece.getBytes(piece.writerIndex() - TAIL_BYTES, bodyTail, 0, TAIL_BYTES);
            bodyTailLength = TAIL_BYTES;
            return;
        }
        int keep = Math.min(bodyTailLength, TAIL_BYTES - n);
        System.arraycopy(bodyTail, bodyTailLength - keep, bodyTail, 0, keep);
        piece.getBytes(piece.readerIndex(), bodyTail, keep, n);
        bodyTailLength = keep + n;
    }

    /**
     * A successful answer that ended without usage (a stream cut short, an upstream that reports
     * none): the usage read from the tail of a body too large to hold, or else an estimate, marked as
     * such. Prompt: 4 bytes of request body a token (a tokenizer-free rule of thumb for English text
     * and JSON); completion: a token per streamed event (upstreams send about one per chunk), or 4
     * bytes a token of a body's size past its JSON envelope.
     */
    private void usageIfMissing() {
        if (usage != null || !endpoint.proxied || deployment() == null || status == null || status.code() / 100 != 2) {
            return;
        }
        if (usageFromTail()) {
            return;
        }
        if (answerBytes == 0 && answerEvents == 0) {
            return;
        }
        long prompt = (request.content().readableBytes() + 3) / 4;
        long completion = eventStream ? Math.max(0, answerEvents - 1) : Math.max(0, answerBytes - ENVELOPE_BYTES) / 4;
        usage(new Usage(prompt, completion, prompt + completion, 0, true));
    }

    /** The usage in the kept tail of a relayed body, if it has one and none was read yet; whether there is one now. */
    private boolean usageFromTail() {
        if (usage == null && bodyTailLength > 0) {
            Usage u = UsageScanner.scan(Unpooled.wrappedBuffer(bodyTail, 0, bodyTailLength));
            if (u != null) {
                usage(u);
            }
        }
        return usage != null;
    }

    /** About the size of a chat.completion's JSON around its message text. */
    private static final long ENVELOPE_BYTES = 300;

    private void queue(ByteBuf piece) {
        if (burstFirst == null && burst == null) {
            burstFirst = piece;
            return;
        }
        if (burst == null) {
            burst = client.alloc().compositeBuffer(1024); // no consolidating copies: a read can bring many events
            burst.addComponent(true, burstFirst);
            burstFirst = null;
        }
        burst.addComponent(true, piece);
    }

    /**
     * Writes what was queued since the last flush as one piece and flushes. An SSE upstream often
     * sends several events per read, and one write for them all saves the client pipeline a pass
     * per event; nothing waits: the relay flushes at the end of every read.
     */
    void flushAnswer() {
        if (finished) {
            return;
        }
        writeQueued();
        client.flush();
    }

    private void writeQueued() {
        ByteBuf out = burst != null ? burst : burstFirst;
        burst = null;
        burstFirst = null;
        if (out != null) {
            client.write(new DefaultHttpContent(out), client.voidPromise());
            if (upstream != null && !client.isWritable()) {
                upstream.config().setAutoRead(false); // resumed by clientWritable()
            }
        }
    }

    /** Ends a relayed answer: what is queued, then the end of the body, flushed. */
    void endAnswer() {
        if (finished) {
            return;
        }
        writeQueued();
        if (costTrailer) {
            usageFromTail();
            if (cost >= 0) {
                LastHttpContent last = new DefaultLastHttpContent();
                last.trailingHeaders().set(X_NEMO_COST, WireBytes.formatCost(cost));
                writeLast(last);
                return;
            }
        }
        writeLast(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /**
     * Ends the exchange on an error. Before the head is sent the client gets the error as a
     * normal OpenAI error response; mid-stream it gets a final {@code data: {"error":...}}
     * event and a clean end of stream; a half-sent plain body can only be cut short.
     */
    void fail(OpenAiError error) {
        if (finished) {
            return;
        }
        if (!headSent) {
            respond(error);
            return;
        }
        failure = error.code();
        if (eventStream) {
            writeQueued(); // what arrived before the end still reaches the client, ahead of the error event
            ByteBuf event = client.alloc().buffer();
            event.writeCharSequence(error.sseEvent(), StandardCharsets.UTF_8);
            client.write(new DefaultHttpContent(event), client.voidPromise());
            // the answer ends whole (its last chunk): the connection serves the next request, as after any
            // answer. Closing it raced a pooling client, which could send its next request on it first
            writeLast(LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            releaseQueued();
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
        releaseQueued();
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

    void usage(Usage u) {
        this.usage = u;
        Deployment d = deployment();
        if (u != null && d != null) {
            cost = d.cost(u);
        }
    }

    // ---- writing -------------------------------------------------------------------------------

    private void tellHead() {
        if (listeners != null) {
            int code = status.code();
            for (AnswerListener l : listeners) {
                try {
                    l.onHead(this, code);
                } catch (RuntimeException e) {
                    LOG.warn("answer listener {} failed on the head of {}", l.getClass().getName(), requestId, e);
                }
            }
        }
    }

    /** One event of a streamed answer, whoever streams it: counted, and told to the listeners. */
    private void tellEvent(ByteBuf event) {
        answerBytes += event.readableBytes();
        answerEvents++;
        if (listeners != null) {
            for (AnswerListener l : listeners) {
                try {
                    l.onEvent(this, event.duplicate());
                } catch (RuntimeException e) {
                    LOG.warn("answer listener {} failed on an event of {}", l.getClass().getName(), requestId, e);
                }
            }
        }
    }

    private void tellBody(ByteBuf piece) {
        if (listeners != null) {
            for (AnswerListener l : listeners) {
                try {
                    l.onBody(this, piece.duplicate());
                } catch (RuntimeException e) {
                    LOG.warn("answer listener {} failed on the body of {}", l.getClass().getName(), requestId, e);
                }
            }
        }
    }

    private List<CharSequence> extraHeaderNames() {
        List<CharSequence> names = new ArrayList<>(extraHeaders.size() / 2);
        for (int i = 0; i < extraHeaders.size(); i += 2) {
            names.add((CharSequence) extraHeaders.get(i));
        }
        return names;
    }

    private void decorate(HttpResponse response) {
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
                h.set(name, WireBytes.formatCost(usd));
            }

            @Override
            public void millis(AsciiString name, long nanos) {
                h.set(name, WireBytes.formatMillis(nanos));
            }
        });
    }

    /** Marks the head as sent and gives every header the gateway adds to an answer. */
    private void gatewayHeaders(HeaderSink out) {
        headSent = true;
        headSentNanos = System.nanoTime();
        if (extraHeaders != null) {
            for (int i = 0; i < extraHeaders.size(); i += 2) {
                out.text((AsciiString) extraHeaders.get(i), (CharSequence) extraHeaders.get(i + 1));
            }
        }
        out.text(X_REQUEST_ID, requestId);
        if (endpoint.proxied) {
            out.text(X_NEMO_CACHE, cacheDecision); // on every proxied answer: a cache hit has no deployment
        }
        Deployment d = deployment();
        if (d != null) {
            out.text(X_NEMO_MODEL, d.id());
            out.number(X_NEMO_FALLBACKS, fallbacks());
        }
        if (cost >= 0) {
            out.cost(X_NEMO_COST, cost); // a provider's answer's, or the cost an extension stated for its own
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

    private void releaseQueued() {
        if (burstFirst != null) {
            burstFirst.release();
            burstFirst = null;
        }
        if (burst != null) {
            burst.release();
            burst = null;
        }
    }

    private void finish() {
        finished = true;
        finishedNanos = System.nanoTime();
        if (suspendedTimeout != null) {
            suspendedTimeout.cancel(false);
            suspendedTimeout = null;
        }
        if (upstream != null && attempt != null && attempt.pending()) {
            Channel u = upstream; // answered otherwise while its request was out: that answer is of no use now
            upstream = null;
            u.close();
        }
        detachUpstream(); // the connection goes back to its pool: it is not this exchange's to pause or close
        if (status == null) {
            status = HttpResponseStatus.valueOf(499, "Client Closed Request");
        }
        try {
            usageIfMissing();
            if (attempt != null) {
                attempt.exchangeFinished();
            }
            if (listeners != null) {
                for (AnswerListener l : listeners) {
                    try {
                        l.onComplete(this);
                    } catch (RuntimeException e) {
                        LOG.warn("answer listener {} failed on the completion of {}", l.getClass().getName(), requestId, e);
                    }
                }
            }
            runtime.completed(this);
        } finally {
            // whatever an extension threw (an Error too), the connection goes on to its next request
            request.release();
            owner.exchangeFinished(this);
        }
    }

    // ---- Completion ----------------------------------------------------------------------------

    @Override
    public String requestedModel() {
        return body.model();
    }

    /** The status for logs and metrics: 499 when the client left before the end, as nginx counts it. */
    @Override
    public int status() {
        return cancelled ? 499 : status == null ? 0 : status.code();
    }

    @Override
    public boolean cancelled() {
        return cancelled;
    }

    @Override
    public String failure() {
        return failure;
    }

    @Override
    public boolean streamed() {
        return eventStream;
    }

    @Override
    public Usage usage() {
        return usage;
    }

    /** Cost in USD, or -1 when unknown. */
    @Override
    public double cost() {
        return cost;
    }

    @Override
    public int fallbacks() {
        return attempt == null ? 0 : attempt.number() - 1;
    }

    @Override
    public List<AttemptRecord> attempts() {
        if (firstAttempt == null) {
            return List.of();
        }
        if (laterAttempts == null) {
            return List.of(firstAttempt);
        }
        List<AttemptRecord> all = new ArrayList<>(1 + laterAttempts.size());
        all.add(firstAttempt);
        all.addAll(laterAttempts);
        return all;
    }

    @Override
    public long headSentNanos() {
        return headSentNanos;
    }

    @Override
    public long finishedNanos() {
        return finishedNanos;
    }

    /** When the last attempt's request went upstream; 0 when none did. */
    @Override
    public long upstreamSentNanos() {
        return attempt == null ? 0 : attempt.sentNanos();
    }

    /** When the last attempt's answer began; 0 when none did. */
    @Override
    public long upstreamFirstByteNanos() {
        return attempt == null ? 0 : attempt.firstByteNanos();
    }

    /**
     * Time the gateway itself spent: from the request to the first attempt's hand-off upstream (or
     * to its provider, for one that answers in-process), and between the answering attempt's first
     * byte and the client's head.
     */
    @Override
    public long overheadNanos() {
        long handoff;
        if (firstAttempt != null) {
            handoff = firstAttempt.sentNanos() != 0 ? firstAttempt.sentNanos() : firstAttempt.startedNanos();
        } else {
            handoff = headSentNanos != 0 ? headSentNanos : finishedNanos;
        }
        long overhead = handoff - receivedNanos;
        long firstByte = upstreamFirstByteNanos();
        if (firstByte != 0 && headSentNanos >= firstByte) {
            overhead += headSentNanos - firstByte;
        }
        return Math.max(0, overhead);
    }

    /** The body of a small local answer (health, metrics). */
    public static ByteBuf utf8(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }
}
