package io.nemorouter.providers.openai;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.http.BodyEdits;
import io.nemorouter.core.http.Endpoint;
import io.nemorouter.core.http.Exchange;
import io.nemorouter.core.http.RequestFields;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.upstream.Origin;
import io.nemorouter.core.upstream.UpstreamClient;
import io.nemorouter.core.upstream.UpstreamRequest;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;

/**
 * Any OpenAI-compatible server: OpenAI, Azure's and Gemini's OpenAI endpoints, vLLM, Ollama.
 * The body is forwarded byte for byte, except the {@code model} value when the catalog renames
 * it and the gateway-only fields ({@code nemo_cache}, {@code tags}), which upstreams would reject.
 */
final class OpenAiProvider implements Provider {
    private final Deployment deployment;
    private final Origin origin;
    private final UpstreamClient client;
    /** The {@code Authorization} header line, or null when the deployment has no key. */
    private final byte[] authorization;
    private final byte[] chatPreamble;
    private final byte[] embeddingsPreamble;

    OpenAiProvider(Deployment deployment, UpstreamClient client) {
        this.deployment = deployment;
        this.origin = Origin.parse(deployment.apiBase());
        this.client = client;
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
    public void handle(Exchange exchange) {
        ByteBuf body = upstreamBody(exchange);
        byte[] preamble = exchange.endpoint == Endpoint.EMBEDDINGS ? embeddingsPreamble : chatPreamble;
        UpstreamRequest request = client.newRequest(exchange, preamble, body);
        if (authorization != null) {
            request.header(authorization);
        }
        client.send(exchange, origin, request);
    }

    private ByteBuf upstreamBody(Exchange exchange) {
        RequestFields f = exchange.fields;
        if (!deployment.renamesModel() && f.gatewayOnlySpans.isEmpty()) {
            return exchange.body().retainedDuplicate();
        }
        BodyEdits edits = new BodyEdits();
        if (deployment.renamesModel()) {
            edits.replaceWithString(f.modelStart, f.modelEnd, deployment.model());
        }
        for (int[] span : f.gatewayOnlySpans) {
            edits.remove(span[0], span[1]);
        }
        return edits.apply(exchange.client.alloc(), exchange.body());
    }
}
