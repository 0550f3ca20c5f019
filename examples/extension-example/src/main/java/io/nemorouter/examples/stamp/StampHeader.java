package io.nemorouter.examples.stamp;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;

/**
 * Puts the configured header on the answer, plain or streamed, whoever gives it; and notes who is
 * asking ({@link StampExtension#CLIENT}) for {@link RouteHeader} to read once a deployment is chosen.
 */
final class StampHeader implements RequestFilter {
    private final String header;
    private final String value;

    StampHeader(String header, String value) {
        this.header = header;
        this.value = value;
    }

    @Override
    public Verdict filter(Exchange exchange) {
        exchange.responseHeader(header, value);
        String client = exchange.requestHeaders().get("x-stamp-client");
        exchange.set(StampExtension.CLIENT, client == null || client.isBlank() ? "anonymous" : client);
        return Verdict.CONTINUE;
    }
}
