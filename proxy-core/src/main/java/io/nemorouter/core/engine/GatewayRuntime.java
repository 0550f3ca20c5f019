package io.nemorouter.core.engine;

import io.nemorouter.core.config.ConfigCheck;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.exchange.CompletionObserver;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.metrics.GatewayMetrics;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.provider.EndpointBridge;
import io.nemorouter.core.provider.ProviderFactory;
import io.nemorouter.core.upstream.UpstreamClient;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/**
 * Everything a running gateway shares across connections: config, catalog, providers, the
 * extensions and what they registered (filter chains, routing strategy, routes, observers), the
 * dispatcher and metrics. Built and started once, before the port opens; immutable after.
 */
public final class GatewayRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayRuntime.class);

    public final GatewayConfig config;
    public final ModelCatalog catalog;
    public final GatewayMetrics metrics;
    private final Map<Deployment, Provider> providers = new IdentityHashMap<>();
    private final Extensions extensions;
    private final Dispatcher dispatcher;
    private final ModelsEndpoint models;
    final FilterChain beforeRouting;
    final FilterChain deploymentChosen;
    private final RouteTable routes;
    private final CompletionObserver[] observers;

    /** The extensions' health checks, by name, for {@code GET /health}. */
    public java.util.Map<String, io.nemorouter.core.extension.HealthCheck> healthChecks() {
        return java.util.Collections.unmodifiableMap(extensions.healthChecks);
    }

    /** Warnings of extensions that found the gateway open to anyone; non-empty: listen on loopback unless the user set a host. */
    public List<String> openWarnings() {
        return List.copyOf(extensions.openWarnings);
    }

    private GatewayRuntime(GatewayConfig config, ModelCatalog catalog, GatewayMetrics metrics, Extensions extensions) {
        this.config = config;
        this.catalog = catalog;
        this.metrics = metrics;
        this.extensions = extensions;
        this.models = new ModelsEndpoint(catalog);
        this.routes = extensions.routes;
        this.observers = extensions.observers.toArray(CompletionObserver[]::new);
        if (extensions.strategy == null) {
            throw new ConfigError("no extension sets the routing strategy: enable the route extension"
                    + " (nemo.route.enabled = true) or add one that routes");
        }
        this.dispatcher = new Dispatcher(this, extensions.strategy);
        long timeout = config.filterTimeout.toNanos();
        this.beforeRouting = new FilterChain(Phase.BEFORE_ROUTING, extensions.beforeRouting, this::afterFilters, timeout);
        this.deploymentChosen = new FilterChain(Phase.DEPLOYMENT_CHOSEN, extensions.deploymentChosen, dispatcher::send, timeout);
    }

    /**
     * Checks the config against what the class path offers, builds the providers, starts the
     * extensions and assembles what they registered.
     *
     * @param givenExtensions extensions given in code (tests, embedders), besides those found through ServiceLoader
     * @param givenProviders  provider factories given in code, besides those found through ServiceLoader
     * @param onlyExtensions  when not null, the only extensions that may start (a private gateway's)
     * @throws ConfigError for a config the gateway cannot run with (the one line to print)
     */
    public static GatewayRuntime start(GatewayConfig config, EventLoopGroup loops, UpstreamClient upstream,
                                       List<Extension> givenExtensions, List<ProviderFactory> givenProviders,
                                       Set<String> onlyExtensions) throws Exception {
        ClassLoader loader = GatewayRuntime.class.getClassLoader();
        Map<String, ProviderFactory> factories = new TreeMap<>();
        for (ProviderFactory f : ServiceLoader.load(ProviderFactory.class, loader)) {
            factories.put(f.name(), f);
        }
        givenProviders.forEach(f -> factories.put(f.name(), f));
        Extensions extensions = new Extensions(loader, givenExtensions);

        ConfigCheck.unknownKeys(config, extensions.names());
        for (Deployment d : config.deployments) {
            if (!factories.containsKey(d.provider())) {
                throw ConfigError.at(d.settings().getValue("provider").origin(), d.path() + ".provider",
                        "unknown provider \"" + d.provider() + "\" (known: " + String.join(", ", factories.keySet()) + ")");
            }
        }
        ConfigCheck.catalogKeys(config.deployments, p -> factories.get(p).catalogKeys(), extensions.catalogKeys());

        GatewayMetrics metrics = new GatewayMetrics();
        ModelCatalog catalog = new ModelCatalog(config.deployments);
        ProviderContext providerContext = new ProviderContext() {
            @Override
            public UpstreamClient upstream() {
                return upstream;
            }

            @Override
            public GatewayConfig gatewayConfig() {
                return config;
            }
        };
        Map<Deployment, Provider> built = new IdentityHashMap<>();
        for (Deployment d : config.deployments) {
            try {
                built.put(d, factories.get(d.provider()).create(d, providerContext));
            } catch (com.typesafe.config.ConfigException e) {
                throw GatewayConfig.explain(e); // a provider key of the wrong type: the one-line form
            }
        }
        extensions.start(config, catalog, metrics.registry(), loops, onlyExtensions);
        try {
            GatewayRuntime runtime = new GatewayRuntime(config, catalog, metrics, extensions);
            runtime.providers.putAll(built);
            ServiceLoader.load(EndpointBridge.class, loader).forEach(runtime.bridges::add);
            return runtime;
        } catch (RuntimeException | Error e) {
            extensions.closeAll();
            throw e;
        }
    }

    Provider provider(Deployment d) {
        return providers.get(d);
    }

    /** The endpoint bridges found on the class path. */
    private final List<EndpointBridge> bridges = new java.util.ArrayList<>();

    /** A bridge from {@code endpoint} to one {@code provider} speaks, or null when there is none. */
    EndpointBridge bridge(Endpoint endpoint, Provider provider) {
        for (EndpointBridge b : bridges) {
            if (b.from() == endpoint && provider.speaks(b.to())) {
                return b;
            }
        }
        return null;
    }

    // ---- what connections call -----------------------------------------------------------------

    /** A request on the OpenAI endpoints, read and checked: through the filters, then to routing or the model list. */
    public void handle(ServerExchange ex) {
        beforeRouting.run(ex, 0);
    }

    private void afterFilters(ServerExchange ex) {
        if (ex.endpoint().proxied) {
            dispatcher.route(ex);
        } else {
            models.answer(ex);
        }
    }

    /** The extension route for {@code method} on {@code path}, or the methods it takes there, or none. */
    public RouteTable.Match route(HttpMethod method, String path) {
        return routes.match(method, path);
    }

    /** Serves an extension route: its auth check, then its handler. */
    public void serve(ServerExchange ex, RouteTable.Route route) {
        try {
            OpenAiError refused = route.auth().check(ex);
            if (refused != null) {
                ex.respond(refused);
                return;
            }
            route.handler().handle(ex);
        } catch (InvalidBodyException e) {
            ex.respond(e.error());
        } catch (RuntimeException e) {
            LOG.error("route {} {} of {} failed on request {}", route.method(), ex.path(), route.extension(), ex.requestId(), e);
            ex.respond(OpenAiError.internal("The gateway failed to process the request (" + ex.requestId() + ")."));
        }
    }

    /** An exchange finished: metrics first, then every observer. */
    void completed(ServerExchange ex) {
        metrics.onComplete(ex);
        for (CompletionObserver o : observers) {
            try {
                o.onComplete(ex);
            } catch (RuntimeException e) {
                LOG.warn("observer {} failed on request {}", o.getClass().getName(), ex.requestId(), e);
            }
        }
    }

    /** Closes the extensions, in reverse start order; after the drain. */
    public void close() {
        extensions.closeAll();
    }

    /** The names of the extensions found, for start-up logs. */
    public Set<String> extensionNames() {
        return extensions.names();
    }
}
