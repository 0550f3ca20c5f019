package io.nemorouter.providers.translate;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.provider.DroppedParams;

import java.util.ArrayList;
import java.util.List;

/**
 * What a translating provider does with a request member its API cannot honour, as the catalog
 * entry's {@code drop_params} says: leave it out and say so ({@code x-nemo-dropped-params}, the
 * request log's {@code dropped_params}), or refuse the request with a 400 naming it. Never sent in a
 * shape that means something else.
 */
public final class Fidelity {
    /** A member the provider cannot honour, with {@code drop_params = false}. */
    public static final class Refused extends RuntimeException {
        public final OpenAiError error;

        Refused(OpenAiError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }
    }

    private final boolean drop;
    private final String provider;
    private List<String> dropped;

    public Fidelity(boolean drop, String provider) {
        this.drop = drop;
        this.provider = provider;
    }

    /** Member {@code name} cannot be honoured ({@code why}, for the 400): dropped, or the request refused. */
    public void unsupported(String name, String why) {
        if (!drop) {
            throw new Refused(OpenAiError.badRequest("unsupported_parameter", name,
                    "The " + provider + " deployment cannot honour '" + name + "': " + why
                            + ". Leave it out, or set drop_params = true on the catalog entry to have the gateway drop it."));
        }
        if (dropped == null) {
            dropped = new ArrayList<>(2);
        }
        dropped.add(name);
    }

    /** A request the provider's API cannot express at all, whatever {@code drop_params} says: a 400. */
    public static Refused invalid(String param, String message) {
        return new Refused(OpenAiError.badRequest("invalid_value", param, message));
    }

    /** Tells the client and the log what was dropped, if anything. */
    public void report(Exchange ex) {
        if (dropped != null) {
            ex.set(DroppedParams.KEY, List.copyOf(dropped));
            ex.responseHeader(DroppedParams.HEADER, String.join(",", dropped));
        }
    }
}
