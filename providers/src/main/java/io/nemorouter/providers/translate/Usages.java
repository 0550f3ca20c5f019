package io.nemorouter.providers.translate;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/**
 * OpenAI's {@code usage} object from a provider's counts: {@code prompt_tokens} include the tokens
 * read from the provider's prompt cache ({@code prompt_tokens_details.cached_tokens}, priced at the
 * cached rate), {@code completion_tokens} include reasoning ({@code completion_tokens_details.reasoning_tokens}),
 * as OpenAI counts them.
 */
public final class Usages {
    private Usages() {
    }

    /** The usage object; {@code cacheWrite} (when not 0) as Anthropic's {@code cache_creation_input_tokens}, which the gateway prices. */
    public static void write(JsonGenerator g, long prompt, long completion, long cached, long reasoning, long cacheWrite) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", prompt);
        g.writeNumberField("completion_tokens", completion);
        g.writeNumberField("total_tokens", prompt + completion);
        g.writeObjectFieldStart("prompt_tokens_details");
        g.writeNumberField("cached_tokens", cached);
        g.writeEndObject();
        g.writeObjectFieldStart("completion_tokens_details");
        g.writeNumberField("reasoning_tokens", reasoning);
        g.writeEndObject();
        if (cacheWrite > 0) {
            g.writeNumberField("cache_creation_input_tokens", cacheWrite);
        }
        g.writeEndObject();
    }

    public static ObjectNode node(ObjectNode parent, long prompt, long completion, long cached, long reasoning) {
        ObjectNode u = parent.putObject("usage");
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached);
        u.putObject("completion_tokens_details").put("reasoning_tokens", reasoning);
        return u;
    }
}
