package io.nemorouter.core.provider;

import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.upstream.UpstreamClient;

/** What a {@link ProviderFactory} gets to build providers with. */
public interface ProviderContext {
    /** The HTTP client with the per-event-loop keep-alive pools, timeouts and TLS. */
    UpstreamClient upstream();

    GatewayConfig gatewayConfig();
}
