package io.nemorouter.core.provider;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponse;

/**
 * Two translators in a row: the provider's (its API to the bridged endpoint's OpenAI shape), then
 * a bridge's (that shape to the client's endpoint). Each event the first writes is given to the
 * second as a whole event.
 */
public final class BridgedTranslator implements ResponseTranslator {
    private final ResponseTranslator first;
    private final ResponseTranslator second;

    public BridgedTranslator(ResponseTranslator first, ResponseTranslator second) {
        this.first = first;
        this.second = second;
    }

    @Override
    public void head(Exchange exchange, HttpResponse head) {
        first.head(exchange, head);
        second.head(exchange, head);
    }

    @Override
    public ByteBuf body(Exchange exchange, int status, ByteBuf body) {
        return second.body(exchange, status, first.body(exchange, status, body));
    }

    @Override
    public void event(Exchange exchange, ByteBuf event, EventSink out) {
        first.event(exchange, event, between(exchange, out));
    }

    @Override
    public void end(Exchange exchange, EventSink out) {
        first.end(exchange, between(exchange, out));
        second.end(exchange, out);
    }

    private EventSink between(Exchange exchange, EventSink out) {
        return new EventSink() {
            @Override
            public void event(ByteBuf event) {
                try {
                    second.event(exchange, event, out);
                } finally {
                    event.release();
                }
            }

            @Override
            public void fail(OpenAiError error) {
                out.fail(error);
            }
        };
    }
}
