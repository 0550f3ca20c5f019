package io.nemorouter.core.extension;

import io.nemorouter.core.exchange.Exchange;

/**
 * One step a request goes through before its provider, registered by an extension for a
 * {@link Phase}. It reads the exchange (headers, {@code body()}, state set by earlier filters),
 * may set state, response headers, body edits and listeners, and returns its {@link Verdict}.
 * Filters are plain objects run by one handler, not Netty handlers: shared by every connection,
 * called on the exchange's event loop. A filter that throws answers 500 (with the request id), never
 * a hanging client; a body that turns out not to be valid JSON when read answers 400.
 */
@FunctionalInterface
public interface RequestFilter {
    Verdict filter(Exchange exchange);
}
