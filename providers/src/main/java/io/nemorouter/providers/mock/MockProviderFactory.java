package io.nemorouter.providers.mock;

import io.nemorouter.core.GatewayContext;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderFactory;

/** {@code provider = mock}: the built-in fake LLM; needs no key and no network. */
public final class MockProviderFactory implements ProviderFactory {
    @Override
    public String name() {
        return "mock";
    }

    @Override
    public Provider create(Deployment d, GatewayContext context) {
        return new MockProvider(new MockLlm(MockSettings.from(d.settings(), "model \"" + d.name() + "\"")), d.model());
    }
}
