package io.nemorouter.providers.mock;

import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.provider.Provider;

import java.util.concurrent.TimeUnit;

/**
 * {@code provider = mock}: answers inside the gateway, on the exchange's event loop, with the
 * same bytes an OpenAI server would send, reported through the attempt as an upstream's answer
 * would be (so translation, the answer hooks and usage work the same). Like the OpenAI provider on
 * a stream, it always sends the usage event; the gateway keeps it from a client that did not ask.
 * Delays are scheduled on the loop, never slept.
 */
final class MockProvider implements Provider {
    private final MockLlm llm;
    private final String model;

    MockProvider(MockLlm llm, String model) {
        this.llm = llm;
        this.model = model;
    }

    @Override
    public void send(Exchange ex, Attempt attempt) {
        long latency = llm.settings().latency().toNanos();
        if (latency > 0) {
            ex.eventLoop().schedule(() -> answer(ex, attempt), latency, TimeUnit.NANOSECONDS);
        } else {
            answer(ex, attempt);
        }
    }

    private void answer(Exchange ex, Attempt attempt) {
        if (attempt.abandoned()) {
            return;
        }
        io.netty.buffer.ByteBuf body = ex.body().render(ex.alloc(), null, false); // the filters' edits, as an upstream would get them
        MockAnswer a;
        try {
            a = MockAnswer.answer(llm, ex.alloc(), ex.endpoint() == Endpoint.EMBEDDINGS, body, model,
                    ex.body().stream(), ex.body().includeUsage(), true);
        } finally {
            body.release();
        }
        if (a instanceof MockAnswer.Complete c) {
            attempt.whole(c.response());
        } else if (a instanceof MockAnswer.Stream s && attempt.head(s.head())) {
            s.play(ex.eventLoop(), llm.settings().chunkDelay().toNanos(), new MockAnswer.EventSink() {
                @Override
                public boolean open() {
                    return !attempt.abandoned();
                }

                @Override
                public void event(byte[] e) {
                    attempt.content(ex.alloc().buffer(e.length).writeBytes(e));
                }

                @Override
                public void flush() {
                    attempt.flush();
                }

                @Override
                public void end() {
                    attempt.end();
                }
            }, 0);
        }
    }
}
