package io.nemorouter.core.provider;

import io.nemorouter.core.config.Deployment;

import java.util.Set;

/**
 * Makes the {@link Provider} of each catalog entry whose {@code provider} equals {@link #name()};
 * found through {@link java.util.ServiceLoader}
 * ({@code META-INF/services/io.nemorouter.core.provider.ProviderFactory}). Throws
 * {@link io.nemorouter.core.config.ConfigError} for an entry it cannot serve, so a bad catalog
 * fails at start.
 */
public interface ProviderFactory {
    String name();

    /**
     * Catalog-entry keys this provider reads besides the common ones ({@code name}, {@code provider},
     * {@code model}, {@code id}, {@code tags}, {@code optional}, the prices): e.g. {@code api_base}
     * and {@code api_key}. Any other key in an entry of this provider stops start-up as unknown.
     */
    default Set<String> catalogKeys() {
        return Set.of();
    }

    Provider create(Deployment deployment, ProviderContext context);
}
