package io.nemorouter.core.openai;

/**
 * Token counts an upstream reported for one call (or the gateway estimated, when it reported none).
 *
 * @param cachedTokens prompt tokens read from the provider's prompt cache (part of {@code promptTokens}),
 *                     from {@code prompt_tokens_details.cached_tokens}; 0 when not reported
 * @param estimated    whether the counts are the gateway's estimate, not the upstream's
 * @param cacheWriteTokens prompt tokens written to the provider's prompt cache (part of {@code promptTokens}),
 *                     billed above the input rate by Anthropic, from {@code cache_creation_input_tokens}; 0 when not reported
 */
public record Usage(long promptTokens, long completionTokens, long totalTokens, long cachedTokens, boolean estimated,
                    long cacheWriteTokens) {
    public Usage(long promptTokens, long completionTokens, long totalTokens, long cachedTokens, boolean estimated) {
        this(promptTokens, completionTokens, totalTokens, cachedTokens, estimated, 0);
    }

    public Usage(long promptTokens, long completionTokens, long totalTokens) {
        this(promptTokens, completionTokens, totalTokens, 0, false);
    }

    public Usage(long promptTokens, long completionTokens, long totalTokens, long cachedTokens) {
        this(promptTokens, completionTokens, totalTokens, cachedTokens, false);
    }
}
