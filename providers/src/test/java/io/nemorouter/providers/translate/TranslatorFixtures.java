package io.nemorouter.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.core.provider.EventSink;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the translator tests share: a bare exchange, the fixtures, and a sink that collects a translated stream. */
public final class TranslatorFixtures {
    private TranslatorFixtures() {
    }

    /** An exchange with what a translator reads of one: an allocator and the request body. */
    public static Exchange exchange(String body) {
        RequestBody request = RequestBody.read(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        return (Exchange) Proxy.newProxyInstance(Exchange.class.getClassLoader(), new Class<?>[]{Exchange.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "alloc" -> UnpooledByteBufAllocator.DEFAULT;
                    case "body" -> request;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /** The text of {@code fixtures/<path>}. */
    public static String fixture(String path) throws IOException {
        try (InputStream in = TranslatorFixtures.class.getResourceAsStream("/fixtures/" + path)) {
            assertNotNull(in, path);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A translated stream's chunks, whether it ended with [DONE], and how it failed, if it did. */
    public static final class Events implements EventSink {
        public final List<JsonNode> chunks = new ArrayList<>();
        public boolean done;
        public OpenAiError failure;

        @Override
        public void event(ByteBuf event) {
            try {
                String text = event.toString(StandardCharsets.UTF_8);
                assertTrue(text.startsWith("data: ") && text.endsWith("\n\n"), text);
                String data = text.substring(6, text.length() - 2);
                if (data.equals("[DONE]")) {
                    done = true;
                } else {
                    chunks.add(OpenAiJson.MAPPER.readTree(data));
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            } finally {
                event.release();
            }
        }

        @Override
        public void fail(OpenAiError error) {
            failure = error;
        }
    }
}
