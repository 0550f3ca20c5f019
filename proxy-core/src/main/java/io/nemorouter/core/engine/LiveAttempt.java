package io.nemorouter.core.engine;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.internal.http1.PassthroughAnswer;
import io.nemorouter.core.internal.http1.PassthroughTarget;
import io.nemorouter.core.internal.http1.SseFramer;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.UsageScanner;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.core.provider.BridgedTranslator;
import io.nemorouter.core.provider.EndpointBridge;
import io.nemorouter.core.provider.EventSink;
import io.nemorouter.core.provider.ResponseTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An attempt under way: what its provider reports goes through the provider's translator to the
 * exchange, or, on a failure before the head, back to the {@link Dispatcher}. A stream is cut into
 * whole events ({@link SseFramer}) before the translator and the listeners see it. Once the attempt
 * has an outcome, anything its provider still reports is dropped (and released).
 * Event-loop confined.
 */
final class LiveAttempt implements Attempt, PassthroughTarget, EventSink {
    private static final Logger LOG = LoggerFactory.getLogger(LiveAttempt.class);

    private final ServerExchange ex;
    private final Deployment deployment;
    private final int number;
    private final ResponseTranslator translator;
    private final Dispatcher dispatcher;

    private Outcome outcome = Outcome.PENDING;
    private int upstreamStatus;
    private String error;
    private long retryAfterMillis = -1;
    private final long startedNanos = System.nanoTime();
    private long sentNanos;
    private long firstByteNanos;
    private long endedNanos;
    /** Cuts the upstream's event stream into events; null until an event stream's head arrives. */
    private SseFramer framer;

    /** The bridge this attempt's request goes through, or null when its provider speaks the client's endpoint. */
    final EndpointBridge bridge;
    /** What this attempt sends: the exchange's body, or (set when it is sent) the bridge's translation. */
    private RequestBody body;

    LiveAttempt(ServerExchange ex, Deployment deployment, int number, ResponseTranslator translator, EndpointBridge bridge,
                Dispatcher dispatcher) {
        this.ex = ex;
        this.deployment = deployment;
        this.number = number;
        this.bridge = bridge;
        this.translator = bridge == null ? translator : new BridgedTranslator(translator, bridge.translator(ex));
        this.dispatcher = dispatcher;
    }

    @Override
    public Endpoint endpoint() {
        return bridge == null ? ex.endpoint() : bridge.to();
    }

    @Override
    public RequestBody body() {
        return body != null ? body : ex.body();
    }

    /** The bridge's translation of the request, made when the attempt is sent (after the filters' edits). */
    void bridgedBody(RequestBody translated) {
        this.body = translated;
    }

    // ---- Attempt: what the provider reports ----------------------------------------------------

    @Override
    public Exchange exchange() {
        return ex;
    }

    @Override
    public boolean mayFallBack() {
        return !ex.headSent() && !ex.finished() && dispatcher.mayRetry(ex, this);
    }

    /** Whether its provider got it (after the {@code DEPLOYMENT_CHOSEN} filters): only then does the strategy hear its end. */
    private boolean started;

    void started() {
        started = true;
    }

    /** The outcome is final: the times are, and the strategy hears it (once). */
    private void settle(Outcome o) {
        outcome = o;
        endedNanos = System.nanoTime();
        cancelBackstop();
        if (started) {
            dispatcher.attemptEnded(ex, this);
        }
    }

    @Override
    public boolean abandoned() {
        return outcome != Outcome.PENDING || ex.finished() || ex.attempt != this;
    }

    private boolean over() {
        return outcome != Outcome.PENDING || ex.finished();
    }

    @Override
    public void upstreamSent(Channel upstream) {
        sentNanos = System.nanoTime();
        if (upstream != null && !over()) {
            ex.bindUpstream(upstream);
        }
    }

    @Override
    public void firstByteArrived() {
        if (firstByteNanos == 0) {
            firstByteNanos = System.nanoTime();
        }
    }

    @Override
    public boolean head(HttpResponse head) {
        if (over()) {
            return false;
        }
        firstByteArrived();
        try {
            translator.head(ex, head);
        } catch (RuntimeException e) {
            translatorFailed(e);
            return false;
        }
        int status = head.status().code();
        upstreamStatus = status;
        if (Dispatcher.retryableStatus(status) && refused(status, head.headers()::get)) {
            return false;
        }
        ex.respondHead(head);
        if (ex.eventStream()) {
            // an event is held until it ends: no longer than the longest body the gateway would hold
            framer = new SseFramer(ex.alloc(), ex.runtime.config.maxBufferedResponseBytes);
        }
        return true;
    }

    @Override
    public void content(ByteBuf piece) {
        if (!ex.headSent() || over()) {
            piece.release();
            return;
        }
        if (framer == null) {
            if (translator != ResponseTranslator.IDENTITY) {
                piece.release();
                failed(AttemptFailure.fatal(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_response",
                        "The upstream's answer is not an event stream and too large to translate.")));
                return;
            }
            ex.sendBodyPiece(piece);
            return;
        }
        framer.add(piece);
        try {
            for (ByteBuf event = framer.next(); event != null; event = framer.next()) {
                try {
                    translator.event(ex, event, this);
                } catch (RuntimeException e) {
                    translatorFailed(e);
                } finally {
                    event.release();
                }
                if (over()) {
                    return;
                }
            }
        } catch (SseFramer.TooLarge e) {
            failed(AttemptFailure.fatal(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_response",
                    "The upstream's stream is not a server-sent event stream: " + e.getMessage() + ".")));
        }
    }

    /** EventSink: the translator's events for the client; ownership passes here. */
    @Override
    public void event(ByteBuf event) {
        try {
            ex.sendEvent(event);
        } finally {
            event.release();
        }
    }

    /** EventSink: the upstream's stream failed, as its translator read it; the answer had started, so nothing else is tried. */
    @Override
    public void fail(OpenAiError error) {
        failed(AttemptFailure.fatal(error));
    }

    @Override
    public void flush() {
        if (!over() && ex.headSent()) {
            ex.flushAnswer();
        }
    }

    @Override
    public void end() {
        if (over() || !ex.headSent()) {
            return;
        }
        if (framer != null) {
            ByteBuf rest = framer.takePartial();
            if (rest != null) {
                // an unterminated last event: pass it on as it came, it is the upstream's to end
                if (translator == ResponseTranslator.IDENTITY) {
                    ex.sendEvent(rest);
                }
                rest.release();
            }
            try {
                translator.end(ex, this);
            } catch (RuntimeException e) {
                translatorFailed(e);
                return;
            }
            if (over()) {
                return; // the translator failed the stream at its end
            }
        }
        settle(Outcome.ANSWERED);
        ex.endAnswer();
    }

    @Override
    public boolean whole(FullHttpResponse answer) {
        if (over()) {
            answer.release();
            return false;
        }
        firstByteArrived();
        ByteBuf content = answer.content();
        ByteBuf translated;
        int status;
        try {
            translator.head(ex, answer);
            status = answer.status().code();
            upstreamStatus = status;
            if (Dispatcher.retryableStatus(status) && refused(status, answer.headers()::get)) {
                answer.release();
                return false;
            }
            translated = translator.body(ex, status, content);
        } catch (RuntimeException e) {
            if (content.refCnt() > 0) {
                content.release();
            }
            translatorFailed(e);
            return false;
        }
        if (translated != content) {
            answer = answer.replace(translated); // the translator released the upstream's body
        }
        if (ex.endpoint().proxied) {
            ex.usage(UsageScanner.scan(answer.content()));
        }
        answer.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        settle(Outcome.ANSWERED);
        ex.respond(answer);
        return true;
    }

    // ---- PassthroughTarget: the relay's fast way -----------------------------------------------

    @Override
    public boolean acceptsPassthrough() {
        return translator == ResponseTranslator.IDENTITY && !over();
    }

    @Override
    public boolean passthrough(PassthroughAnswer answer) {
        if (over()) {
            return false;
        }
        firstByteArrived();
        int status = answer.status();
        upstreamStatus = status;
        if (Dispatcher.retryableStatus(status) && refused(status, answer::header)) {
            return false;
        }
        if (ex.endpoint().proxied) {
            ex.usage(UsageScanner.scan(answer.body()));
        }
        settle(Outcome.ANSWERED);
        ex.respondPassthrough(answer);
        return true;
    }

    // ---- failures ------------------------------------------------------------------------------

    /**
     * Whether an answer with a retryable {@code status} (429, 5xx) is refused: it is while another
     * deployment may be tried. The attempt has then failed, and the dispatcher moves on. Its wait
     * hint ({@code Retry-After}, {@code retry-after-ms}, else OpenAI's {@code x-ratelimit-reset-*})
     * is kept either way: the routing strategy reads it.
     */
    private boolean refused(int status, java.util.function.Function<String, String> header) {
        long after = RetryAfter.millis(header.apply("retry-after"), header.apply("retry-after-ms"));
        if (after < 0 && status == 429) {
            after = RetryAfter.resetMillis(header.apply("x-ratelimit-reset-requests"), header.apply("x-ratelimit-reset-tokens"));
        }
        retryAfterMillis = after; // the strategy reads it, whether the answer is refused or relayed
        if (!mayFallBack()) {
            return false;
        }
        failed(new AttemptFailure(OpenAiError.upstream(HttpResponseStatus.valueOf(status), "upstream_status_" + status,
                "The upstream answered " + status + "."), true, after));
        return true;
    }

    /** A translator that throws is the gateway's fault, not the upstream's: 500, and no other deployment tried. */
    private void translatorFailed(RuntimeException e) {
        LOG.error("the translator of {} failed on request {}", deployment.id(), ex.requestId(), e);
        failed(AttemptFailure.fatal(OpenAiError.internal("The gateway failed to translate the answer (" + ex.requestId() + ").")));
    }

    @Override
    public void failed(AttemptFailure failure) {
        if (outcome != Outcome.PENDING) {
            return;
        }
        error = failure.error().code();
        retryAfterMillis = failure.retryAfterMillis();
        releaseFramer();
        if (ex.finished()) {
            settle(Outcome.CANCELLED);
            return;
        }
        if (ex.headSent()) {
            settle(Outcome.FAILED_AFTER_HEAD);
            ex.fail(failure.error());
            return;
        }
        settle(Outcome.FAILED_BEFORE_HEAD);
        LOG.debug("attempt {} of {} on {} failed: {}", number, ex.requestId(), deployment.id(), failure);
        ex.attemptFailed(this);
        dispatcher.attemptFailed(ex, this, failure);
    }

    /**
     * The exchange is over (answered, failed or the client left). An attempt still pending ends as
     * cancelled when the client left, or as abandoned when something else answered meanwhile.
     */
    void exchangeFinished() {
        if (outcome == Outcome.PENDING) {
            settle(ex.cancelled() ? Outcome.CANCELLED : Outcome.ABANDONED);
        }
        cancelBackstop();
        releaseFramer();
    }

    /** Whether nothing has ended it yet. */
    boolean pending() {
        return outcome == Outcome.PENDING;
    }

    // ---- the backstop --------------------------------------------------------------------------

    private io.netty.util.concurrent.ScheduledFuture<?> backstop;

    /**
     * Makes sure the attempt ends: the upstream client has its own first-byte and total timers, but
     * a provider that answers in-process, or works asynchronously before it sends, could otherwise
     * keep the client waiting for ever. Armed only for an attempt that has not sent anything when
     * its provider returns.
     */
    void armBackstop(long firstByteNanos, long totalNanos) {
        if (outcome != Outcome.PENDING || sentNanos != 0 || ex.finished()) {
            return;
        }
        backstop = ex.eventLoop().schedule(() -> {
            backstop = null;
            if (outcome != Outcome.PENDING || ex.finished()) {
                return;
            }
            if (!ex.headSent()) {
                failed(AttemptFailure.retryable(OpenAiError.upstream(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout",
                        "The provider did not answer within " + java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(firstByteNanos) + " ms.")));
            } else {
                armTotal(totalNanos - firstByteNanos);
            }
        }, firstByteNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private void armTotal(long remaining) {
        backstop = ex.eventLoop().schedule(() -> {
            backstop = null;
            if (outcome == Outcome.PENDING && !ex.finished()) {
                failed(AttemptFailure.fatal(OpenAiError.upstream(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_timeout",
                        "The provider did not complete its answer in time.")));
            }
        }, Math.max(0, remaining), java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private void cancelBackstop() {
        if (backstop != null) {
            backstop.cancel(false);
            backstop = null;
        }
    }

    private void releaseFramer() {
        if (framer != null) {
            framer.release();
            framer = null;
        }
    }

    // ---- AttemptRecord -------------------------------------------------------------------------

    @Override
    public int number() {
        return number;
    }

    @Override
    public Deployment deployment() {
        return deployment;
    }

    @Override
    public Outcome outcome() {
        return outcome;
    }

    @Override
    public int upstreamStatus() {
        return upstreamStatus;
    }

    @Override
    public String error() {
        return error;
    }

    @Override
    public long retryAfterMillis() {
        return retryAfterMillis;
    }

    @Override
    public long startedNanos() {
        return startedNanos;
    }

    @Override
    public long sentNanos() {
        return sentNanos;
    }

    @Override
    public long firstByteNanos() {
        return firstByteNanos;
    }

    @Override
    public long endedNanos() {
        return endedNanos;
    }

    @Override
    public String toString() {
        return "attempt " + number + " on " + deployment.id() + ": " + outcome;
    }
}
