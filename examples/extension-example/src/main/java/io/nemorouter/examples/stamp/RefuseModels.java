package io.nemorouter.examples.stamp;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.List;
import java.util.Set;

/** Refuses requests for the configured models with 403, in OpenAI's envelope, before any upstream is asked. */
final class RefuseModels implements RequestFilter {
    private final Set<String> refused;

    RefuseModels(List<String> refused) {
        this.refused = Set.copyOf(refused);
    }

    @Override
    public Verdict filter(Exchange exchange) {
        String model = exchange.body().model();
        if (model == null || !refused.contains(model)) {
            return Verdict.CONTINUE; // GET /v1/models has no model: nothing to refuse
        }
        exchange.respond(new OpenAiError(HttpResponseStatus.FORBIDDEN, "invalid_request_error", "model_not_allowed",
                "model", "The model `" + model + "` is not available through this gateway."));
        return Verdict.ANSWERED;
    }
}
