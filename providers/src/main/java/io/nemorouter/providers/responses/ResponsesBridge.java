package io.nemorouter.providers.responses;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.provider.EndpointBridge;
import io.nemorouter.core.provider.ResponseTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * The Responses API ({@code POST /v1/responses}) for deployments that speak only chat completions
 * (Anthropic, Gemini, the mock, most OpenAI-compatible servers): the request as a chat request
 * ({@link ResponsesRequest}), the answer and its stream back as a response and its events
 * ({@link ResponsesTranslator}). Stateless: {@code previous_response_id} is refused, the client
 * sends the conversation.
 */
public final class ResponsesBridge implements EndpointBridge {
    @Override
    public Endpoint from() {
        return Endpoint.RESPONSES;
    }

    @Override
    public Endpoint to() {
        return Endpoint.CHAT_COMPLETIONS;
    }

    @Override
    public ByteBuf request(Exchange exchange) {
        try {
            return Unpooled.wrappedBuffer(OpenAiJson.MAPPER.writeValueAsBytes(
                    ResponsesRequest.toChat(exchange.body().upstreamView())));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e); // a tree always writes
        } catch (ResponsesRequest.Refused e) {
            throw new InvalidBodyException(e.error);
        }
    }

    @Override
    public ResponseTranslator translator(Exchange exchange) {
        return new ResponsesTranslator(exchange);
    }
}
