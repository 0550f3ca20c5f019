package io.nemorouter.core.config;

import com.typesafe.config.Config;

import java.util.List;

/**
 * One entry of the model catalog: what clients call it ({@code name}), which provider
 * serves it, and what the upstream is asked for ({@code model}).
 *
 * @param id       stable identifier reported in {@code x-nemo-model}: {@code provider/model}
 * @param settings the whole entry, for provider-specific keys (e.g. {@code mock { ... }})
 * @param pricing  its prices, context window and maximum output (its own, or the price table's)
 * @param path     where it is in the config ({@code nemo.models[2]}), for messages
 */
public record Deployment(
        String id,
        String name,
        String provider,
        String apiBase,
        String apiKey,
        String model,
        List<String> tags,
        Pricing pricing,
        Config settings,
        String path) {

    public boolean renamesModel() {
        return !name.equals(model);
    }

    /** Cost in USD of a call with the given token counts (no cached prompt tokens), from the per-million-token prices. */
    public double cost(long promptTokens, long completionTokens) {
        return pricing.cost(promptTokens, 0, completionTokens);
    }

    /** Cost in USD of a call's usage, cached prompt tokens and long-context rates included. */
    public double cost(io.nemorouter.core.openai.Usage usage) {
        return pricing.cost(usage);
    }

    public double inputCostPerMtok() {
        return pricing.input();
    }

    public double outputCostPerMtok() {
        return pricing.output();
    }

    /** Its id only: the record holds the API key and the whole entry, which must not reach a log. */
    @Override
    public String toString() {
        return "Deployment(" + id + ")";
    }
}
