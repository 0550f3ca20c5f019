package io.nemorouter.core.provider;

import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;

/**
 * Speaks one upstream API for one catalog entry: a request encoder ({@link #send}) and a response
 * translator ({@link #translator}). An OpenAI-compatible upstream needs no translation, and its
 * answers go to the client as the same bytes ({@link ResponseTranslator#IDENTITY}); another API
 * (Anthropic's, Gemini's) encodes the OpenAI request in its own shape and translates what comes
 * back, body or stream, event by event.
 */
public interface Provider {
    /**
     * Whether this provider's upstream serves {@code endpoint} itself. An endpoint it does not speak
     * reaches it through an {@link EndpointBridge} when one leads to an endpoint it does (the
     * Responses API as chat completions), else the attempt is refused with a 400.
     */
    default boolean speaks(Endpoint endpoint) {
        return endpoint == Endpoint.CHAT_COMPLETIONS || endpoint == Endpoint.EMBEDDINGS;
    }

    /**
     * Sends the attempt's request ({@link Attempt#endpoint()}, {@link Attempt#body()}: the client's,
     * or a bridge's translation of it) (or answers it in-process) and reports the
     * answer and any failure to {@code attempt}, never to the client. Called on the exchange's event
     * loop; must not block.
     */
    void send(Exchange exchange, Attempt attempt);

    /** How this provider's answers to {@code exchange} become OpenAI answers. */
    default ResponseTranslator translator(Exchange exchange) {
        return ResponseTranslator.IDENTITY;
    }
}
