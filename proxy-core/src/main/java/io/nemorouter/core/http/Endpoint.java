package io.nemorouter.core.http;

import io.netty.handler.codec.http.HttpMethod;

/** The gateway's public routes. {@code label} is the value of the {@code route} metric label. */
public enum Endpoint {
    CHAT_COMPLETIONS("/v1/chat/completions", HttpMethod.POST, "chat_completions", true),
    EMBEDDINGS("/v1/embeddings", HttpMethod.POST, "embeddings", true),
    MODELS("/v1/models", HttpMethod.GET, "models", false),
    HEALTH("/health", HttpMethod.GET, "health", false),
    METRICS("/metrics", HttpMethod.GET, "metrics", false),
    /** Any path we do not serve; answered 404 or 405 by the decoder. */
    UNKNOWN("", null, "unknown", false);

    private static final Endpoint[] ROUTES = values();

    public final String path;
    public final HttpMethod method;
    public final String label;
    /** Whether the request carries a JSON body naming a model, i.e. is proxied to a provider. */
    public final boolean proxied;

    Endpoint(String path, HttpMethod method, String label, boolean proxied) {
        this.path = path;
        this.method = method;
        this.label = label;
        this.proxied = proxied;
    }

    /** Matches the path only (no allocation): the query string and a trailing slash are ignored. */
    public static Endpoint ofPath(String uri) {
        int end = uri.indexOf('?');
        if (end < 0) {
            end = uri.length();
        }
        if (end > 1 && uri.charAt(end - 1) == '/') {
            end--;
        }
        for (Endpoint e : ROUTES) {
            if (e != UNKNOWN && e.path.length() == end && uri.regionMatches(0, e.path, 0, end)) {
                return e;
            }
        }
        return UNKNOWN;
    }
}
