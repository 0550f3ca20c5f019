package io.nemorouter.core.exchange;

import io.nemorouter.core.openai.OpenAiError;

/**
 * Why an attempt failed, as its provider reports it: the error the client gets if nothing else is
 * tried, whether another deployment may be tried instead (connect failures, timeouts before the
 * first byte, an upstream that closed without answering), and the upstream's {@code Retry-After}.
 */
public record AttemptFailure(OpenAiError error, boolean retryable, long retryAfterMillis) {

    /** Another deployment may serve the request instead. */
    public static AttemptFailure retryable(OpenAiError error) {
        return new AttemptFailure(error, true, -1);
    }

    /** Trying elsewhere would not help (or cannot: the answer had started). */
    public static AttemptFailure fatal(OpenAiError error) {
        return new AttemptFailure(error, false, -1);
    }
}
