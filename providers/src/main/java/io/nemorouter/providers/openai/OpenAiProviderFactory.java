package io.nemorouter.providers.openai;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;

import java.util.Set;

/**
 * {@code provider = openai}: needs {@code api_base}; {@code api_key} is optional (vLLM, Ollama).
 * {@code stream_usage = false} stops the gateway asking a stream for its usage event, for a server
 * that rejects {@code stream_options}; such streams then have no usage or cost.
 */
public final class OpenAiProviderFactory implements ProviderFactory {
    @Override
    public String name() {
        return "openai";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("api_base", "api_key", "stream_usage");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        if (d.apiBase() == null) {
            throw ConfigError.at(d.settings().origin(), "api_base of model \"" + d.name() + "\"",
                    "is required for provider openai (e.g. \"https://api.openai.com/v1\")");
        }
        boolean streamUsage = !d.settings().hasPath("stream_usage") || d.settings().getBoolean("stream_usage");
        return new OpenAiProvider(d, context.upstream(), streamUsage);
    }
}
