package io.nemorouter.core.exchange;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.RequestBody;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

/**
 * One client request and its answer, as filters, route handlers and providers see it. Confined to
 * the client connection's event loop: every filter, listener and provider call happens there, so
 * nothing here is synchronised, and work that leaves the loop (a store lookup, a token mint) must
 * come back to {@link #eventLoop()} before it touches the exchange again.
 *
 * <p>An exchange is answered exactly once: by a filter ({@link #respond}), by a route handler, or
 * by a provider through its {@link Attempt}. Whatever answers, the gateway adds its headers and any
 * set with {@link #responseHeader}, tells the {@link AnswerListener}s, and records the
 * {@link Completion} that observers read.
 */
public interface Exchange {

    // ---- the request ---------------------------------------------------------------------------

    /** The client's {@code x-request-id} when it sent a usable one, else the gateway's own. */
    String requestId();

    Endpoint endpoint();

    HttpMethod method();

    /** The request target as sent, query string included. */
    String uri();

    /** The path without the query string. */
    String path();

    /** The client's request headers (read-only use). */
    HttpHeaders requestHeaders();

    /**
     * The JSON body. On the OpenAI endpoints its gateway fields ({@code model}, {@code stream},
     * {@code stream_options}, {@code nemo_cache}, {@code tags}) are already read and checked; any
     * other member is parsed on first ask. Edits made through it reach the upstream.
     */
    RequestBody body();

    /**
     * The body's bytes as the client sent them (without the edits made through {@link #body()}),
     * not retained: valid until the exchange finishes, and no longer (a filter that reads it
     * asynchronously must check {@link #finished()} first, or take a copy).
     */
    ByteBuf content();

    /** {@link System#nanoTime()} when the whole request had arrived. */
    long receivedNanos();

    /** The loop this exchange is confined to: asynchronous work resumes here. */
    EventLoop eventLoop();

    ByteBufAllocator alloc();

    // ---- per-request state ---------------------------------------------------------------------

    /** The value set for {@code key} on this exchange, or null. */
    <T> T get(Key<T> key);

    <T> void set(Key<T> key, T value);

    // ---- routing -------------------------------------------------------------------------------

    /** The deployment of the attempt under way (or that answered); null before routing. */
    Deployment deployment();

    /** 1 for the first attempt, 2 for the first fallback...; 0 before routing. */
    int attemptNumber();

    /** {@code hit}, {@code miss} or {@code bypass}, reported in {@code x-nemo-cache} and the completion. */
    void cacheDecision(String decision);

    String cacheDecision();

    // ---- the upstream request ------------------------------------------------------------------

    /**
     * Sets a header on the request the provider sends upstream, in place of the client's header of
     * that name (a trace context, say). Set before routing, it goes with every attempt; set by a
     * {@code DEPLOYMENT_CHOSEN} filter, with that attempt only (the next attempt's filters set it
     * again). A later value for the same name replaces an earlier one. Every provider that sends
     * with the gateway's {@code UpstreamClient} honours it.
     *
     * @throws IllegalArgumentException for a header the gateway or the provider sets itself (hop-by-hop
     *                                  headers, credentials, {@code content-type}, {@code x-request-id}),
     *                                  or a name or value with control or non-Latin-1 characters
     */
    void upstreamHeader(CharSequence name, CharSequence value);

    /** The headers set with {@link #upstreamHeader} for the attempt under way, names in lower case; empty when none. */
    java.util.List<java.util.Map.Entry<String, String>> upstreamHeaders();

    // ---- the answer ----------------------------------------------------------------------------

    /**
     * Adds a header to the answer, whoever gives it (a provider, a filter, an error). May be called
     * until the head is sent, also from {@link AnswerListener#onHead}. A later value for the same
     * name replaces an earlier one; the gateway's own headers cannot be replaced.
     */
    void responseHeader(CharSequence name, CharSequence value);

    /** Tells {@code listener} about this exchange's answer: head, body or events, completion. */
    void listen(AnswerListener listener);

    /**
     * Answers with an error in OpenAI's envelope. Ignored once the exchange has been answered. May
     * be called from any thread (it is carried to the exchange's event loop); the other methods
     * here must be called on it.
     */
    void respond(OpenAiError error);

    /** Answers with {@code response} (ownership passes). Ignored (and released) once answered. */
    void respond(FullHttpResponse response);

    /**
     * Starts an answer this caller streams itself: status 200, {@code text/event-stream}, the head
     * sent at once with the gateway's headers and those set so far; the events follow through the
     * returned stream. Null when the exchange has been answered already. Must be called on
     * {@link #eventLoop()}.
     */
    AnswerStream respondStream();

    /**
     * States the cost in USD of an answer an extension gives itself rather than a provider (a cache
     * hit's is 0: nobody was paid): it goes in {@code x-nemo-response-cost} and the completion. Call
     * before answering.
     */
    void answerCost(double usd);

    /**
     * Continues the filters after one returned {@link io.nemorouter.core.extension.Verdict#PENDING}.
     * Must be called on {@link #eventLoop()}.
     */
    void proceed();

    /** Whether the exchange is over: answered in full, failed, or the client has gone. */
    boolean finished();

    /** Whether the head of the answer has gone to the client. */
    boolean headSent();

    /**
     * The answer's cost in USD once its usage is known, else -1: a non-streaming answer's by
     * {@link AnswerListener#onHead} (its body is read before the head goes out), a stream's when it ends.
     */
    double cost();
}
