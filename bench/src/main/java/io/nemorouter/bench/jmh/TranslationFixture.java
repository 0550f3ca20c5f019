package io.nemorouter.bench.jmh;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.core.provider.EventSink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;

/** What the translation benchmarks share: an exchange with only a body and an allocator, a sink that drops events. */
public final class TranslationFixture {
    public static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    /** Takes a translator's events and releases them; a failure is the benchmark's error. */
    public static final EventSink DRAIN = new EventSink() {
        @Override
        public void event(ByteBuf event) {
            event.release();
        }

        @Override
        public void fail(OpenAiError error) {
            throw new IllegalStateException(error.message());
        }
    };

    private TranslationFixture() {
    }

    /** An exchange whose body is {@code json} (a translator reads its model, an allocator): nothing else answers. */
    public static Exchange exchange(String json) {
        RequestBody body = RequestBody.read(Unpooled.wrappedBuffer(json.getBytes(StandardCharsets.UTF_8)));
        return (Exchange) Proxy.newProxyInstance(Exchange.class.getClassLoader(), new Class<?>[]{Exchange.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "alloc" -> ALLOC;
                    case "body" -> body;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /** {@code bytes} in a pooled buffer, as the gateway reads them. */
    public static ByteBuf buffer(byte[] bytes) {
        return ALLOC.buffer(bytes.length).writeBytes(bytes);
    }

    /** {@code body} (an upstream's whole answer, status 200) through {@code translator}: the translated body's size. */
    public static int answer(io.nemorouter.core.provider.ResponseTranslator translator, Exchange exchange, byte[] body) {
        ByteBuf out = translator.body(exchange, 200, buffer(body));
        int n = out.readableBytes();
        out.release();
        return n;
    }

    /** One whole stream {@code event} through {@code translator}, its events dropped. */
    public static void event(io.nemorouter.core.provider.ResponseTranslator translator, Exchange exchange, byte[] event) {
        ByteBuf in = buffer(event);
        try {
            translator.event(exchange, in, DRAIN);
        } finally {
            in.release();
        }
    }
}
