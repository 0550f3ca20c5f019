package io.nemorouter.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.providers.translate.Fidelity;
import io.nemorouter.providers.translate.TranslatorFixtures;
import io.nemorouter.providers.translate.TranslatorFixtures.Events;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Gemini translation against answers in the shapes of Google's API reference
 * ({@code fixtures/gemini}), without a gateway: what a client would read of each.
 */
class GeminiTranslatorTest {
    static final Exchange CHAT = TranslatorFixtures.exchange("{\"model\":\"flash\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

    static String fixture(String name) throws IOException {
        return TranslatorFixtures.fixture("gemini/" + name);
    }

    static JsonNode body(GeminiTranslator t, int status, String fixture) throws IOException {
        ByteBuf out = t.body(CHAT, status, Unpooled.copiedBuffer(fixture(fixture), StandardCharsets.UTF_8));
        try {
            return OpenAiJson.MAPPER.readTree(out.toString(StandardCharsets.UTF_8));
        } finally {
            out.release();
        }
    }

    @Test
    void aPlainAnswerWithAThoughtAndCachedTokens() throws IOException {
        JsonNode out = body(new GeminiTranslator("Gemini"), 200, "generate-content.json");
        assertEquals("chat.completion", out.get("object").asText());
        assertEquals("mDxNaOu4Kc6Z1MkPnfSp6Qo", out.get("id").asText());
        assertEquals("gemini-2.5-flash", out.get("model").asText());
        JsonNode message = out.get("choices").get(0).get("message");
        assertEquals("The capital of France is Paris.", message.get("content").asText());
        assertEquals("The user asks for the capital of France; answer in one sentence.", message.get("reasoning_content").asText());
        assertEquals("stop", out.get("choices").get(0).get("finish_reason").asText());
        JsonNode usage = out.get("usage");
        assertEquals(1031, usage.get("prompt_tokens").asLong());
        assertEquals(8 + 25, usage.get("completion_tokens").asLong(), "answer and thoughts");
        assertEquals(1031 + 33, usage.get("total_tokens").asLong());
        assertEquals(1024, usage.get("prompt_tokens_details").get("cached_tokens").asLong());
        assertEquals(25, usage.get("completion_tokens_details").get("reasoning_tokens").asLong());
    }

    @Test
    void functionCallsBecomeToolCalls() throws IOException {
        JsonNode out = body(new GeminiTranslator("Gemini"), 200, "function-call.json");
        JsonNode choice = out.get("choices").get(0);
        assertEquals("tool_calls", choice.get("finish_reason").asText());
        assertTrue(choice.get("message").get("content").isNull());
        JsonNode calls = choice.get("message").get("tool_calls");
        assertEquals(2, calls.size());
        assertEquals("get_current_weather", calls.get(1).get("function").get("name").asText());
        assertEquals("Paris", OpenAiJson.MAPPER.readTree(calls.get(1).get("function").get("arguments").asText()).get("location").asText());
        assertFalse(calls.get(0).get("id").asText().equals(calls.get(1).get("id").asText()), "ids are made, one each");
        assertEquals(103, out.get("usage").get("total_tokens").asLong());
    }

    @Test
    void googlesErrorBecomesOpenAisEnvelope() throws IOException {
        JsonNode e = body(new GeminiTranslator("Gemini"), 429, "error-429.json").get("error");
        assertEquals("RESOURCE_EXHAUSTED", e.get("code").asText());
        assertEquals("invalid_request_error", e.get("type").asText());
        assertTrue(e.get("message").asText().startsWith("You exceeded your current quota"));
        assertTrue(e.get("param").isNull());
        ByteBuf page = new GeminiTranslator("Vertex AI").body(CHAT, 502, Unpooled.copiedBuffer("<html>Bad Gateway</html>", StandardCharsets.UTF_8));
        JsonNode html = OpenAiJson.MAPPER.readTree(page.toString(StandardCharsets.UTF_8));
        page.release();
        assertEquals("upstream_status_502", html.get("error").get("code").asText());
        assertEquals("upstream_error", html.get("error").get("type").asText());
        assertEquals("The Vertex AI upstream answered 502.", html.get("error").get("message").asText());
    }

    static Events stream(String sse, boolean end) {
        return TranslatorFixtures.stream(new GeminiTranslator("Gemini"), CHAT, sse, "\r\n\r\n", end);
    }

    @Test
    void aStreamBecomesChunksThenUsageThenDone() throws IOException {
        Events out = stream(fixture("stream.sse"), true);
        assertNull(out.failure);
        assertTrue(out.done);
        assertEquals("assistant", out.chunks.get(0).get("choices").get(0).get("delta").get("role").asText(), "the role first");
        StringBuilder text = new StringBuilder();
        String finish = null;
        for (JsonNode chunk : out.chunks) {
            assertEquals("kT1NaMmXLe6Z1MkP-_Xe6Qc", chunk.get("id").asText());
            assertEquals("gemini-2.5-flash", chunk.get("model").asText());
            if (!chunk.get("choices").isEmpty()) {
                JsonNode c = chunk.get("choices").get(0);
                text.append(c.get("delta").path("content").asText(""));
                if (!c.get("finish_reason").isNull()) {
                    finish = c.get("finish_reason").asText();
                }
            }
        }
        assertEquals("Once upon a time, a small robot learned to paint.", text.toString());
        assertEquals("stop", finish);
        JsonNode usage = out.chunks.get(out.chunks.size() - 1);
        assertTrue(usage.get("choices").isEmpty(), "the usage chunk last, as OpenAI sends it");
        assertEquals(9, usage.get("usage").get("prompt_tokens").asLong());
        assertEquals(14 + 17, usage.get("usage").get("completion_tokens").asLong());
        assertEquals(17, usage.get("usage").get("completion_tokens_details").get("reasoning_tokens").asLong());
    }

    @Test
    void aStreamThatEndsWithoutItsFinishFails() throws IOException {
        String sse = fixture("stream.sse");
        Events out = stream(sse.substring(0, sse.lastIndexOf("data: ")), true);
        assertFalse(out.done);
        assertEquals("upstream_stream_broken", out.failure.code());
        assertEquals(502, out.failure.status().code());
    }

    @Test
    void anErrorInTheStreamFailsItInGooglesWords() {
        Events out = stream("data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n", false);
        assertEquals("UNAVAILABLE", out.failure.code());
        assertEquals(503, out.failure.status().code());
        assertEquals("The model is overloaded.", out.failure.message());
    }

    @Test
    void finishReasons() {
        assertEquals("stop", GeminiTranslator.finishReason("STOP", false));
        assertEquals("length", GeminiTranslator.finishReason("MAX_TOKENS", false));
        assertEquals("length", GeminiTranslator.finishReason("MAX_TOKENS", true));
        assertEquals("tool_calls", GeminiTranslator.finishReason("STOP", true));
        for (String filtered : List.of("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII")) {
            assertEquals("content_filter", GeminiTranslator.finishReason(filtered, false), filtered);
        }
        assertNull(GeminiTranslator.finishReason(null, false));
    }

    @Test
    void aRequestEncodesWithoutAnythingGeminiWouldRefuse() throws IOException {
        ObjectNode in = (ObjectNode) OpenAiJson.MAPPER.readTree("""
                {"model":"flash","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b",
                 "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\\"x\\":1}"}}]},
                 {"role":"tool","tool_call_id":"c1","content":"plain text"}],
                 "top_k":40,"generationConfig":{"responseModalities":["TEXT"]}}""");
        Fidelity fidelity = new Fidelity(true, "Gemini");
        ObjectNode out = new GeminiRequest(fidelity).encode(in);
        assertEquals(40, out.get("generationConfig").get("topK").asInt());
        assertEquals("TEXT", out.get("generationConfig").get("responseModalities").get(0).asText(), "Gemini's own config kept");
        assertFalse(out.has("top_k"));
        assertFalse(out.has("model"));
        JsonNode response = out.get("contents").get(2).get("parts").get(0).get("functionResponse");
        assertEquals("f", response.get("name").asText());
        assertEquals("plain text", response.get("response").get("content").asText());

        ObjectNode orphan = (ObjectNode) OpenAiJson.MAPPER.readTree("""
                {"model":"flash","messages":[{"role":"user","content":"a"},{"role":"tool","tool_call_id":"zz","content":"x"}]}""");
        Fidelity.Refused refused = assertThrows(Fidelity.Refused.class, () -> new GeminiRequest(fidelity).encode(orphan));
        assertTrue(refused.error.message().contains("zz"));
    }

    @Test
    void imageTypesFromTheirUrls() {
        assertEquals("image/png", GeminiRequest.mimeTypeOf("https://x.test/a/b.PNG"));
        assertEquals("image/jpeg", GeminiRequest.mimeTypeOf("https://x.test/a.b/photo"));
        assertEquals("application/pdf", GeminiRequest.mimeTypeOf("gs://bucket/doc.pdf#page=2"));
    }

    @Test
    void encodingReadsTheClientsTreeWithoutChangingIt() {
        // upstreamView() hands the encoder the client's own tree when nothing edits it: the encoder must only read it
        TranslatorFixtures.assertEncodingOnlyReads(view -> new GeminiRequest(new Fidelity(true, "Gemini")).encode(view));
    }
}
