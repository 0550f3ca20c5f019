package io.nemorouter.core.http;

/**
 * Told once when an exchange has finished (answered, failed or cancelled). Runs on the
 * exchange's event loop, so it must not block; metrics and logs hand off from here.
 */
public interface ExchangeObserver {
    void onComplete(Exchange exchange);
}
