package io.nemorouter.examples.stamp;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RouteAuth;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** Lets a route's request through only with {@code Authorization: Bearer <token>}; 401 otherwise. */
final class BearerToken implements RouteAuth {
    private final byte[] expected;

    BearerToken(String token) {
        this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public OpenAiError check(Exchange exchange) {
        String given = exchange.requestHeaders().get("authorization");
        // constant time: how much of a guess matched must not show in how long the answer takes
        if (given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        return new OpenAiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "invalid_api_key", null,
                "This route needs Authorization: Bearer <nemo.stamp.admin_token>.");
    }
}
