package io.nemorouter.core.openai;

import io.netty.handler.codec.http.HttpMethod;

/** The gateway's own routes. {@code label} is the value of the {@code route} metric label. */
public enum Endpoint {
    CHAT_COMPLETIONS("/v1/chat/completions", HttpMethod.POST, "chat_completions", true),
    EMBEDDINGS("/v1/embeddings", HttpMethod.POST, "embeddings", true),
    /** OpenAI's Responses API: passed to deployments that speak it, bridged to chat completions for the others. */
    RESPONSES("/v1/responses", HttpMethod.POST, "responses", true),
    /** The legacy text completions: passed to deployments that speak it. */
    COMPLETIONS("/v1/completions", HttpMethod.POST, "completions", true),
    MODELS("/v1/models", HttpMethod.GET, "models", false),
    /** {@code GET /v1/models/{id}}: one model (the SDKs' {@code models.retrieve}). */
    MODEL("/v1/models/", HttpMethod.GET, "models", false),
    HEALTH("/health", HttpMethod.GET, "health", false),
    METRICS("/metrics", HttpMethod.GET, "metrics", false),
    /** A route an extension serves (an admin API, a UI). */
    EXTENSION("", null, "extension", false),
    /** Any path nobody serves; answered 404. */
    UNKNOWN("", null, "unknown", false);

    private static final Endpoint[] ROUTES = {CHAT_COMPLETIONS, EMBEDDINGS, RESPONSES, COMPLETIONS, MODELS, HEALTH, METRICS};

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

    /** Whether {@code m} is this route's method; a {@code GET} route answers {@code HEAD} too. */
    public boolean allows(HttpMethod m) {
        return method.equals(m) || (HttpMethod.GET.equals(method) && HttpMethod.HEAD.equals(m));
    }

    /**
     * Matches the path only (no allocation): the query string and a trailing slash are ignored.
     * {@link #UNKNOWN} when the gateway itself does not serve it (an extension may).
     */
    public static Endpoint ofPath(String uri) {
        int end = pathEnd(uri);
        for (Endpoint e : ROUTES) {
            if (e.path.length() == end && uri.regionMatches(0, e.path, 0, end)) {
                return e;
            }
        }
        if (end > MODEL.path.length() && uri.startsWith(MODEL.path)) {
            return MODEL;
        }
        return UNKNOWN;
    }

    /** The model id of a {@link #MODEL} path, URL-decoded ({@code /v1/models/ft%3Agpt} is {@code ft:gpt}). */
    public static String modelId(String uri) {
        String raw = uri.substring(MODEL.path.length(), Math.max(MODEL.path.length(), pathEnd(uri)));
        try {
            return java.net.URLDecoder.decode(raw.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return raw;
        }
    }

    /** Where the path ends: before the query string and a trailing slash. */
    private static int pathEnd(String uri) {
        int end = uri.indexOf('?');
        if (end < 0) {
            end = uri.length();
        }
        if (end > 1 && uri.charAt(end - 1) == '/') {
            end--;
        }
        return end;
    }
}
