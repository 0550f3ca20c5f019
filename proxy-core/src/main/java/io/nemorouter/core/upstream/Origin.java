package io.nemorouter.core.upstream;

import java.net.URI;

/**
 * Where upstream connections go: scheme, host and port. Connections are pooled per origin
 * (equality ignores the path); {@code basePath} is the path prefix of the configured
 * {@code api_base} (e.g. {@code /v1}).
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

    /** Equal origins share pooled connections: the path is not part of it. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Origin other && tls == other.tls && port == other.port && host.equals(other.host);
    }

    @Override
    public int hashCode() {
        return host.hashCode() * 31 + port + (tls ? 1 : 0);
    }
}
