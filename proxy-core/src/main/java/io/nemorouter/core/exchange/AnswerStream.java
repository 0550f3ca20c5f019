package io.nemorouter.core.exchange;

import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.ByteBuf;

/**
 * A streamed answer that an extension writes itself, event by event, as they become known (a
 * follower of a coalesced request receiving its leader's stream): started by
 * {@link Exchange#respondStream}. Like the exchange, confined to its event loop; work on another
 * thread hands each call over with {@code exchange.eventLoop().execute(...)}. Once the exchange is
 * over (the client went away, or the stream ended) every call is ignored, and an event released.
 */
public interface AnswerStream {

    /**
     * Sends one whole server-sent event ({@code data: ...} and its blank line; ownership passes),
     * flushed at once. The exchange's {@link AnswerListener}s see it as they see a provider's.
     */
    void event(ByteBuf event);

    /** Ends the stream: the answer is complete. */
    void end();

    /**
     * Breaks the stream off, as when an upstream breaks mid-stream: an error event in OpenAI's
     * shape, then the connection closes, and the completion records the failure.
     */
    void abort(OpenAiError error);
}
