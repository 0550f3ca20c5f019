package io.nemorouter.providers.openai;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;

import io.nemorouter.providers.gemini.VertexCredentials;
import io.nemorouter.providers.translate.Credentials;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code provider = openai}: needs {@code api_base}; {@code api_key} is optional (vLLM, Ollama).
 * {@code stream_usage = false} stops the gateway asking a stream for its usage event, for a server
 * that rejects {@code stream_options}; such streams then have no usage or cost. {@code auth = vertex}
 * with {@code credentials} (a service-account key file) signs requests with Vertex AI's minted
 * access tokens, for Vertex's OpenAI-compatible endpoint.
 */
public final class OpenAiProviderFactory implements ProviderFactory {
    /** Vertex tokens per key file: entries signed by one service account share its tokens. */
    private final Map<Path, Credentials> accounts = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "openai";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("api_base", "api_key", "stream_usage", "auth", "credentials");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        if (d.apiBase() == null) {
            throw ConfigError.at(d.settings().origin(), "api_base of model \"" + d.name() + "\"",
                    "is required for provider openai (e.g. \"https://api.openai.com/v1\")");
        }
        var s = d.settings();
        boolean streamUsage = !s.hasPath("stream_usage") || s.getBoolean("stream_usage");
        String auth = s.hasPath("auth") ? s.getString("auth") : "api_key";
        switch (auth) {
            case "api_key" -> {
                if (s.hasPath("credentials")) {
                    throw ConfigError.at(s.getValue("credentials").origin(), "credentials of model \"" + d.name() + "\"",
                            "is read only with auth = vertex");
                }
                return new OpenAiProvider(d, context.upstream(), streamUsage);
            }
            case "vertex" -> {
                if (!s.hasPath("credentials") || d.apiKey() != null) {
                    throw ConfigError.at(s.origin(), "model \"" + d.name() + "\"",
                            "auth = vertex needs credentials (a service-account key file) and no api_key");
                }
                Path file = Path.of(s.getString("credentials")).toAbsolutePath().normalize();
                Credentials tokens;
                try {
                    tokens = accounts.computeIfAbsent(file, f -> VertexCredentials.serviceAccount(f, Clock.systemUTC()));
                } catch (IllegalArgumentException e) {
                    throw ConfigError.at(s.getValue("credentials").origin(), "model \"" + d.name() + "\".credentials", e.getMessage());
                }
                return new OpenAiProvider(d, context.upstream(), streamUsage).mintedCredentials(tokens);
            }
            default -> throw ConfigError.at(s.getValue("auth").origin(), "auth of model \"" + d.name() + "\"",
                    "must be api_key (the default) or vertex, not " + auth);
        }
    }
}
