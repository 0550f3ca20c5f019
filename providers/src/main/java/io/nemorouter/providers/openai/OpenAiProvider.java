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
        this(deployment, client, streamUsage, Origin.parse(deployment.apiBase()), "/chat/completions", "/embeddings",
                deployment.apiKey() == null ? null : credential(deployment, HttpHeaderNames.AUTHORIZATION, "Bearer " + deployment.apiKey()));
    }

    /**
     * The same API at other paths under {@code origin}, with another credential header (Azure's
     * {@code /openai/deployments/{name}/chat/completions?api-version=...} and {@code api-key}).
     */
    OpenAiProvider(Deployment deployment, UpstreamClient client, boolean streamUsage, Origin origin, String chatPath,
                   String embeddingsPath, byte[] authorization) {
        this.deployment = deployment;
        this.origin = origin;
        this.client = client;
        this.streamUsage = streamUsage;
        this.authorization = authorization;
        this.chatPreamble = UpstreamRequest.preamble(origin, chatPath);
        this.embeddingsPreamble = UpstreamRequest.preamble(origin, embeddingsPath);
    }

    /** A credential header line from the catalog entry. */
    static byte[] credential(Deployment deployment, CharSequence name, String value) {
        try {
            return UpstreamRequest.headerLine(name, value);
        } catch (IllegalArgumentException e) {
            throw new ConfigError("the credentials of model " + deployment.name() + " contain a control or non-Latin-1 character");
        }
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
