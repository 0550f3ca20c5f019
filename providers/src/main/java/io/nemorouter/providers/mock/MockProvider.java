package io.nemorouter.providers.mock;

import io.nemorouter.core.exchange.Attempt;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.provider.Provider;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@code provider = mock}: answers inside the gateway, on the exchange's event loop, with the
 * same bytes an OpenAI server would send, reported through the attempt as an upstream's answer
 * would be (so translation, the answer hooks and usage work the same). Like the OpenAI provider on
 * a stream, it always sends the usage event; the gateway keeps it from a client that did not ask.
 * Delays are scheduled on the loop, never slept. Its injected faults ({@link MockFaults}) are
 * reported the same way: an error answer as a whole answer with its status (so the dispatcher
 * may refuse a 429 or 5xx and try another deployment), a broken stream as a failure after the head.
 */
final class MockProvider implements Provider {
    private final MockLlm llm;
    private final MockFaults faults;
    private final String model;

    MockProvider(MockLlm llm, String model) {
        this.llm = llm;
        this.faults = llm.settings().faults();
        this.model = model;
    }

    @Override
    public void send(Exchange ex, Attempt attempt) {
        long latency = faults.latencyNanos(llm.settings().latency(), ThreadLocalRandom.current());
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
        if (faults.errs(ThreadLocalRandom.current())) {
            // in place of any answer, before the body is read: an overloaded server refuses even a bad request
            attempt.whole(faults.errorAnswer(ex.alloc(), model));
            return;
        }
        io.netty.buffer.ByteBuf body = attempt.body().render(ex.alloc(), null, false); // the filters' edits, as an upstream would get them
        MockAnswer a;
        try {
            a = MockAnswer.answer(llm, ex.alloc(), attempt.endpoint() == Endpoint.EMBEDDINGS, body, model,
                    attempt.body().stream(), attempt.body().includeUsage(), true);
        } finally {
            body.release();
        }
        if (a instanceof MockAnswer.Complete c) {
            attempt.whole(c.response());
        } else if (a instanceof MockAnswer.Stream s) {
            boolean breaks = faults.breaks(s.contentChunks());
            MockAnswer.Stream sent = breaks ? s.firstChunks(faults.failAfterChunks()) : s;
            if (attempt.head(sent.head())) {
                play(ex, attempt, sent, breaks);
            }
        }
    }

    private void play(Exchange ex, Attempt attempt, MockAnswer.Stream stream, boolean breaks) {
        stream.play(ex.eventLoop(), llm.settings().chunkDelay().toNanos(), new MockAnswer.EventSink() {
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
                if (breaks) {
                    // as the relay reports a connection that ends mid-answer: what came goes out, then the failure
                    attempt.flush();
                    attempt.failed(AttemptFailure.retryable(faults.brokenStream()));
                } else {
                    attempt.end();
                }
            }
        }, 0);
    }
}
