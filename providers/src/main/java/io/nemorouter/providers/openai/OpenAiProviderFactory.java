package io.nemorouter.providers.openai;

import io.nemorouter.core.GatewayContext;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderFactory;

/** {@code provider = openai}: needs {@code api_base}; {@code api_key} is optional (vLLM, Ollama). */
public final class OpenAiProviderFactory implements ProviderFactory {
    @Override
    public String name() {
        return "openai";
    }

    @Override
    public Provider create(Deployment d, GatewayContext context) {
        if (d.apiBase() == null) {
            throw ConfigError.at(d.settings().origin(), "api_base of model \"" + d.name() + "\"",
                    "is required for provider openai (e.g. \"https://api.openai.com/v1\")");
        }
        return new OpenAiProvider(d, context.upstream);
    }
}
