package io.nemorouter.core.provider;

import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.ByteBuf;

/** Where a {@link ResponseTranslator} writes the client's events. */
public interface EventSink {
    /** One whole server-sent event ({@code data: ...\n\n}) for the client; ownership of {@code event} passes to the sink. */
    void event(ByteBuf event);

    /**
     * The upstream's stream failed in its own words (Anthropic's {@code error} event, a stream that
     * ended without its last event): the client's stream ends with {@code error} as an error event,
     * after the events already given. Nothing more is taken from the translator.
     */
    void fail(OpenAiError error);
}
