package io.nemorouter.core.upstream;

import java.net.URI;

/**
 * Where upstream connections go: scheme, host and port. Connections are pooled per origin;
 * {@code basePath} is the path prefix of the configured {@code api_base} (e.g. {@code /v1}).
 */
public record Origin(boolean tls, String host, int port, String basePath) {

    public static Origin parse(String apiBase) {
        URI uri = URI.create(apiBase);
        boolean tls = "https".equalsIgnoreCase(uri.getScheme());
        int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        if (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new Origin(tls, host, port, path);
    }

    /** The Host header: the port only when it is not the scheme's default. */
    public String hostHeader() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return port == (tls ? 443 : 80) ? h : h + ":" + port;
    }

    /** Pool key: two api_bases on the same server share connections whatever their paths. */
    public Origin key() {
        return basePath.isEmpty() ? this : new Origin(tls, host, port, "");
    }
}
