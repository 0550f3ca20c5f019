package io.nemorouter.providers.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.providers.translate.Fidelity;
import io.nemorouter.providers.translate.TranslatorFixtures;
import io.nemorouter.providers.translate.TranslatorFixtures.Events;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Anthropic translation against answers in the shapes of Anthropic's API reference
 * ({@code fixtures/anthropic}), and the request encoder on images, without a gateway.
 */
class AnthropicTranslatorTest {
    static final Exchange CHAT = TranslatorFixtures.exchange("{\"model\":\"claude\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

    static JsonNode body(int status, String fixture) throws IOException {
        ByteBuf out = new AnthropicTranslator(() -> false).body(CHAT, status,
                Unpooled.copiedBuffer(TranslatorFixtures.fixture("anthropic/" + fixture), StandardCharsets.UTF_8));
        try {
            return OpenAiJson.MAPPER.readTree(out.toString(StandardCharsets.UTF_8));
        } finally {
            out.release();
        }
    }

    static Events stream(String fixture, boolean end) throws IOException {
        return TranslatorFixtures.stream(new AnthropicTranslator(() -> false), CHAT, TranslatorFixtures.fixture("anthropic/" + fixture),
                "\n\n", end);
    }

    @Test
    void aMessageWithPromptCacheReads() throws IOException {
        JsonNode out = body(200, "message.json");
        assertEquals("chat.completion", out.get("object").asText());
        assertEquals("msg_013Zva2CMHLNnXjNJJKqJ2EF", out.get("id").asText());
        assertEquals("claude-sonnet-4-5-20250929", out.get("model").asText());
        assertEquals("Hi! My name is Claude.", out.get("choices").get(0).get("message").get("content").asText());
        assertEquals("stop", out.get("choices").get(0).get("finish_reason").asText());
        JsonNode usage = out.get("usage");
        assertEquals(12 + 2048, usage.get("prompt_tokens").asLong(), "cache reads are prompt tokens, as OpenAI counts them");
        assertEquals(2048, usage.get("prompt_tokens_details").get("cached_tokens").asLong());
        assertEquals(10, usage.get("completion_tokens").asLong());
        assertEquals(2070, usage.get("total_tokens").asLong());
    }

    @Test
    void aToolUseBecomesAToolCallBesideItsText() throws IOException {
        JsonNode out = body(200, "message-tool-use.json");
        JsonNode choice = out.get("choices").get(0);
        assertEquals("tool_calls", choice.get("finish_reason").asText());
        assertEquals("I'll check the weather in San Francisco.", choice.get("message").get("content").asText());
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertEquals("toolu_01A09q90qw90lq917835lq9", call.get("id").asText());
        assertEquals("get_weather", call.get("function").get("name").asText());
        JsonNode args = OpenAiJson.MAPPER.readTree(call.get("function").get("arguments").asText());
        assertEquals("San Francisco, CA", args.get("location").asText());
        assertEquals(472 + 100, out.get("usage").get("prompt_tokens").asLong(), "cache writes are prompt tokens too");
        assertEquals(100, out.get("usage").get("cache_creation_input_tokens").asLong());
    }

    @Test
    void overloadedIsA503InOpenAisEnvelope() throws IOException {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(529));
        new AnthropicTranslator(() -> false).head(CHAT, head);
        assertEquals(503, head.status().code());
        JsonNode e = body(529, "error-overloaded.json").get("error");
        assertEquals("overloaded_error", e.get("code").asText());
        assertEquals("Overloaded", e.get("message").asText());
        assertEquals("upstream_error", e.get("type").asText());
    }

    @Test
    void aTextStreamIsOneChunkPerDeltaThenUsageThenDone() throws IOException {
        Events out = stream("stream.sse", true);
        assertNull(out.failure);
        assertTrue(out.done);
        assertEquals("assistant", out.chunks.get(0).get("choices").get(0).get("delta").get("role").asText());
        assertEquals("Hello", out.chunks.get(1).get("choices").get(0).get("delta").get("content").asText());
        assertEquals("!", out.chunks.get(2).get("choices").get(0).get("delta").get("content").asText());
        assertEquals("stop", out.chunks.get(3).get("choices").get(0).get("finish_reason").asText());
        JsonNode usage = out.chunks.get(4).get("usage");
        assertTrue(out.chunks.get(4).get("choices").isEmpty());
        assertEquals(25, usage.get("prompt_tokens").asLong());
        assertEquals(15, usage.get("completion_tokens").asLong());
        assertEquals(5, out.chunks.size(), "the ping and the block start and stop say nothing");
        for (JsonNode c : out.chunks) {
            assertEquals("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", c.get("id").asText());
            assertEquals("chat.completion.chunk", c.get("object").asText());
        }
    }

    @Test
    void aToolCallStreamsItsArgumentsPieceByPiece() throws IOException {
        Events out = stream("stream-tool-use.sse", true);
        StringBuilder args = new StringBuilder();
        int pieces = 0;
        String finish = null;
        for (JsonNode c : out.chunks) {
            JsonNode choice = c.get("choices").path(0);
            for (JsonNode call : choice.path("delta").path("tool_calls")) {
                assertEquals(0, call.get("index").asInt());
                String piece = call.get("function").path("arguments").asText("");
                if (call.get("function").has("name")) {
                    assertEquals("get_weather", call.get("function").get("name").asText());
                    assertEquals("toolu_01T1x1fJ34qAmk2tNTrN7Up6", call.get("id").asText());
                } else {
                    pieces++;
                }
                args.append(piece);
            }
            if (choice.hasNonNull("finish_reason")) {
                finish = choice.get("finish_reason").asText();
            }
        }
        assertEquals(2, pieces, "the empty first piece says nothing");
        assertEquals("San Francisco, CA", OpenAiJson.MAPPER.readTree(args.toString()).get("location").asText());
        assertEquals("tool_calls", finish);
    }

    @Test
    void aStreamCutBeforeMessageStopFails() throws IOException {
        String sse = TranslatorFixtures.fixture("anthropic/stream.sse");
        Events out = TranslatorFixtures.stream(new AnthropicTranslator(() -> false), CHAT,
                sse.substring(0, sse.indexOf("event: message_delta")), "\n\n", true);
        assertEquals("upstream_stream_broken", out.failure.code());
        assertFalse(out.done);
    }

    @Test
    void imagesAreBase64OrUrlSourcesAndAFileIdIsRefused() throws IOException {
        ObjectNode request = (ObjectNode) OpenAiJson.MAPPER.readTree("""
                {"model":"claude","messages":[{"role":"user","content":[
                 {"type":"image_url","image_url":{"url":"data:image/webp;base64,UklGRg=="}},
                 {"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"high"}},
                 {"type":"text","text":"compare"}]}]}""");
        JsonNode blocks = new AnthropicRequest(new Fidelity(true, "Anthropic")).encode(request, "claude-x", 8192)
                .get("messages").get(0).get("content");
        assertEquals("image/webp", blocks.get(0).get("source").get("media_type").asText());
        assertEquals("UklGRg==", blocks.get(0).get("source").get("data").asText());
        assertEquals("https://example.com/a.png", blocks.get(1).get("source").get("url").asText());
        assertEquals("compare", blocks.get(2).get("text").asText());

        ObjectNode withFileId = (ObjectNode) OpenAiJson.MAPPER.readTree("""
                {"model":"claude","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}""");
        Fidelity.Refused refused = assertThrows(Fidelity.Refused.class,
                () -> new AnthropicRequest(new Fidelity(true, "Anthropic")).encode(withFileId, "claude-x", 8192));
        assertEquals("messages[].content", refused.error.param());
    }

    @Test
    void encodingReadsTheClientsTreeWithoutChangingIt() {
        // upstreamView() hands the encoder the client's own tree when nothing edits it: the encoder must only read it
        TranslatorFixtures.assertEncodingOnlyReads(view -> new AnthropicRequest(new Fidelity(true, "Anthropic")).encode(view, "claude-x", 8192));
    }
}
