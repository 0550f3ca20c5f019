package io.nemorouter.core.provider;

import io.nemorouter.core.exchange.Key;

import java.util.List;

/**
 * The request members a provider could not honour and left out ({@code drop_params = true}), set
 * on the exchange by the provider that translated the request: the client sees them in
 * {@code x-nemo-dropped-params}, the request log in {@code dropped_params}.
 */
public final class DroppedParams {
    public static final Key<List<String>> KEY = Key.of("provider.dropped_params");
    public static final String HEADER = "x-nemo-dropped-params";

    private DroppedParams() {
    }
}
