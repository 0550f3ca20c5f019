package io.nemorouter.core.provider;

import io.nemorouter.core.http.Exchange;

/**
 * Serves exchanges routed to one deployment: forwards them upstream or answers them itself.
 * Called on the exchange's event loop; must answer through the exchange, never block.
 */
public interface Provider {
    void handle(Exchange exchange);
}
