package io.nemorouter.core.provider;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;
import io.netty.buffer.ByteBuf;

/**
 * Carries requests of one OpenAI endpoint ({@link #from}) to deployments whose provider speaks only
 * another ({@link #to}): the Responses API as chat completions, so a Responses client reaches an
 * Anthropic or Gemini model. The request is translated when the attempt is sent (after the
 * filters' edits); the answer goes through the provider's translator first (to {@link #to}'s shape),
 * then through this bridge's. Found through {@link java.util.ServiceLoader}
 * ({@code META-INF/services/io.nemorouter.core.provider.EndpointBridge}).
 */
public interface EndpointBridge {
    Endpoint from();

    Endpoint to();

    /**
     * The request body for {@link #to}, from the exchange's body as edited (owned by the caller).
     *
     * @throws io.nemorouter.core.openai.InvalidBodyException for a request the bridge cannot carry (answered 400)
     */
    ByteBuf request(Exchange exchange);

    /** How {@link #to}'s answers become {@link #from}'s, for one exchange (may keep state across a stream's events). */
    ResponseTranslator translator(Exchange exchange);
}
