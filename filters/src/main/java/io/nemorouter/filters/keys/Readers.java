package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;

/**
 * Decides who may read records of calls, for extensions that serve them (the request log's
 * {@code /spend/*} routes), and who is the admin (the cache's {@code /cache/*}). The keys extension publishes one through
 * {@link io.nemorouter.core.extension.ExtensionContext#publish}.
 */
public interface Readers {
    /**
     * Null when the caller may read: then {@link Principal#KEY} on the exchange says who it is (the
     * master key reads everything, a virtual key its own records); else the error to answer with.
     */
    OpenAiError admit(Exchange exchange);

    /** Null when the caller has the master key (an admin route: flushing a cache, say); else the error. */
    OpenAiError admitMaster(Exchange exchange);
}
