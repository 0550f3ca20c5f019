package io.nemorouter.providers.mock;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;

import java.util.Set;

/** {@code provider = mock}: the built-in fake LLM; needs no key and no network. Its entries take a {@code mock { ... }} block. */
public final class MockProviderFactory implements ProviderFactory {
    @Override
    public String name() {
        return "mock";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("mock");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        return new MockProvider(new MockLlm(MockSettings.from(d.settings(), "model \"" + d.name() + "\"")), d.model());
    }
}
