package io.nemorouter.core.provider;

import io.nemorouter.core.exchange.Exchange;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponse;

/**
 * Turns a provider's answers into OpenAI's: the head, a whole body, or a stream event by event.
 * The gateway frames the upstream's stream into whole events before calling {@link #event}, and
 * reads usage from what the translator gives (OpenAI's {@code usage} object), so a translator only
 * maps shapes. Called on the exchange's event loop.
 */
public interface ResponseTranslator {
    /** OpenAI in, OpenAI out: whole answers go to the client as the same bytes, without a copy. */
    ResponseTranslator IDENTITY = new ResponseTranslator() {
    };

    /** Adjusts the upstream head before the gateway looks at it: its status (a 529 to 503) and headers. */
    default void head(Exchange exchange, HttpResponse head) {
    }

    /** A whole body: returns the client's body. Ownership of {@code body} passes in, of the result out. */
    default ByteBuf body(Exchange exchange, int status, ByteBuf body) {
        return body;
    }

    /**
     * One whole upstream event (a view, valid during the call: retain it to pass it on): writes the
     * client's events for it, if any.
     */
    default void event(Exchange exchange, ByteBuf event, EventSink out) {
        out.event(event.retain());
    }

    /** The upstream's stream ended: any last events. */
    default void end(Exchange exchange, EventSink out) {
    }
}
