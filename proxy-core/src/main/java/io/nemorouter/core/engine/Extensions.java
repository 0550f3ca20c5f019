package io.nemorouter.core.engine;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.exchange.CompletionObserver;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.extension.RouteHandler;
import io.nemorouter.core.extension.RoutingStrategy;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import io.prometheus.client.CollectorRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.regex.Pattern;

/**
 * The extensions of one gateway: found through {@link ServiceLoader} (plus any given in code, as
 * tests do), the enabled ones started in order with their own {@link ExtensionContext}, and closed
 * in reverse order at the end. What they register is collected here for the runtime to assemble.
 */
final class Extensions {
    private static final Logger LOG = LoggerFactory.getLogger(Extensions.class);
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*");

    /** Every extension found, by name; the enabled ones start. */
    private final Map<String, Extension> found = new LinkedHashMap<>();
    private final List<Extension> started = new ArrayList<>();

    final List<FilterChain.Entry> beforeRouting = new ArrayList<>();
    final List<FilterChain.Entry> deploymentChosen = new ArrayList<>();
    final List<CompletionObserver> observers = new ArrayList<>();
    final RouteTable routes = new RouteTable();
    RoutingStrategy strategy;
    private String strategyOwner;
    private int sequence;
    /** Services extensions published for those that start after them, by type. */
    private final Map<Class<?>, Object> services = new java.util.HashMap<>();
    private final Map<Class<?>, String> serviceOwners = new java.util.HashMap<>();
    /** Warnings of extensions that declared the gateway open ({@link ExtensionContext#restrictToLoopback}). */
    final List<String> openWarnings = new ArrayList<>();
    /** What {@code GET /health} reports besides the gateway's own state, by name, in start order. */
    final Map<String, io.nemorouter.core.extension.HealthCheck> healthChecks = new LinkedHashMap<>();

    Extensions(ClassLoader loader, List<Extension> given) {
        for (Extension e : ServiceLoader.load(Extension.class, loader)) {
            add(e);
        }
        for (Extension e : given) {
            found.remove(e.name()); // one given in code replaces a found one of the same name
            add(e);
        }
    }

    private void add(Extension e) {
        String name = e.name();
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ConfigError("extension " + e.getClass().getName() + " has a bad name \"" + name
                    + "\" (lower case letters, digits and _)");
        }
        Extension twin = found.putIfAbsent(name, e);
        if (twin != null && twin != e) {
            throw new ConfigError("two extensions are named \"" + name + "\": " + twin.getClass().getName() + " and "
                    + e.getClass().getName());
        }
    }

    /** The names of every extension found, enabled or not: their config blocks are known keys. */
    java.util.Set<String> names() {
        return found.keySet();
    }

    /** Catalog-entry keys the extensions read. */
    java.util.Set<String> catalogKeys() {
        java.util.Set<String> keys = new java.util.TreeSet<>();
        found.values().forEach(e -> keys.addAll(e.catalogKeys()));
        return keys;
    }

    /** Starts the enabled ones in order; if one fails, closes those started and rethrows. */
    void start(GatewayConfig config, ModelCatalog catalog, CollectorRegistry metrics, EventLoopGroup loops,
               java.util.Set<String> only) throws Exception {
        List<Extension> order = new ArrayList<>(found.values());
        order.sort(Comparator.comparingInt(Extension::order).thenComparing(Extension::name));
        for (Extension e : order) {
            if (only != null && !only.contains(e.name())) {
                continue;
            }
            Config block = block(config, e.name());
            try {
                if (block.hasPath("enabled") && !block.getBoolean("enabled")) {
                    LOG.info("extension {} is disabled (nemo.{}.enabled = false)", e.name(), e.name());
                    continue;
                }
                e.start(new Context(e.name(), block, config, catalog, metrics, loops));
            } catch (ConfigException failure) {
                closeAll(); // a value of the wrong type in its block: the one-line form, not a stack trace
                throw GatewayConfig.explain(failure);
            } catch (Exception | Error failure) {
                closeAll();
                throw failure;
            }
            started.add(e);
            LOG.debug("extension {} started", e.name());
        }
    }

    private static Config block(GatewayConfig config, String name) {
        String path = "nemo." + name;
        return config.root.hasPath(path) ? config.root.getConfig(path) : ConfigFactory.empty();
    }

    /** Closes the started extensions in reverse order; one that fails to close does not keep the others open. */
    void closeAll() {
        for (int i = started.size() - 1; i >= 0; i--) {
            Extension e = started.get(i);
            try {
                e.close();
            } catch (Exception | Error failure) {
                LOG.error("extension {} failed to close", e.name(), failure);
            }
        }
        started.clear();
    }

    /** What one extension sees: its block, the shared parts, and the registration calls, which note its name. */
    private final class Context implements ExtensionContext {
        private final String name;
        private final Config block;
        private final GatewayConfig config;
        private final ModelCatalog catalog;
        private final CollectorRegistry metrics;
        private final EventLoopGroup loops;

        Context(String name, Config block, GatewayConfig config, ModelCatalog catalog, CollectorRegistry metrics,
                EventLoopGroup loops) {
            this.name = name;
            this.block = block;
            this.config = config;
            this.catalog = catalog;
            this.metrics = metrics;
            this.loops = loops;
        }

        @Override
        public Config config() {
            return block;
        }

        @Override
        public ConfigError configError(String key, String problem) {
            String path = "nemo." + name + "." + key;
            return ConfigError.at(config.root.hasPath(path) ? config.root.getValue(path).origin() : null, path, problem);
        }

        @Override
        public GatewayConfig gatewayConfig() {
            return config;
        }

        @Override
        public ModelCatalog catalog() {
            return catalog;
        }

        @Override
        public Path dataDir() {
            Path dir = Path.of(config.dataDir);
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new ConfigError("nemo.data_dir: cannot create " + dir.toAbsolutePath() + ": " + e.getMessage());
            }
            return dir;
        }

        @Override
        public CollectorRegistry metrics() {
            return metrics;
        }

        @Override
        public EventLoopGroup eventLoops() {
            return loops;
        }

        @Override
        public void restrictToLoopback(String warning) {
            openWarnings.add(name + ": " + warning);
        }

        @Override
        public void filter(Phase phase, int order, RequestFilter filter) {
            FilterChain.Entry entry = new FilterChain.Entry(name, order, sequence++, filter);
            (phase == Phase.BEFORE_ROUTING ? beforeRouting : deploymentChosen).add(entry);
        }

        @Override
        public void observer(CompletionObserver observer) {
            observers.add(observer);
        }

        @Override
        public void route(HttpMethod method, String path, RouteAuth auth, RouteHandler handler) {
            routes.add(name, method, path, auth, handler);
        }

        @Override
        public void healthCheck(String check, io.nemorouter.core.extension.HealthCheck hc) {
            if (healthChecks.putIfAbsent(check, hc) != null) {
                throw new ConfigError("two extensions report the health check " + check);
            }
        }

        @Override
        public <T> void publish(Class<T> type, T service) {
            String owner = serviceOwners.putIfAbsent(type, name);
            if (owner != null) {
                throw new ConfigError("extensions " + owner + " and " + name + " both publish a " + type.getName());
            }
            services.put(type, type.cast(service));
        }

        @Override
        public <T> T service(Class<T> type) {
            return type.cast(services.get(type));
        }

        @Override
        public void routingStrategy(RoutingStrategy s) {
            if (strategy != null) {
                throw new ConfigError("extensions " + strategyOwner + " and " + name + " both set the routing strategy;"
                        + " disable one (nemo." + strategyOwner + ".enabled = false)");
            }
            strategy = s;
            strategyOwner = name;
        }
    }
}
