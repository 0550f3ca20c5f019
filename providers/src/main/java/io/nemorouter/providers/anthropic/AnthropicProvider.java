package io.nemorouter.providers.anthropic;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.exchange.Key;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ResponseTranslator;
import io.nemorouter.core.upstream.Origin;
import io.nemorouter.core.upstream.UpstreamClient;
import io.nemorouter.core.upstream.UpstreamRequest;
import io.nemorouter.providers.translate.Fidelity;
import io.nemorouter.providers.translate.JsonBodies;
import io.netty.buffer.ByteBuf;


/**
 * {@code provider = anthropic}: chat completions through Anthropic's Messages API, the request
 * encoded by {@link AnthropicRequest} on the event loop, the answer translated by
 * {@link AnthropicTranslator} (a stream event by event). Embeddings are refused: Anthropic has none.
 */
final class AnthropicProvider implements Provider {
    /** Whether this attempt's request asked for JSON mode's forced tool: its translator gives the tool's input back as content. */
    private static final Key<Boolean> JSON_MODE = Key.of("anthropic.json_mode");

    private final Deployment deployment;
    private final Origin origin;
    private final UpstreamClient client;
    private final boolean dropParams;
    private final byte[] messagesPreamble;
    private final byte[] apiKey;
    private final byte[] version;
    private final byte[] beta;

    AnthropicProvider(Deployment deployment, UpstreamClient client, boolean dropParams, String version, String beta) {
        this.deployment = deployment;
        this.origin = Origin.parse(deployment.apiBase() == null ? "https://api.anthropic.com" : deployment.apiBase());
        this.client = client;
        this.dropParams = dropParams;
        this.messagesPreamble = UpstreamRequest.preamble(origin, "/v1/messages");
        this.apiKey = deployment.apiKey() == null ? null : UpstreamRequest.headerLine("x-api-key", deployment.apiKey());
        this.version = UpstreamRequest.headerLine("anthropic-version", version);
        this.beta = beta == null ? null : UpstreamRequest.headerLine("anthropic-beta", beta);
    }

    @Override
    public boolean speaks(Endpoint endpoint) {
        return endpoint == Endpoint.CHAT_COMPLETIONS;
    }

    @Override
    public void send(Exchange exchange, Attempt attempt) {
        if (attempt.endpoint() != Endpoint.CHAT_COMPLETIONS) {
            attempt.failed(AttemptFailure.fatal(OpenAiError.badRequest("unsupported_endpoint", "model",
                    "The model `" + deployment.name() + "` is served by Anthropic, which has no " + attempt.endpoint().path + " API.")));
            return;
        }
        Fidelity fidelity = new Fidelity(dropParams, "Anthropic");
        AnthropicRequest encoder = new AnthropicRequest(fidelity);
        ByteBuf body;
        try {
            ObjectNode request = encoder.encode(attempt.body().upstreamView(), deployment.model(),
                    deployment.pricing().maxOutputTokens());
            body = JsonBodies.write(exchange.alloc(), request);
        } catch (Fidelity.Refused e) {
            attempt.failed(AttemptFailure.fatal(e.error));
            return;
        }
        fidelity.report(exchange);
        exchange.set(JSON_MODE, encoder.jsonMode);
        UpstreamRequest request = client.newRequest(exchange, messagesPreamble, body);
        if (apiKey != null) {
            request.header(apiKey);
        }
        request.header(version);
        if (beta != null) {
            request.header(beta);
        }
        client.send(attempt, origin, request);
    }

    @Override
    public ResponseTranslator translator(Exchange exchange) {
        // made before send(): JSON mode is read from the request then, when the translator first needs it
        return new AnthropicTranslator(() -> Boolean.TRUE.equals(exchange.get(JSON_MODE)));
    }
}
