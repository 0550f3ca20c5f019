package io.nemorouter.core.provider;

import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.Exchange;

/**
 * Speaks one upstream API for one catalog entry: a request encoder ({@link #send}) and a response
 * translator ({@link #translator}). An OpenAI-compatible upstream needs no translation, and its
 * answers go to the client as the same bytes ({@link ResponseTranslator#IDENTITY}); another API
 * (Anthropic's, Gemini's) encodes the OpenAI request in its own shape and translates what comes
 * back, body or stream, event by event.
 */
public interface Provider {
    /**
     * Sends the exchange's request for this attempt (or answers it in-process) and reports the
     * answer and any failure to {@code attempt}, never to the client. Called on the exchange's event
     * loop; must not block.
     */
    void send(Exchange exchange, Attempt attempt);

    /** How this provider's answers to {@code exchange} become OpenAI answers. */
    default ResponseTranslator translator(Exchange exchange) {
        return ResponseTranslator.IDENTITY;
    }
}
