package io.nemorouter.providers.mock;

import io.nemorouter.core.http.Endpoint;
import io.nemorouter.core.http.Exchange;
import io.nemorouter.core.provider.Provider;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.concurrent.TimeUnit;

/**
 * {@code provider = mock}: answers inside the gateway, on the exchange's event loop, with the
 * same bytes an OpenAI server would send. Delays are scheduled on the loop, never slept.
 */
final class MockProvider implements Provider {
    private final MockLlm llm;
    private final String model;

    MockProvider(MockLlm llm, String model) {
        this.llm = llm;
        this.model = model;
    }

    @Override
    public void handle(Exchange ex) {
        long latency = llm.settings().latency().toNanos();
        if (latency > 0) {
            ex.client.eventLoop().schedule(() -> answer(ex), latency, TimeUnit.NANOSECONDS);
        } else {
            answer(ex);
        }
    }

    private void answer(Exchange ex) {
        if (ex.finished()) {
            return;
        }
        MockAnswer a = MockAnswer.answer(llm, ex.client.alloc(), ex.endpoint == Endpoint.EMBEDDINGS, ex.body(), model,
                ex.fields.stream, ex.fields.includeUsage);
        if (a instanceof MockAnswer.Complete c) {
            ex.usage(c.usage());
            ex.respond(c.response());
        } else if (a instanceof MockAnswer.Stream s) {
            ex.usage(s.usage());
            ex.respondHead(s.head());
            s.play(ex.client.eventLoop(), llm.settings().chunkDelay().toNanos(), new MockAnswer.EventSink() {
                @Override
                public boolean open() {
                    return !ex.finished();
                }

                @Override
                public void event(byte[] e) {
                    ex.respondContent(new DefaultHttpContent(ex.client.alloc().buffer(e.length).writeBytes(e)));
                }

                @Override
                public void flush() {
                    ex.flush();
                }

                @Override
                public void end() {
                    ex.respondLast(LastHttpContent.EMPTY_LAST_CONTENT);
                }
            }, 0);
        }
    }
}
