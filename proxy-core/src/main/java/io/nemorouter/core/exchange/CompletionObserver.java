package io.nemorouter.core.exchange;

/**
 * Told once about every finished exchange (answered, failed or cancelled), after its last byte was
 * flushed to the client. Runs on the exchange's event loop, so it must not block: metrics record
 * here, logs and exporters hand the record to their own queue.
 */
public interface CompletionObserver {
    void onComplete(Completion completion);
}
