package io.nemorouter.examples.textgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ResponseTranslator;
import io.nemorouter.core.upstream.Origin;
import io.nemorouter.core.upstream.UpstreamClient;
import io.nemorouter.core.upstream.UpstreamRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * The request encoder for the TextGen API: an OpenAI chat request becomes
 * {@code {"model", "prompt", "max_new_tokens", "temperature", "stream"}}, the messages written as
 * {@code role: content} lines, sent to {@code <api_base>/generate} with {@code x-api-key}. Its
 * answers ({@code {"text", "input_tokens", "output_tokens"}}, or a stream of {@code {"token"}}
 * events ending in {@code {"done", ...}}) are translated by {@link TextGenTranslator}.
 */
final class TextGenProvider implements Provider {
    private final Deployment deployment;
    private final UpstreamClient client;
    private final Origin origin;
    private final byte[] preamble;
    private final byte[] apiKey;

    TextGenProvider(Deployment deployment, UpstreamClient client) {
        this.deployment = deployment;
        this.client = client;
        this.origin = Origin.parse(deployment.apiBase());
        this.preamble = UpstreamRequest.preamble(origin, "/generate");
        this.apiKey = deployment.apiKey() == null ? null : UpstreamRequest.headerLine("x-api-key", deployment.apiKey());
    }

    @Override
    public void send(Exchange exchange, Attempt attempt) {
        if (exchange.endpoint() != Endpoint.CHAT_COMPLETIONS) {
            attempt.failed(AttemptFailure.fatal(OpenAiError.badRequest("unsupported_endpoint", "model",
                    "The model `" + exchange.body().model() + "` only does chat completions.")));
            return;
        }
        ObjectNode openAi = exchange.body().renderJson(null, false); // the filters' edits applied
        ObjectNode request = OpenAiJson.MAPPER.createObjectNode();
        request.put("model", deployment.model());
        request.put("prompt", prompt(openAi.path("messages")));
        JsonNode max = openAi.has("max_completion_tokens") ? openAi.get("max_completion_tokens") : openAi.get("max_tokens");
        if (max != null && max.canConvertToInt()) {
            request.put("max_new_tokens", max.asInt());
        }
        if (openAi.has("temperature")) {
            request.set("temperature", openAi.get("temperature"));
        }
        request.put("stream", exchange.body().stream());
        ByteBuf body;
        try {
            body = Unpooled.wrappedBuffer(OpenAiJson.MAPPER.writeValueAsBytes(request));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e); // a tree we built ourselves always writes
        }
        UpstreamRequest upstream = client.newRequest(exchange, preamble, body);
        if (apiKey != null) {
            upstream.header(apiKey);
        }
        client.send(attempt, origin, upstream);
    }

    @Override
    public ResponseTranslator translator(Exchange exchange) {
        return new TextGenTranslator(exchange.requestId(), exchange.body().model()); // keeps a stream's state
    }

    private static String prompt(JsonNode messages) {
        StringBuilder p = new StringBuilder();
        for (JsonNode m : messages) {
            JsonNode content = m.path("content");
            String text = content.isTextual() ? content.asText() : content.toString();
            p.append(m.path("role").asText("user")).append(": ").append(text).append('\n');
        }
        return p.append("assistant:").toString();
    }
}
