package io.nemorouter.providers.openai;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.upstream.Origin;
import io.nemorouter.core.upstream.UpstreamClient;
import io.nemorouter.core.upstream.UpstreamRequest;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;

/**
 * Any OpenAI-compatible server: OpenAI, Azure's and Gemini's OpenAI endpoints, vLLM, Ollama.
 * The request encoder forwards the body byte for byte, except the {@code model} value when the
 * catalog renames it, the gateway-only fields ({@code nemo_cache}, {@code tags}), which upstreams
 * would reject, and the filters' edits; and, on a stream, it asks for the usage event
 * ({@code stream_options.include_usage}) so the completion has the stream's tokens and cost (the
 * gateway keeps that event from a client that did not ask for it). Answers need no translation.
 */
final class OpenAiProvider implements Provider {
    private final Deployment deployment;
    private final Origin origin;
    private final UpstreamClient client;
    private final boolean streamUsage;
    /** The {@code Authorization} header line, or null when the deployment has no key. */
    private final byte[] authorization;
    private final byte[] chatPreamble;
    private final byte[] embeddingsPreamble;

    OpenAiProvider(Deployment deployment, UpstreamClient client, boolean streamUsage) {
        this.deployment = deployment;
        this.origin = Origin.parse(deployment.apiBase());
        this.client = client;
        this.streamUsage = streamUsage;
        try {
            this.authorization = deployment.apiKey() == null ? null
                    : UpstreamRequest.headerLine(HttpHeaderNames.AUTHORIZATION, "Bearer " + deployment.apiKey());
        } catch (IllegalArgumentException e) {
            throw new ConfigError("the api_key of model " + deployment.name() + " contains a control or non-Latin-1 character");
        }
        this.chatPreamble = UpstreamRequest.preamble(origin, "/chat/completions");
        this.embeddingsPreamble = UpstreamRequest.preamble(origin, "/embeddings");
    }

    @Override
    public void send(Exchange exchange, Attempt attempt) {
        boolean embeddings = exchange.endpoint() == Endpoint.EMBEDDINGS;
        ByteBuf body = exchange.body().render(exchange.alloc(), deployment.model(),
                streamUsage && !embeddings && exchange.body().stream());
        UpstreamRequest request = client.newRequest(exchange, embeddings ? embeddingsPreamble : chatPreamble, body);
        if (authorization != null) {
            request.header(authorization);
        }
        client.send(attempt, origin, request);
    }
}
