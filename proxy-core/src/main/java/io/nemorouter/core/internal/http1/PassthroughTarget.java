package io.nemorouter.core.internal.http1;

/**
 * Takes a whole upstream answer in its own bytes and sends it on without decoding it: the status
 * line and header lines copied as they came, the gateway's headers and the body behind them, in
 * one write. Implemented by the attempt an upstream connection serves; the relay asks it first.
 */
public interface PassthroughTarget {
    /** Whether an answer may go on as it came now (its provider needs no translation). */
    boolean acceptsPassthrough();

    /**
     * Sends {@code answer} on (the caller keeps ownership), or refuses it (a retryable status with
     * another deployment to try) and returns false.
     */
    boolean passthrough(PassthroughAnswer answer);
}
