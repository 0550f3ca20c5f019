package io.nemorouter.core.extension;

import com.typesafe.config.Config;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.exchange.CompletionObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import io.prometheus.client.CollectorRegistry;

import java.nio.file.Path;

/** What an {@link Extension} gets at start: its config, the gateway's shared parts, and where to register. */
public interface ExtensionContext {
    /** The extension's block, {@code nemo.<name>}, over the defaults in its {@code reference.conf}; empty when it has none. */
    Config config();

    /**
     * A start-up error for {@code key} (relative to the extension's block), in the gateway's
     * one-line form: {@code file:line: nemo.<name>.<key>: problem}.
     */
    ConfigError configError(String key, String problem);

    GatewayConfig gatewayConfig();

    ModelCatalog catalog();

    /** {@code nemo.data_dir}: where stores keep their files (created if missing). */
    Path dataDir();

    /** The registry {@code /metrics} exports: register collectors here. */
    CollectorRegistry metrics();

    /** The event loops exchanges run on: for timers, or to hand results back to an exchange's loop. */
    EventLoopGroup eventLoops();

    /**
     * Runs {@code filter} on every request in {@code phase}; filters of a phase run by ascending
     * {@code order} (ties in start order). Requests on the OpenAI endpoints ({@code /v1/chat/completions},
     * {@code /v1/embeddings}, {@code /v1/models}) pass through filters; health, metrics and extension
     * routes do not.
     */
    void filter(Phase phase, int order, RequestFilter filter);

    /** Tells {@code observer} about every finished exchange. */
    void observer(CompletionObserver observer);

    /**
     * Serves {@code method} on {@code path} on the gateway's port: an exact path, or a prefix ending
     * in {@code /*} ({@code /key/*}). {@code auth} runs first and may refuse; then {@code handler}
     * answers. {@code GET} routes answer {@code HEAD} too. A path the gateway or another extension
     * serves already is a start-up error.
     */
    void route(HttpMethod method, String path, RouteAuth auth, RouteHandler handler);

    /**
     * Says the gateway is open to anyone who reaches its port (no credentials are asked): it then
     * listens on 127.0.0.1 unless {@code nemo.server.host} is set in the user's config, and logs
     * {@code warning} at start either way.
     */
    void restrictToLoopback(String warning);

    /**
     * Offers {@code service} to the extensions that start after this one (a higher {@link Extension#order()}):
     * the keys extension publishes who may read spend, the request log reads it. One publisher per type.
     */
    <T> void publish(Class<T> type, T service);

    /** The service of {@code type} an extension started earlier published, or null when none did (it is off, say). */
    <T> T service(Class<T> type);

    /**
     * Reports {@code check} under {@code name} in {@code GET /health}: the gateway answers 200 while
     * every check is up or degraded ({@code "status": "degraded"} then) and 503 when one is down.
     */
    void healthCheck(String name, HealthCheck check);

    /** Makes {@code strategy} the one that orders deployments for every request; only one extension may. */
    void routingStrategy(RoutingStrategy strategy);
}
