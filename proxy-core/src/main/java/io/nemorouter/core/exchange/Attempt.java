package io.nemorouter.core.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponse;

/**
 * One try of an exchange on one deployment, handed to its provider by the dispatcher. The provider
 * sends the request and reports what comes back, as the upstream sends it: a whole answer
 * ({@link #whole}), or a head, pieces and an end; or a failure. The gateway translates the answer
 * with the provider's {@code ResponseTranslator}, tells the listeners and writes it to the client;
 * the provider never answers the client itself, so the dispatcher can try another deployment when
 * this one fails before its head.
 *
 * <p>Called on the exchange's event loop only. Ownership of every buffer passed in passes to the attempt.
 */
public interface Attempt extends AttemptRecord {
    Exchange exchange();

    /** The endpoint this attempt's provider speaks: the client's, or the one a bridge translates it to. */
    io.nemorouter.core.openai.Endpoint endpoint();

    /** The request this attempt sends: the exchange's body, or a bridge's translation of it. */
    io.nemorouter.core.openai.RequestBody body();

    /**
     * Whether a failure now could still be retried on another deployment: nothing has gone to the
     * client and the routing strategy may try another.
     */
    boolean mayFallBack();

    /** Whether nobody waits for this answer any more (the client left, or the exchange was answered): stop work. */
    boolean abandoned();

    /**
     * The request was written to the upstream over {@code upstream}: times the attempt, lets the
     * gateway pause reading it while the client cannot keep up, and closes it if the client leaves.
     */
    void upstreamSent(Channel upstream);

    /**
     * The first byte of the answer arrived (for the attempt's timing), when that is earlier than
     * {@link #head} or {@link #whole}: an answer held until its end. Those imply it otherwise.
     */
    void firstByteArrived();

    /**
     * The head of an answer whose body follows in {@link #content} pieces. Returns false when the
     * attempt refuses it: a retryable status (429, 5xx) while another deployment can be tried.
     * The attempt has then failed; the caller drops the rest of this answer.
     */
    boolean head(HttpResponse head);

    /** A piece of the body, in order. */
    void content(ByteBuf piece);

    /** The pieces so far may go out now (the end of a read, a pause in a stream). */
    void flush();

    /** The answer is complete. */
    void end();

    /** A complete answer in one message. Returns false (and releases it) when refused, as {@link #head}. */
    boolean whole(FullHttpResponse answer);

    /** The attempt failed; before the head the dispatcher may try another deployment, after it the answer is cut short. */
    void failed(AttemptFailure failure);
}
