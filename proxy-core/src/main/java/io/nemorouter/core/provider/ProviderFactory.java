package io.nemorouter.core.provider;

import io.nemorouter.core.GatewayContext;
import io.nemorouter.core.config.Deployment;

/**
 * Makes the {@link Provider} for a catalog entry whose {@code provider} equals {@link #name()};
 * found through {@link java.util.ServiceLoader}. Throws {@link io.nemorouter.core.config.ConfigError}
 * for an entry it cannot serve, so a bad catalog fails at start.
 */
public interface ProviderFactory {
    String name();

    Provider create(Deployment deployment, GatewayContext context);
}
