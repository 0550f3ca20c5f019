package io.nemorouter.filters.export;

import java.net.URI;
import java.net.URISyntaxException;

/** Receiver addresses from the config: absolute http(s) URLs, or a message naming the key. */
final class HttpUrls {
    private HttpUrls() {
    }

    static URI parse(String value, String key) {
        try {
            URI u = new URI(value);
            if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
                throw new IllegalArgumentException(key + ": must be an http:// or https:// URL, not \"" + value + "\"");
            }
            return u;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(key + ": not a URL: \"" + value + "\"");
        }
    }
}
