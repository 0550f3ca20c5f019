package io.nemorouter.providers.openai;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.http.BodyEdits;
import io.nemorouter.core.http.Endpoint;
import io.nemorouter.core.http.Exchange;
import io.nemorouter.core.http.RequestFields;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.upstream.Origin;
import io.nemorouter.core.upstream.UpstreamClient;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.FullHttpRequest;
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
    private final String authorization;

    OpenAiProvider(Deployment deployment, UpstreamClient client) {
        this.deployment = deployment;
        this.origin = Origin.parse(deployment.apiBase());
        this.client = client;
        this.authorization = deployment.apiKey() == null ? null : "Bearer " + deployment.apiKey();
    }

    @Override
    public void handle(Exchange exchange) {
        ByteBuf body = upstreamBody(exchange);
        String path = exchange.endpoint == Endpoint.EMBEDDINGS ? "/embeddings" : "/chat/completions";
        FullHttpRequest request = client.newRequest(exchange, origin, path, body);
        if (authorization != null) {
            request.headers().set(HttpHeaderNames.AUTHORIZATION, authorization);
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
