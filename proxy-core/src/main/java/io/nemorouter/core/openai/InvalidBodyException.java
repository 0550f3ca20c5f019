package io.nemorouter.core.openai;

/**
 * A body that turned out not to be what the request needs when a filter or route handler read it
 * ({@link RequestBody#json}). The gateway answers it with its {@link #error} (400): a handler need
 * not check first. No stack trace: it is an answer, not a bug.
 */
public final class InvalidBodyException extends RuntimeException {
    private final OpenAiError error;

    public InvalidBodyException(OpenAiError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    public OpenAiError error() {
        return error;
    }
}
