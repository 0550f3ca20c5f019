package io.nemorouter.core.openai;

/** Token counts an upstream reported for one call. */
public record Usage(long promptTokens, long completionTokens, long totalTokens) {
}
