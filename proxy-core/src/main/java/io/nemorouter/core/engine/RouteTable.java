package io.nemorouter.core.engine;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.extension.RouteHandler;
import io.nemorouter.core.openai.Endpoint;
import io.netty.handler.codec.http.HttpMethod;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The routes extensions serve on the gateway's port: exact paths and {@code /prefix/*} paths, each
 * with a method, an auth check and a handler. Looked up only for paths the gateway itself does not
 * serve. Immutable once the gateway runs.
 */
public final class RouteTable {
    /** One route. {@code prefix} is true for a path registered as {@code /x/*}, whose {@code path} is then {@code /x/}. */
    public record Route(String extension, HttpMethod method, String path, boolean prefix, RouteAuth auth, RouteHandler handler) {
        boolean matches(String p) {
            return prefix ? p.startsWith(path) || p.equals(path.substring(0, path.length() - 1)) : p.equals(path);
        }
    }

    /** The outcome of a lookup: the route, or the methods the path is served with (for a 405), or nothing. */
    public record Match(Route route, Set<String> allowed) {
        static final Match NONE = new Match(null, Set.of());
    }

    private final List<Route> routes = new ArrayList<>();

    void add(String extension, HttpMethod method, String path, RouteAuth auth, RouteHandler handler) {
        if (path == null || !path.startsWith("/") || path.contains("?") || path.contains("*") && !path.endsWith("/*")) {
            throw new ConfigError("extension " + extension + " registers a bad route path \"" + path
                    + "\" (an absolute path, or a prefix ending in /*)");
        }
        boolean prefix = path.endsWith("/*");
        String p = prefix ? path.substring(0, path.length() - 1) : path;
        Endpoint builtIn = Endpoint.ofPath(prefix ? p.substring(0, p.length() - 1) : p);
        if (builtIn != Endpoint.UNKNOWN || p.startsWith("/v1/")) {
            throw new ConfigError("extension " + extension + " registers " + method + " " + path
                    + ", which the gateway serves itself (the OpenAI API under /v1, /health, /metrics)");
        }
        for (Route r : routes) {
            if (r.method.equals(method) && (r.path.equals(p) || r.prefix && p.startsWith(r.path) || prefix && r.path.startsWith(p))) {
                throw new ConfigError("extensions " + r.extension + " and " + extension + " both serve " + method + " "
                        + (r.prefix ? r.path + "*" : r.path) + (r.path.equals(p) ? "" : " / " + path));
            }
        }
        routes.add(new Route(extension, method, p, prefix, auth, handler));
    }

    /** The route for {@code method} on {@code path}; a {@code GET} route serves {@code HEAD} too. Exact paths win over prefixes. */
    Match match(HttpMethod method, String path) {
        if (routes.isEmpty()) {
            return Match.NONE;
        }
        HttpMethod m = HttpMethod.HEAD.equals(method) ? HttpMethod.GET : method;
        Route best = null;
        Set<String> allowed = null;
        for (Route r : routes) {
            if (!r.matches(path)) {
                continue;
            }
            if (r.method.equals(m) || r.method.equals(method)) {
                if (best == null || best.prefix && (!r.prefix || r.path.length() > best.path.length())) {
                    best = r;
                }
            } else {
                if (allowed == null) {
                    allowed = new TreeSet<>();
                }
                allowed.add(r.method.name());
            }
        }
        if (best != null) {
            return new Match(best, Set.of());
        }
        return allowed == null ? Match.NONE : new Match(null, allowed);
    }
}
