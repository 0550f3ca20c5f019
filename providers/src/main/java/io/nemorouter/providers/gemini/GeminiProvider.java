package io.nemorouter.providers.gemini;

import io.nemorouter.providers.translate.Credentials;
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
 * {@code provider = gemini} and {@code provider = vertex}: chat completions through Google's
 * {@code generateContent} / {@code streamGenerateContent?alt=sse} (the request encoded by
 * {@link GeminiRequest}, the answer translated by {@link GeminiTranslator}) and embeddings
 * ({@link GeminiEmbeddings}). The two APIs differ in their paths under the model and in how a
 * request is signed ({@link Credentials}): the Gemini API's key at once, Vertex AI's token when one
 * has been minted; a request that must wait for a token is encoded first, held, and sent from the
 * exchange's event loop when the token comes.
 */
final class GeminiProvider implements Provider {
    /** The embeddings request's shape, for the translator of its answer. */
    private static final Key<GeminiEmbeddings.Plan> EMBEDDINGS = Key.of("gemini.embeddings");

    private final Deployment deployment;
    /** "Gemini" or "Vertex AI", for messages. */
    private final String api;
    private final boolean vertex;
    private final Origin origin;
    private final UpstreamClient client;
    private final boolean dropParams;
    private final Credentials auth;
    /** The model as Google names it in a batch request ({@code models/gemini-embedding-001}). */
    private final String modelName;
    private final byte[] generate;
    private final byte[] streamGenerate;
    private final byte[] embed;
    private final byte[] batchEmbed;
    private final byte[] predict;

    /**
     * {@code model} is the model's resource name ({@code models/gemini-2.5-flash}), under
     * {@code version} ({@code /v1beta/}) at {@code origin}; the methods go after a colon.
     */
    GeminiProvider(Deployment deployment, String api, boolean vertex, Origin origin, String version, String model,
                   UpstreamClient client, boolean dropParams, Credentials auth) {
        this.deployment = deployment;
        this.api = api;
        this.vertex = vertex;
        this.origin = origin;
        this.client = client;
        this.dropParams = dropParams;
        this.auth = auth;
        this.modelName = model;
        String modelPath = version + model;
        this.generate = UpstreamRequest.preamble(origin, modelPath + ":generateContent");
        this.streamGenerate = UpstreamRequest.preamble(origin, modelPath + ":streamGenerateContent?alt=sse");
        this.embed = UpstreamRequest.preamble(origin, modelPath + ":" + GeminiEmbeddings.Method.EMBED.path);
        this.batchEmbed = UpstreamRequest.preamble(origin, modelPath + ":" + GeminiEmbeddings.Method.BATCH.path);
        this.predict = UpstreamRequest.preamble(origin, modelPath + ":" + GeminiEmbeddings.Method.PREDICT.path);
    }

    @Override
    public void send(Exchange exchange, Attempt attempt) {
        Fidelity fidelity = new Fidelity(dropParams, api);
        byte[] preamble;
        ByteBuf body;
        try {
            ObjectNode in = attempt.body().upstreamView();
            ObjectNode request;
            if (attempt.endpoint() == Endpoint.CHAT_COMPLETIONS) {
                request = new GeminiRequest(fidelity).encode(in);
                preamble = attempt.body().stream() ? streamGenerate : generate;
            } else if (attempt.endpoint() == Endpoint.EMBEDDINGS) {
                GeminiEmbeddings.Plan plan = GeminiEmbeddings.plan(in, vertex);
                request = GeminiEmbeddings.encode(in, plan, modelName);
                exchange.set(EMBEDDINGS, plan);
                preamble = switch (plan.method()) {
                    case EMBED -> embed;
                    case BATCH -> batchEmbed;
                    case PREDICT -> predict;
                };
            } else {
                attempt.failed(AttemptFailure.fatal(OpenAiError.badRequest("unsupported_endpoint", "model",
                        "The model `" + deployment.name() + "` is served by " + api + ", which has no " + attempt.endpoint().path + " API here.")));
                return;
            }
            body = JsonBodies.write(exchange.alloc(), request);
        } catch (Fidelity.Refused e) {
            attempt.failed(AttemptFailure.fatal(e.error));
            return;
        }
        fidelity.report(exchange);
        Credentials.send(auth, exchange, attempt, body, "`" + deployment.name() + "` (" + api + ")",
                credentials -> dispatch(exchange, attempt, preamble, body, credentials));
    }

    private void dispatch(Exchange exchange, Attempt attempt, byte[] preamble, ByteBuf body, byte[] credentials) {
        UpstreamRequest request = client.newRequest(exchange, preamble, body);
        if (credentials.length > 0) {
            request.header(credentials);
        }
        client.send(attempt, origin, request);
    }

    @Override
    public ResponseTranslator translator(Exchange exchange) {
        if (exchange.endpoint() == Endpoint.EMBEDDINGS) {
            // made before send(): the request's shape is read when its answer comes
            return new GeminiEmbeddings.Translator(() -> exchange.get(EMBEDDINGS), api);
        }
        return new GeminiTranslator(api);
    }
}
