package io.nemorouter.filters.export;

import java.net.URI;

/**
 * Where a bucket's objects are: virtual-hosted style ({@code https://<bucket>.s3.<region>.amazonaws.com/<key>},
 * what AWS wants) or path style ({@code <endpoint>/<bucket>/<key>}, what MinIO and most S3-compatible
 * stores want, and the only way to a bucket whose name has dots over https).
 *
 * @param endpoint the service's address, without the bucket: {@code https://s3.us-east-1.amazonaws.com}
 */
record S3Bucket(URI endpoint, String name, boolean pathStyle) {
    /** The object's URL, its key encoded as S3 signs it (so the path sent is the path signed). */
    URI objectUrl(String key) {
        String base = endpoint.getRawPath() == null ? "" : endpoint.getRawPath();
        if (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        String keyPath = "/" + SigV4.encodePath(key);
        return URI.create(pathStyle
                ? endpoint.getScheme() + "://" + endpoint.getRawAuthority() + base + "/" + SigV4.encode(name) + keyPath
                : endpoint.getScheme() + "://" + name + "." + endpoint.getRawAuthority() + base + keyPath);
    }

    /**
     * The {@code Host} header Java's HTTP client sends for {@code url} (it may not be set by hand): the
     * port only when it is not the scheme's own. It is signed, so it must be exactly that.
     */
    static String hostHeader(URI url) {
        int port = url.getPort();
        boolean defaultPort = port == -1 || port == (url.getScheme().equals("https") ? 443 : 80);
        return defaultPort ? url.getHost() : url.getHost() + ":" + port;
    }
}
