package io.nemorouter.providers.gemini;

import io.nemorouter.providers.translate.Credentials;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;
import io.nemorouter.core.upstream.Origin;
import io.nemorouter.core.upstream.UpstreamRequest;

import java.util.Set;

/**
 * {@code provider = gemini}: the Gemini API with an API key. {@code api_key} (sent as
 * {@code x-goog-api-key}), {@code api_base} (default {@code https://generativelanguage.googleapis.com}),
 * {@code drop_params} (default true: a member Gemini cannot honour is left out and named in
 * {@code x-nemo-dropped-params}; false: such a request is refused with a 400). {@code model} is the
 * Gemini model ({@code gemini-2.5-flash}, or a full name such as {@code tunedModels/my-model}).
 */
public final class GeminiProviderFactory implements ProviderFactory {
    static final String DEFAULT_API_BASE = "https://generativelanguage.googleapis.com";

    @Override
    public String name() {
        return "gemini";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("api_base", "api_key", "drop_params");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        var s = d.settings();
        boolean drop = !s.hasPath("drop_params") || s.getBoolean("drop_params");
        Origin origin = Origin.parse(d.apiBase() == null ? DEFAULT_API_BASE : d.apiBase());
        String model = d.model().contains("/") ? d.model() : "models/" + d.model();
        byte[] key;
        try {
            key = d.apiKey() == null ? new byte[0] : UpstreamRequest.headerLine("x-goog-api-key", d.apiKey());
        } catch (IllegalArgumentException e) {
            throw ConfigError.at(s.origin(), "model \"" + d.name() + "\"", "its api_key contains a control or non-Latin-1 character");
        }
        return new GeminiProvider(d, "Gemini", false, origin, "/v1beta/", model, context.upstream(), drop, Credentials.constant(key));
    }
}
