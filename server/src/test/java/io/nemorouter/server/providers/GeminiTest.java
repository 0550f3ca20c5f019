package io.nemorouter.server.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.providers.standin.StandInServer;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code provider = gemini} through a real gateway, in front of the Gemini API stand-in (which
 * refuses unknown members and schema keywords as the real API does): requests are translated to
 * generateContent and embedContent, answers, streams and errors back to OpenAI's shapes.
 */
class GeminiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-gemini-test";
    static final String KEY = "AIza-test-key";
    StandInServer gemini;
    TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        gemini = new StandInServer("gemini", KEY, 0);
    }

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        gemini.close();
    }

    String entry(String name, String model, String extra) {
        return "{ name = \"" + name + "\", provider = gemini, model = \"" + model + "\", api_base = \"http://127.0.0.1:"
                + gemini.port() + "\", api_key = \"" + KEY + "\"" + (extra.isEmpty() ? "" : ", " + extra) + " }";
    }

    void gateway(String... entries) throws Exception {
        gatewayWith("", entries);
    }

    void gatewayWith(String config, String... entries) throws Exception {
        gw = TestGateway.builder().config(config + "\nnemo.models = [" + String.join(",", entries) + "]\n").start();
    }

    JsonNode post(String body) throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    StandInServer.Request lastRequest() {
        List<StandInServer.Request> all = gemini.requests();
        return all.get(all.size() - 1);
    }

    JsonNode lastSent() throws Exception {
        return JSON.readTree(lastRequest().body());
    }

    @Test
    void aChatIsTranslatedBothWays() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", ""));
        JsonNode answer = post("""
                {"model":"flash","temperature":0.2,"top_p":0.9,"max_tokens":50,"stop":["NEVER"],"seed":7,
                 "presence_penalty":0.1,"frequency_penalty":0.2,"messages":[
                 {"role":"system","content":"Be brief."},
                 {"role":"developer","content":"Be kind."},
                 {"role":"user","content":"Hello"},
                 {"role":"user","content":[{"type":"text","text":"there"}]}]}""");
        assertEquals("chat.completion", answer.get("object").asText());
        JsonNode choice = answer.get("choices").get(0);
        assertEquals("assistant", choice.get("message").get("role").asText());
        assertEquals("This is a mock answer from gemini-2.5-flash. You said: Hellothere", choice.get("message").get("content").asText());
        assertEquals("stop", choice.get("finish_reason").asText());
        assertEquals("gemini-2.5-flash", answer.get("model").asText());
        JsonNode usage = answer.get("usage");
        assertTrue(usage.get("prompt_tokens").asLong() > 0);
        assertEquals(usage.get("prompt_tokens").asLong() + usage.get("completion_tokens").asLong(), usage.get("total_tokens").asLong());

        StandInServer.Request raw = lastRequest();
        assertEquals("/v1beta/models/gemini-2.5-flash:generateContent", raw.uri());
        assertEquals(KEY, raw.headers().get("x-goog-api-key"));
        JsonNode sent = lastSent();
        assertEquals("Be brief.", sent.get("systemInstruction").get("parts").get(0).get("text").asText(), "system lifted out");
        assertEquals("Be kind.", sent.get("systemInstruction").get("parts").get(1).get("text").asText(), "developer too");
        assertEquals(1, sent.get("contents").size(), "the two user turns are merged");
        assertEquals("user", sent.get("contents").get(0).get("role").asText());
        assertEquals(2, sent.get("contents").get(0).get("parts").size());
        JsonNode config = sent.get("generationConfig");
        assertEquals(0.2, config.get("temperature").asDouble());
        assertEquals(0.9, config.get("topP").asDouble());
        assertEquals(50, config.get("maxOutputTokens").asInt());
        assertEquals("NEVER", config.get("stopSequences").get(0).asText());
        assertEquals(7, config.get("seed").asInt());
        assertEquals(0.1, config.get("presencePenalty").asDouble());
        assertEquals(0.2, config.get("frequencyPenalty").asDouble());
        assertFalse(sent.has("model"), "the model is in the path");
        assertFalse(sent.has("messages"));
    }

    @Test
    void anAssistantTurnIsTheModelsAndMaxTokensCutsTheAnswer() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", ""));
        JsonNode answer = post("""
                {"model":"flash","max_completion_tokens":3,"messages":[
                 {"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Again"}]}""");
        assertEquals("length", answer.get("choices").get(0).get("finish_reason").asText());
        assertEquals("This is a", answer.get("choices").get(0).get("message").get("content").asText());
        JsonNode contents = lastSent().get("contents");
        assertEquals(3, contents.size());
        assertEquals("model", contents.get(1).get("role").asText());
        assertEquals(3, lastSent().get("generationConfig").get("maxOutputTokens").asInt());
    }

    @Test
    void severalChoicesThoughtsAndCachedContent() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", ""));
        JsonNode answer = post("""
                {"model":"flash","n":2,"reasoning_effort":"low","cachedContent":"cachedContents/abc",
                 "messages":[{"role":"user","content":"Think"}]}""");
        assertEquals(2, answer.get("choices").size());
        assertEquals(1, answer.get("choices").get(1).get("index").asInt());
        JsonNode message = answer.get("choices").get(0).get("message");
        assertEquals("Thinking about: Think", message.get("reasoning_content").asText());
        assertTrue(message.get("content").asText().endsWith("You said: Think"));
        JsonNode usage = answer.get("usage");
        assertEquals(1000, usage.get("prompt_tokens_details").get("cached_tokens").asLong());
        assertTrue(usage.get("prompt_tokens").asLong() > 1000, "the prompt counts its cached part");
        long reasoning = usage.get("completion_tokens_details").get("reasoning_tokens").asLong();
        assertTrue(reasoning > 0);
        assertTrue(usage.get("completion_tokens").asLong() > reasoning, "completion counts the thoughts too");
        JsonNode sent = lastSent();
        assertEquals(2, sent.get("generationConfig").get("candidateCount").asInt());
        assertEquals(1024, sent.get("generationConfig").get("thinkingConfig").get("thinkingBudget").asInt());
        assertTrue(sent.get("generationConfig").get("thinkingConfig").get("includeThoughts").asBoolean());
        assertEquals("cachedContents/abc", sent.get("cachedContent").asText(), "Gemini's own member passes through");
    }

    static final String TOOLS = """
            "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city",
              "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}]""";

    @Test
    void toolCallsGoOutAndTheirResultsComeBack() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", ""));
        JsonNode answer = post("{\"model\":\"flash\"," + TOOLS
                + ",\"tool_choice\":\"required\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}]}");
        JsonNode choice = answer.get("choices").get(0);
        assertEquals("tool_calls", choice.get("finish_reason").asText());
        assertTrue(choice.get("message").get("content").isNull());
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertEquals("function", call.get("type").asText());
        assertEquals("get_weather", call.get("function").get("name").asText());
        assertTrue(call.get("id").asText().startsWith("call_"));
        assertEquals("mock city", JSON.readTree(call.get("function").get("arguments").asText()).get("city").asText());
        JsonNode sent = lastSent();
        assertEquals("ANY", sent.get("toolConfig").get("functionCallingConfig").get("mode").asText());
        JsonNode declaration = sent.get("tools").get(0).get("functionDeclarations").get(0);
        assertEquals("get_weather", declaration.get("name").asText());
        assertFalse(declaration.get("parameters").has("additionalProperties"), "a keyword Gemini refuses is left out");

        String id = call.get("id").asText();
        JsonNode followUp = post("{\"model\":\"flash\"," + TOOLS + ",\"messages\":["
                + "{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" + call + "]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"" + id + "\",\"content\":\"{\\\"temp\\\":18}\"}]}");
        assertTrue(followUp.get("choices").get(0).get("message").get("content").asText().contains("The tool said: {\"temp\":18}"),
                followUp.toString());
        JsonNode turns = lastSent().get("contents");
        assertEquals("model", turns.get(1).get("role").asText());
        assertEquals("mock city", turns.get(1).get("parts").get(0).get("functionCall").get("args").get("city").asText());
        JsonNode response = turns.get(2).get("parts").get(0).get("functionResponse");
        assertEquals("user", turns.get(2).get("role").asText());
        assertEquals("get_weather", response.get("name").asText(), "the name looked up from the call's id");
        assertEquals(18, response.get("response").get("content").get("temp").asInt(), "JSON content as an object");
    }

    @Test
    void aNamedToolChoiceAllowsThatFunctionOnly() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", ""));
        post("{\"model\":\"flash\"," + TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}]}");
        JsonNode calling = lastSent().get("toolConfig").get("functionCallingConfig");
        assertEquals("ANY", calling.get("mode").asText());
        assertEquals("get_weather", calling.get("allowedFunctionNames").get(0).asText());
    }

    @Test
    void imagesGoAsInlineDataOrFileData() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", "tags = [vision]"));
        JsonNode answer = post("""
                {"model":"flash","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},
                 {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
                 {"type":"image_url","image_url":{"url":"https://example.com/cat.webp?size=2"}},
                 {"type":"image_url","image_url":{"url":"gs://bucket/photo"}}]}]}""");
        assertTrue(answer.get("choices").get(0).get("message").get("content").asText().contains("I see 3 images"));
        JsonNode parts = lastSent().get("contents").get(0).get("parts");
        assertEquals("image/png", parts.get(1).get("inlineData").get("mimeType").asText());
        assertEquals("iVBORw0KGgo=", parts.get(1).get("inlineData").get("data").asText());
        assertEquals("https://example.com/cat.webp?size=2", parts.get(2).get("fileData").get("fileUri").asText());
        assertEquals("image/webp", parts.get(2).get("fileData").get("mimeType").asText(), "guessed from the extension");
        assertEquals("image/jpeg", parts.get(3).get("fileData").get("mimeType").asText(), "JPEG when there is none");
    }

    @Test
    void jsonModeAsksForJsonAndASchemaGeminiTakes() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", ""));
        JsonNode answer = post("""
                {"model":"flash","response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":
                 {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
                  "properties":{"name":{"type":"string"},"age":{"type":"integer"},"nick":{"type":["string","null"]}},"required":["name","age"]}}},
                 "messages":[{"role":"user","content":"Invent a person"}]}""");
        JsonNode person = JSON.readTree(answer.get("choices").get(0).get("message").get("content").asText());
        assertEquals("mock name", person.get("name").asText());
        assertEquals(1, person.get("age").asInt());
        JsonNode config = lastSent().get("generationConfig");
        assertEquals("application/json", config.get("responseMimeType").asText());
        JsonNode schema = config.get("responseSchema");
        assertFalse(schema.has("additionalProperties"));
        assertFalse(schema.has("$schema"));
        assertEquals("string", schema.get("properties").get("nick").get("type").asText());
        assertTrue(schema.get("properties").get("nick").get("nullable").asBoolean());

        JsonNode plain = post("""
                {"model":"flash","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"JSON please"}]}""");
        assertTrue(JSON.readTree(plain.get("choices").get(0).get("message").get("content").asText()).has("answer"));
        assertEquals("application/json", lastSent().get("generationConfig").get("responseMimeType").asText());
        assertNull(lastSent().get("generationConfig").get("responseSchema"));
    }

    @Test
    void aStreamIsTranslatedEventByEventWithUsageOnlyWhenAsked() throws Exception {
        gatewayWith("nemo.keys.master_key = \"" + MASTER + "\"", entry("flash", "gemini-2.5-flash", ""));
        String body = "{\"model\":\"flash\",\"stream\":true,%s\"messages\":[{\"role\":\"user\",\"content\":\"one two three\"}]}";
        for (boolean usage : new boolean[]{false, true}) {
            HttpResponse<String> r = gw.post("/v1/chat/completions",
                    String.format(body, usage ? "\"stream_options\":{\"include_usage\":true}," : ""), "authorization", "Bearer " + MASTER);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            assertEquals("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", lastRequest().uri());
            List<String> events = AnthropicTest.data(r.body());
            assertEquals("[DONE]", events.get(events.size() - 1));
            StringBuilder text = new StringBuilder();
            String finish = null;
            JsonNode usageChunk = null;
            JsonNode first = JSON.readTree(events.get(0)).get("choices").get(0).get("delta");
            assertEquals("assistant", first.get("role").asText(), "the role chunk first");
            int contentChunks = 0;
            for (String e : events.subList(0, events.size() - 1)) {
                JsonNode chunk = JSON.readTree(e);
                assertEquals("chat.completion.chunk", chunk.get("object").asText());
                if (chunk.get("choices").isEmpty()) {
                    usageChunk = chunk.get("usage");
                    continue;
                }
                JsonNode c = chunk.get("choices").get(0);
                if (!c.get("delta").path("content").asText("").isEmpty()) {
                    contentChunks++;
                }
                text.append(c.get("delta").path("content").asText(""));
                if (!c.get("finish_reason").isNull()) {
                    finish = c.get("finish_reason").asText();
                }
            }
            assertEquals("This is a mock answer from gemini-2.5-flash. You said: one two three", text.toString());
            assertTrue(contentChunks > 5, "one chunk per event");
            assertEquals("stop", finish);
            if (usage) {
                assertNotNull(usageChunk, "usage asked for");
                assertTrue(usageChunk.get("completion_tokens").asLong() > 0);
                assertTrue(usageChunk.get("prompt_tokens").asLong() > 0);
            } else {
                assertNull(usageChunk, "usage not asked for");
            }
        }
        JsonNode logs = gw.awaitLogs(2, MASTER);
        assertEquals(2, logs.size());
        for (JsonNode record : logs) {
            assertTrue(record.get("output_tokens").asLong() > 0, "the usage of the unasked stream is known too: " + record);
        }
    }

    @Test
    void aStreamedFunctionCallArrivesWhole() throws Exception {
        gateway(entry("flash", "gemini-2.5-flash", ""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", """
                {"model":"flash","stream":true,"tools":[{"type":"function","function":{"name":"lookup",
                 "parameters":{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}}}}}],
                 "messages":[{"role":"user","content":"Find it"}]}""");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode call = null;
        String finish = null;
        for (String e : AnthropicTest.data(r.body())) {
            if (e.equals("[DONE]")) {
                continue;
            }
            JsonNode c = JSON.readTree(e).get("choices").get(0);
            if (c.get("delta").has("tool_calls")) {
                assertNull(call, "one chunk for the whole call");
                call = c.get("delta").get("tool_calls").get(0);
            }
            if (!c.get("finish_reason").isNull()) {
                finish = c.get("finish_reason").asText();
            }
        }
        assertNotNull(call, r.body());
        assertEquals(0, call.get("index").asInt());
        assertTrue(call.get("id").asText().startsWith("call_"));
        assertEquals("lookup", call.get("function").get("name").asText());
        JsonNode args = JSON.readTree(call.get("function").get("arguments").asText());
        assertEquals("mock query", args.get("query").asText());
        assertEquals(1, args.get("limit").asInt());
        assertEquals("tool_calls", finish);
    }

    @Test
    void errorsComeBackInOpenAisEnvelopeWithGooglesStatusAsTheCode() throws Exception {
        gateway(entry("busy", "gemini-fail-429", ""), entry("bad", "gemini-fail-400", ""),
                entry("wrongkey", "gemini-2.5-flash", "api_key = \"nope\""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("busy", false));
        assertEquals(429, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertEquals("RESOURCE_EXHAUSTED", e.get("code").asText());
        assertEquals("invalid_request_error", e.get("type").asText());
        assertTrue(e.get("message").asText().contains("Scripted failure"));
        r = gw.post("/v1/chat/completions", TestGateway.chat("bad", true));
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("INVALID_ARGUMENT", JSON.readTree(r.body()).get("error").get("code").asText());
        r = gw.post("/v1/chat/completions", TestGateway.chat("wrongkey", false));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(JSON.readTree(r.body()).get("error").get("message").asText().contains("API key not valid"));
    }

    @Test
    void aStreamBrokenByAnErrorEventOrCutShortEndsWithAnErrorEvent() throws Exception {
        gateway(entry("broken", "gemini-midstream-error", ""), entry("cut", "gemini-midstream-cut", ""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("broken", true));
        assertEquals(200, r.statusCode());
        List<String> events = AnthropicTest.data(r.body());
        JsonNode last = JSON.readTree(events.get(events.size() - 1));
        assertEquals("UNAVAILABLE", last.get("error").get("code").asText(), r.body());
        assertFalse(r.body().contains("[DONE]"));
        assertTrue(JSON.readTree(events.get(1)).get("choices").get(0).get("delta").get("content").asText().startsWith("This"));

        r = gw.post("/v1/chat/completions", TestGateway.chat("cut", true)); // the same connection: a broken stream ends whole
        assertEquals(200, r.statusCode());
        events = AnthropicTest.data(r.body());
        last = JSON.readTree(events.get(events.size() - 1));
        assertEquals("upstream_stream_broken", last.get("error").get("code").asText(), r.body());
        assertFalse(r.body().contains("[DONE]"));
    }

    @Test
    void whatGeminiCannotHonourIsDroppedAndNamedOrRefused() throws Exception {
        gatewayWith("nemo.keys.master_key = \"" + MASTER + "\"", entry("flash", "gemini-2.5-flash", ""),
                entry("strict", "gemini-2.5-flash", "drop_params = false"));
        String body = "{\"model\":\"%s\",\"logit_bias\":{\"1\":2},\"service_tier\":\"flex\","
                + "\"safetySettings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\",\"threshold\":\"BLOCK_NONE\"}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", String.format(body, "flash"), "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("logit_bias,service_tier", r.headers().firstValue("x-nemo-dropped-params").orElse(null));
        JsonNode sent = lastSent();
        assertFalse(sent.has("logit_bias"));
        assertFalse(sent.has("service_tier"));
        assertEquals("BLOCK_NONE", sent.get("safetySettings").get(0).get("threshold").asText(), "Gemini's own member passes through");

        int before = gemini.requests().size();
        r = gw.post("/v1/chat/completions", String.format(body, "strict"), "authorization", "Bearer " + MASTER);
        assertEquals(400, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertEquals("unsupported_parameter", e.get("code").asText());
        assertEquals("logit_bias", e.get("param").asText());
        assertEquals(before, gemini.requests().size(), "nothing sent");
    }

    @Test
    void embeddingsAsFloatsOrBase64() throws Exception {
        gateway(entry("embed", "gemini-embedding-001", "tags = [embedding]"));
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"embed\",\"input\":\"hello world\",\"dimensions\":8}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode one = JSON.readTree(r.body());
        assertEquals("list", one.get("object").asText());
        assertEquals("embedding", one.get("data").get(0).get("object").asText());
        assertEquals(8, one.get("data").get(0).get("embedding").size());
        assertEquals(3, one.get("usage").get("prompt_tokens").asLong(), "11 characters, about 3 tokens");
        assertEquals("/v1beta/models/gemini-embedding-001:embedContent", lastRequest().uri());
        assertEquals(8, lastSent().get("outputDimensionality").asInt());
        assertEquals("hello world", lastSent().get("content").get("parts").get(0).get("text").asText());

        r = gw.post("/v1/embeddings", "{\"model\":\"embed\",\"input\":[\"hello world\",\"bye\"],\"dimensions\":8,\"encoding_format\":\"base64\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode batch = JSON.readTree(r.body());
        assertEquals("/v1beta/models/gemini-embedding-001:batchEmbedContents", lastRequest().uri());
        assertEquals("models/gemini-embedding-001", lastSent().get("requests").get(1).get("model").asText());
        assertEquals(2, batch.get("data").size());
        assertEquals(1, batch.get("data").get(1).get("index").asInt());
        ByteBuffer floats = ByteBuffer.wrap(Base64.getDecoder().decode(batch.get("data").get(0).get("embedding").asText()))
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(8 * 4, floats.remaining());
        for (int i = 0; i < 8; i++) {
            assertEquals(one.get("data").get(0).get("embedding").get(i).asDouble(), floats.getFloat(), 1e-6,
                    "the same vector, as little-endian float32");
        }
    }

    @Test
    void aFailingGeminiDeploymentFallsBackToAnAnthropicOne() throws Exception {
        try (StandInServer anthropic = new StandInServer("anthropic", "sk-ant-test", 0)) {
            gatewayWith("nemo.router { num_retries = 0, groups { \"g\" { fallbacks = [\"a\"] } } }",
                    entry("g", "gemini-fail-503", ""),
                    "{ name = \"a\", provider = anthropic, model = \"claude-sonnet-4-5\", api_base = \"http://127.0.0.1:"
                            + anthropic.port() + "\", api_key = \"sk-ant-test\" }");
            HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("g", false));
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText().contains("claude-sonnet-4-5"));
            assertEquals(1, gemini.requests().size(), "Gemini was tried first");
            assertEquals(1, anthropic.requests().size());
            assertTrue(r.headers().firstValue("x-nemo-model").orElse("").startsWith("anthropic/"), r.headers().toString());

            r = gw.post("/v1/chat/completions", TestGateway.chat("g", true));
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("claude-sonnet-4-5") && r.body().contains("[DONE]"), r.body());
        }
    }
}
