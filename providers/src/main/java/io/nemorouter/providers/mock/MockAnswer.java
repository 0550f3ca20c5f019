package io.nemorouter.providers.mock;

import io.nemorouter.core.openai.OpenAiError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.buffer.ByteBufAllocator;

import java.util.List;

/**
 * What the mock answers to one request, before it is written anywhere: either one complete
 * response or a stream of server-sent events. Shared by the in-gateway provider and the
 * standalone mock upstream, so both speak exactly the same bytes.
 */
public sealed interface MockAnswer {
    record Complete(FullHttpResponse response) implements MockAnswer {
    }

    /** Where a stream's events go: the exchange in the gateway, a channel in the standalone server. */
    interface EventSink {
        /** False once nobody is listening any more (the client left); the stream stops. */
        boolean open();

        void event(byte[] event);

        void flush();

        void end();
    }

    /**
     * A chat answer's events in {@link MockLlm#streamEvents} order: the role event, {@code contentChunks}
     * content events, then the finish, the usage and {@code [DONE]}.
     */
    record Stream(List<byte[]> events, int contentChunks) implements MockAnswer {
        /** The role event and the first {@code n} content events: what got through of a stream that broke there. */
        public Stream firstChunks(int n) {
            if (n > contentChunks) {
                throw new IllegalArgumentException("only " + contentChunks + " content chunks");
            }
            return new Stream(events.subList(0, 1 + n), n);
        }

        /**
         * Sends the events from {@code from} on, pausing {@code delayNanos} between them on
         * {@code loop} (scheduled, never slept), then ends the stream.
         */
        public void play(io.netty.channel.EventLoop loop, long delayNanos, EventSink sink, int from) {
            int i = from;
            while (i < events.size() && sink.open()) {
                sink.event(events.get(i++));
                if (delayNanos > 0 && i < events.size()) {
                    sink.flush();
                    int next = i;
                    loop.schedule(() -> play(loop, delayNanos, sink, next), delayNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
                    return;
                }
            }
            if (sink.open()) {
                sink.end();
            }
        }

        public HttpResponse head() {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                    .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                    .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            return head;
        }
    }

    /**
     * Answers a chat or embeddings request; {@code embeddings} picks which. A stream carries
     * {@code "usage": null} in its chunks when {@code includeUsage} (the client asked), and the
     * usage event when {@code usageEvent} (the client, or the gateway, asked).
     */
    static MockAnswer answer(MockLlm llm, ByteBufAllocator alloc, boolean embeddings, ByteBuf body, String model,
                             boolean stream, boolean includeUsage, boolean usageEvent) {
        try {
            if (embeddings != llm.isEmbeddingModel(model)) {
                throw new MockLlm.BadRequest("model", embeddings
                        ? "The model `" + model + "` is a chat model and does not create embeddings; use an embedding model."
                        : "The model `" + model + "` is an embedding model and not supported in the v1/chat/completions endpoint.");
            }
            if (embeddings) {
                FullHttpResponse r = json(alloc, HttpResponseStatus.OK, llm.embeddings(body, model));
                return new Complete(r);
            }
            MockLlm.ChatAnswer a = llm.chat(body, model);
            if (stream) {
                return new Stream(llm.streamEvents(a, includeUsage, usageEvent), a.pieces().size());
            }
            return new Complete(json(alloc, HttpResponseStatus.OK, llm.chatJson(a)));
        } catch (MockLlm.BadRequest e) {
            return new Complete(OpenAiError.badRequest(e.code, e.param, e.getMessage()).toResponse(alloc));
        }
    }

    private static FullHttpResponse json(ByteBufAllocator alloc, HttpResponseStatus status, byte[] json) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                alloc == null ? Unpooled.wrappedBuffer(json) : alloc.buffer(json.length).writeBytes(json));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
        return r;
    }
}
