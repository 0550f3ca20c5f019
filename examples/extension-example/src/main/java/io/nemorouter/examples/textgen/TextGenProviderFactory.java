package io.nemorouter.examples.textgen;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;

import java.util.Set;

/**
 * {@code provider = textgen}: the example provider, for a made-up text-generation API that is not
 * OpenAI's ({@code POST <api_base>/generate}, see {@link TextGenProvider}). It shows the translation
 * seam a native provider (Anthropic's, Gemini's) uses: the OpenAI request encoded in another shape,
 * the answer translated back, whole or event by event.
 */
public final class TextGenProviderFactory implements ProviderFactory {
    @Override
    public String name() {
        return "textgen";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("api_base", "api_key");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        if (d.apiBase() == null) {
            throw ConfigError.at(d.settings().origin(), d.path() + ".api_base", "is required for provider textgen");
        }
        return new TextGenProvider(d, context.upstream());
    }
}
