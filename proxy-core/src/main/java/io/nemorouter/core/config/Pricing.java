package io.nemorouter.core.config;

import io.nemorouter.core.openai.Usage;

/**
 * What a deployment's tokens cost and how many it takes, in USD per million tokens: from its
 * catalog entry where it says, else from the bundled price table ({@link PriceTable}).
 *
 * @param input           per million prompt tokens
 * @param cachedInput     per million prompt tokens read from the provider's prompt cache
 * @param output          per million completion tokens
 * @param longContext     higher rates for a whole call once its prompt is over a threshold, or null
 * @param contextWindow   the most tokens the model takes (0 = unknown)
 * @param maxOutputTokens the most tokens one answer may have (0 = unknown)
 * @param source          {@code catalog}, {@code table} (by the entry's model, possibly in part) or {@code unpriced}
 * @param cacheWrite      per million prompt tokens written to the provider's prompt cache (Anthropic bills them above input)
 */
public record Pricing(double input, double cachedInput, double output, LongContext longContext,
                      long contextWindow, long maxOutputTokens, String source, double cacheWrite) {

    /** Prices whose cache writes cost what input does (every provider but Anthropic). */
    public Pricing(double input, double cachedInput, double output, LongContext longContext, long contextWindow,
                   long maxOutputTokens, String source) {
        this(input, cachedInput, output, longContext, contextWindow, maxOutputTokens, source, input);
    }

    /** Rates that apply to a whole call whose prompt has more than {@code above} tokens (Gemini Pro). */
    public record LongContext(long above, double input, double cachedInput, double output) {
    }

    public static final Pricing UNPRICED = new Pricing(0, 0, 0, null, 0, 0, "unpriced");

    /** Whether anything says what this deployment costs; an unpriced one costs 0 and is flagged in records. */
    public boolean known() {
        return !"unpriced".equals(source);
    }

    /** Cost in USD of a call with these token counts; cached tokens are part of the prompt tokens. */
    public double cost(long promptTokens, long cachedTokens, long completionTokens) {
        return cost(promptTokens, cachedTokens, 0, completionTokens);
    }

    /** Cost in USD of a call with these token counts; cached reads and cache writes are part of the prompt tokens. */
    public double cost(long promptTokens, long cachedTokens, long cacheWriteTokens, long completionTokens) {
        double in = input;
        double cached = cachedInput;
        double write = cacheWrite;
        double out = output;
        if (longContext != null && promptTokens > longContext.above()) {
            in = longContext.input();
            cached = longContext.cachedInput();
            write = input > 0 ? cacheWrite * longContext.input() / input : longContext.input();
            out = longContext.output();
        }
        long cachedPart = Math.max(0, Math.min(cachedTokens, promptTokens));
        long writePart = Math.max(0, Math.min(cacheWriteTokens, promptTokens - cachedPart));
        return ((promptTokens - cachedPart - writePart) * in + cachedPart * cached + writePart * write + completionTokens * out)
                / 1_000_000d;
    }

    public double cost(Usage u) {
        return cost(u.promptTokens(), u.cachedTokens(), u.cacheWriteTokens(), u.completionTokens());
    }

    /** The highest rates any call may be billed at: what a budget's worst case must use. */
    public double maxInput() {
        double most = Math.max(input, cacheWrite); // a prompt may all be written to the cache
        return longContext == null ? most : Math.max(most, longContext.input() * Math.max(1, input > 0 ? cacheWrite / input : 1));
    }

    public double maxOutput() {
        return longContext == null ? output : Math.max(output, longContext.output());
    }
}
