package io.nemorouter.core;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.filter.FilterFactory;
import io.nemorouter.core.metrics.GatewayMetrics;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderFactory;
import io.nemorouter.core.upstream.UpstreamClient;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Everything built once at start-up and shared by all event loops: config, catalog, providers,
 * the upstream client, metrics and the filter factories. Immutable after {@link #start}.
 */
public final class GatewayContext {
    public final GatewayConfig config;
    public final ModelCatalog catalog;
    public final GatewayMetrics metrics = new GatewayMetrics();
    public final Transport transport;
    public final UpstreamClient upstream;
    private final Map<Deployment, Provider> providers = new IdentityHashMap<>();
    private final List<FilterFactory> pipeline = new ArrayList<>();

    public GatewayContext(GatewayConfig config) {
        this.config = config;
        this.catalog = new ModelCatalog(config.deployments);
        this.transport = Transport.select(config.transport);
        this.upstream = new UpstreamClient(config, transport);
        Map<String, ProviderFactory> providerFactories = load(ProviderFactory.class, ProviderFactory::name);
        for (Deployment d : config.deployments) {
            ProviderFactory f = providerFactories.get(d.provider());
            if (f == null) {
                throw ConfigError.at(d.settings().getValue("provider").origin(), "provider of model \"" + d.name() + "\"",
                        "unknown provider \"" + d.provider() + "\" (known: " + String.join(", ", providerFactories.keySet()) + ")");
            }
            providers.put(d, f.create(d, this));
        }
        Map<String, FilterFactory> filterFactories = load(FilterFactory.class, FilterFactory::name);
        for (String name : config.pipeline) {
            FilterFactory f = filterFactories.get(name);
            if (f == null) {
                throw ConfigError.at(config.root.getValue("nemo.pipeline").origin(), "nemo.pipeline",
                        "unknown filter \"" + name + "\" (known: " + String.join(", ", filterFactories.keySet()) + ")");
            }
            pipeline.add(f);
        }
        if (pipeline.isEmpty() || !"route".equals(pipeline.get(pipeline.size() - 1).name())) {
            throw ConfigError.at(config.root.getValue("nemo.pipeline").origin(), "nemo.pipeline",
                    "must end with \"route\", which picks the deployment, got " + config.pipeline);
        }
    }

    public Provider provider(Deployment d) {
        return providers.get(d);
    }

    public List<FilterFactory> pipeline() {
        return pipeline;
    }

    private static <T> Map<String, T> load(Class<T> type, java.util.function.Function<T, String> name) {
        Map<String, T> byName = new TreeMap<>();
        for (T t : ServiceLoader.load(type, GatewayContext.class.getClassLoader())) {
            byName.put(name.apply(t), t);
        }
        return byName;
    }
}
