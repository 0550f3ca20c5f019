package io.nemorouter.filters.keys.admin;

import io.nemorouter.core.exchange.Exchange;
import io.netty.handler.codec.http.HttpHeaderNames;

/** The key a request presents: {@code Authorization: Bearer ...}, else {@code x-api-key}; null when none. */
public final class PresentedKey {
    private PresentedKey() {
    }

    public static CharSequence of(Exchange exchange) {
        String auth = exchange.requestHeaders().get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null && auth.length() > 7 && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String v = auth.substring(7).trim();
            if (!v.isEmpty()) {
                return v;
            }
        }
        String x = exchange.requestHeaders().get("x-api-key");
        return x == null || x.isBlank() ? null : x.trim();
    }
}
