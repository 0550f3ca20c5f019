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

    /**
     * {@code sse} through {@code translator} event by event, each event cut at {@code separator}
     * (a blank line, as the stream has it) and given whole, as the gateway frames it; then the
     * stream's end when {@code end}. What the translator wrote.
     */
    public static Events stream(io.nemorouter.core.provider.ResponseTranslator translator, Exchange exchange, String sse,
                                String separator, boolean end) {
        Events out = new Events();
        for (String event : sse.split(separator)) {
            if (!event.isBlank()) {
                ByteBuf e = Unpooled.copiedBuffer(event + separator, StandardCharsets.UTF_8);
                translator.event(exchange, e, out);
                e.release();
            }
        }
        if (end) {
            translator.end(exchange, out);
        }
        return out;
    }

    /** A chat request with a bit of everything an encoder reads: system parts, images, tool calls and results, tools, JSON mode. */
    public static final String EVERYTHING = "{\"model\":\"m\",\"temperature\":0.2,\"stop\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                + "{\"name\":\"p\",\"schema\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}}}}},"
                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],"
                + "\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"s\",\"cache_control\":{\"type\":\"ephemeral\"}}]},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AA==\"}}]},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}]}";

    /**
     * Runs {@code encode} on the view {@code upstreamView()} gives of {@link #EVERYTHING} (the
     * client's own tree, nothing editing it) and checks it only read it.
     */
    public static void assertEncodingOnlyReads(java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> encode) {
        RequestBody request = RequestBody.read(Unpooled.copiedBuffer(EVERYTHING, StandardCharsets.UTF_8));
        com.fasterxml.jackson.databind.node.ObjectNode view = request.upstreamView();
        assertTrue(view == request.json(), "nothing edits it: the client's own tree");
        String before = view.toString();
        encode.accept(view);
        org.junit.jupiter.api.Assertions.assertEquals(before, request.json().toString());
    }
}
