package io.nemorouter.providers.anthropic;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;

import java.util.Set;

/**
 * {@code provider = anthropic}: {@code api_key} (Anthropic's {@code x-api-key}), {@code api_base}
 * (default {@code https://api.anthropic.com}), {@code anthropic_version} (default
 * {@code 2023-06-01}), {@code anthropic_beta} (optional), {@code drop_params} (default true: a
 * member Anthropic cannot honour is left out and named in {@code x-nemo-dropped-params}; false:
 * such a request is refused with a 400).
 */
public final class AnthropicProviderFactory implements ProviderFactory {
    @Override
    public String name() {
        return "anthropic";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("api_base", "api_key", "anthropic_version", "anthropic_beta", "drop_params");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        var s = d.settings();
        boolean drop = !s.hasPath("drop_params") || s.getBoolean("drop_params");
        String version = s.hasPath("anthropic_version") ? s.getString("anthropic_version") : "2023-06-01";
        String beta = s.hasPath("anthropic_beta") ? s.getString("anthropic_beta") : null;
        try {
            return new AnthropicProvider(d, context.upstream(), drop, version, beta);
        } catch (IllegalArgumentException e) {
            throw ConfigError.at(s.origin(), "model \"" + d.name() + "\"",
                    "its api_key, anthropic_version or anthropic_beta contains a control or non-Latin-1 character");
        }
    }
}
