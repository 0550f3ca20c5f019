package io.nemorouter.core.extension;

import java.util.Set;

/**
 * A feature of the gateway (keys, limits, the cache, routing, the request log, a dashboard, an
 * exporter), written against the public API only. Extensions are found through
 * {@link java.util.ServiceLoader} (list the class in
 * {@code META-INF/services/io.nemorouter.core.extension.Extension}), so a jar on the class path adds
 * one. Each is on unless its config block says {@code nemo.<name>.enabled = false}.
 *
 * <p>Lifecycle: at start-up, after the config is read and checked and before the port opens, the
 * enabled extensions are started in ascending {@link #order()} (then by name), each with its own
 * {@link ExtensionContext}; there they open what they need (a store, a writer thread) and register
 * what they contribute. On shutdown, after in-flight requests have drained, they are closed in the
 * reverse order. If one fails to start, those already started are closed and the gateway exits.
 */
public interface Extension {
    /** Its name: the config block {@code nemo.<name>} and what logs call it. Lower case, {@code [a-z0-9_]}. */
    String name();

    /** Start order, lower first (e.g. a key store before the filters that read it); ties go by name. */
    default int order() {
        return 500;
    }

    /**
     * Keys this extension reads from catalog entries ({@code weight}, {@code rpm}), which the gateway
     * then accepts in {@code nemo.models} instead of reporting them as unknown.
     */
    default Set<String> catalogKeys() {
        return Set.of();
    }

    /**
     * Opens what the extension needs and registers its contributions. Throw
     * {@link ExtensionContext#configError} for a config value it cannot use: start-up stops with that
     * one line.
     */
    void start(ExtensionContext context) throws Exception;

    /** Closes what {@link #start} opened; called once, after the drain. */
    default void close() throws Exception {
    }
}
