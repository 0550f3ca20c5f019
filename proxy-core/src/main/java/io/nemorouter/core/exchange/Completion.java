package io.nemorouter.core.exchange;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.Usage;

import java.util.List;

/**
 * What happened to one request, read by every {@link CompletionObserver} once it has finished, as
 * Armeria's {@code RequestLog}: one record feeds metrics, the request log, spend and exporters.
 * Times are {@link System#nanoTime()} values; 0 when the moment never came.
 */
public interface Completion {
    String requestId();

    Endpoint endpoint();

    /** The {@code model} the client asked for; null when the request named none. */
    String requestedModel();

    /** The deployment of the last attempt (the one that answered, when one did); null when none was tried. */
    Deployment deployment();

    /** The status the client got; 499 when it left before the end, as nginx counts it. */
    int status();

    boolean cancelled();

    /** The error code when the gateway answered with an error or the answer broke off; null otherwise. */
    String failure();

    /** Whether the answer was an event stream. */
    boolean streamed();

    /** Token counts from the answer's body or its stream's usage event; null when it had none. */
    Usage usage();

    /** Cost in USD from the usage and the deployment's prices, or -1 when unknown. */
    double cost();

    String cacheDecision();

    /** Attempts before the one that answered. */
    int fallbacks();

    /** Every attempt, in order; empty when none was made (an error before routing, a cached answer). */
    List<AttemptRecord> attempts();

    long receivedNanos();

    /** When the last attempt's request went upstream; 0 when none did (or its provider answers in-process). */
    long upstreamSentNanos();

    /** When the last attempt's answer began to arrive; 0 when none did. */
    long upstreamFirstByteNanos();

    long headSentNanos();

    long finishedNanos();

    /** Time the gateway itself spent: before the upstream call, and between its first byte and the client's. */
    long overheadNanos();

    /** The per-request state set on the exchange. */
    <T> T get(Key<T> key);

}
