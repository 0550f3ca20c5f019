package io.nemorouter.core.extension;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;

/** Decides whether a request may use an extension's route, before its handler runs. */
@FunctionalInterface
public interface RouteAuth {
    /** Anyone may. */
    RouteAuth NONE = exchange -> null;

    /** Null to let the request through, or the error to answer with (401, 403). */
    OpenAiError check(Exchange exchange);
}
