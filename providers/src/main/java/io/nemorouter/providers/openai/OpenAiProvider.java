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
import io.nemorouter.providers.translate.Credentials;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;

import java.util.EnumMap;
import java.util.Map;

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
    /** The {@code Authorization} (or other credential) header line, or null when the deployment has no key. */
    private final byte[] authorization;
    /** Minted credentials (Vertex AI's tokens, {@code auth = vertex}) in place of a constant line, or null. */
    private Credentials minted;
    /** The request line and Host of each endpoint this upstream serves. */
    private final Map<Endpoint, byte[]> preambles = new EnumMap<>(Endpoint.class);

    OpenAiProvider(Deployment deployment, UpstreamClient client, boolean streamUsage) {
        this(deployment, client, streamUsage, Origin.parse(deployment.apiBase()), Map.of(
                        Endpoint.CHAT_COMPLETIONS, "/chat/completions", Endpoint.EMBEDDINGS, "/embeddings",
                        Endpoint.RESPONSES, "/responses", Endpoint.COMPLETIONS, "/completions"),
                deployment.apiKey() == null ? null : credential(deployment, "api_key", HttpHeaderNames.AUTHORIZATION, "Bearer " + deployment.apiKey()));
    }

    /**
     * The same API at other paths under {@code origin} (each endpoint it serves, by its path), with
     * another credential header (Azure's {@code /openai/deployments/{name}/chat/completions?api-version=...}
     * and {@code api-key}).
     */
    OpenAiProvider(Deployment deployment, UpstreamClient client, boolean streamUsage, Origin origin,
                   Map<Endpoint, String> paths, byte[] authorization) {
        this.deployment = deployment;
        this.origin = origin;
        this.client = client;
        this.streamUsage = streamUsage;
        this.authorization = authorization;
        paths.forEach((endpoint, path) -> preambles.put(endpoint, UpstreamRequest.preamble(origin, path)));
    }

    /** A credential header line from the catalog entry's {@code key}. */
    static byte[] credential(Deployment deployment, String key, CharSequence name, String value) {
        try {
            return UpstreamRequest.headerLine(name, value);
        } catch (IllegalArgumentException e) {
            throw new ConfigError("the " + key + " of model " + deployment.name() + " contains a control or non-Latin-1 character");
        }
    }

    /** Signs requests with minted credentials instead of a constant header. */
    OpenAiProvider mintedCredentials(Credentials credentials) {
        this.minted = credentials;
        return this;
    }

    @Override
    public boolean speaks(Endpoint endpoint) {
        return preambles.containsKey(endpoint);
    }

    @Override
    public void send(Exchange exchange, Attempt attempt) {
        Endpoint endpoint = attempt.endpoint();
        boolean askUsage = streamUsage && endpoint == Endpoint.CHAT_COMPLETIONS && attempt.body().stream();
        ByteBuf body = attempt.body().render(exchange.alloc(), deployment.model(), askUsage);
        if (minted != null) {
            Credentials.send(minted, exchange, attempt, body, "`" + deployment.name() + "`",
                    line -> client.send(attempt, origin, client.newRequest(exchange, preambles.get(endpoint), body).header(line)));
            return;
        }
        UpstreamRequest request = client.newRequest(exchange, preambles.get(endpoint), body);
        if (authorization != null) {
            request.header(authorization);
        }
        client.send(attempt, origin, request);
    }
}
