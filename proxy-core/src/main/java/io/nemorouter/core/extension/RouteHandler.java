package io.nemorouter.core.extension;

import io.nemorouter.core.exchange.Exchange;

/**
 * Answers requests on an extension's route ({@link ExtensionContext#route}), on the exchange's event
 * loop: with {@code exchange.respond(...)}, now or later. Blocking work (a file, a store scan) goes
 * to another thread and the answer comes back to {@code exchange.eventLoop()}.
 */
@FunctionalInterface
public interface RouteHandler {
    void handle(Exchange exchange);
}
