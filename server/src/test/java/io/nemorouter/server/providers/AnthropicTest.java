package io.nemorouter.server.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.providers.standin.StandInServer;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code provider = anthropic} through a real gateway, in front of the Anthropic stand-in (which is
 * as strict as the real API about what it takes): requests are translated to the Messages API and
 * answers, streams and errors back to OpenAI's shapes.
 */
class AnthropicTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-anthropic-test";
    StandInServer anthropic;
    TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        anthropic = new StandInServer("anthropic", "sk-ant-test", 0);
    }

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        anthropic.close();
    }

    String entry(String name, String model, String extra) {
        return "{ name = \"" + name + "\", provider = anthropic, model = \"" + model + "\", api_base = \"http://127.0.0.1:"
                + anthropic.port() + "\", api_key = \"sk-ant-test\"" + (extra.isEmpty() ? "" : ", " + extra) + " }";
    }

    void gateway(String... entries) throws Exception {
        gatewayWith("", entries);
    }

    void gatewayWith(String config, String... entries) throws Exception {
        gw = TestGateway.builder().config("nemo.cache.enabled = false\n" + config + "\nnemo.models = [" + String.join(",", entries) + "]\n").start();
    }

    JsonNode post(String body) throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    JsonNode lastSent() throws Exception {
        List<StandInServer.Request> all = anthropic.requests();
        return JSON.readTree(all.get(all.size() - 1).body());
    }

    @Test
    void aChatIsTranslatedBothWays() throws Exception {
        gateway(entry("claude", "claude-sonnet-4-5", ""));
        JsonNode answer = post("""
                {"model":"claude","temperature":0.2,"stop":"NEVER","user":"u-1","messages":[
                 {"role":"system","content":"Be brief."},
                 {"role":"user","content":"Hello"},
                 {"role":"user","content":[{"type":"text","text":"there"}]}]}""");
        assertEquals("chat.completion", answer.get("object").asText());
        JsonNode choice = answer.get("choices").get(0);
        assertEquals("assistant", choice.get("message").get("role").asText());
        assertEquals("This is a mock answer from claude-sonnet-4-5. You said: Hellothere", choice.get("message").get("content").asText());
        assertEquals("stop", choice.get("finish_reason").asText());
        JsonNode usage = answer.get("usage");
        assertTrue(usage.get("prompt_tokens").asLong() > 0);
        assertEquals(usage.get("prompt_tokens").asLong() + usage.get("completion_tokens").asLong(), usage.get("total_tokens").asLong());

        JsonNode sent = lastSent();
        assertEquals("Be brief.", sent.get("system").asText(), "system lifted out");
        assertEquals(1, sent.get("messages").size(), "the two user turns are merged");
        assertEquals(2, sent.get("messages").get(0).get("content").size());
        assertEquals(64000, sent.get("max_tokens").asLong(), "max_tokens from the price table's maximum output");
        assertEquals("NEVER", sent.get("stop_sequences").get(0).asText());
        assertEquals("u-1", sent.get("metadata").get("user_id").asText());
        assertEquals(0.2, sent.get("temperature").asDouble());
        StandInServer.Request raw = anthropic.requests().get(0);
        assertEquals("sk-ant-test", raw.headers().get("x-api-key"));
        assertEquals("2023-06-01", raw.headers().get("anthropic-version"));
        assertEquals("/v1/messages", raw.uri());
    }

    @Test
    void toolCallsGoOutAndTheirResultsComeBack() throws Exception {
        gateway(entry("claude", "claude-sonnet-4-5", ""));
        String tools = """
                "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city",
                  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""";
        JsonNode answer = post("{\"model\":\"claude\",\"max_tokens\":100," + tools
                + ",\"tool_choice\":\"required\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}]}");
        JsonNode choice = answer.get("choices").get(0);
        assertEquals("tool_calls", choice.get("finish_reason").asText());
        assertTrue(choice.get("message").get("content").isNull());
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertEquals("function", call.get("type").asText());
        assertEquals("get_weather", call.get("function").get("name").asText());
        assertEquals("mock city", JSON.readTree(call.get("function").get("arguments").asText()).get("city").asText());
        JsonNode sent = lastSent();
        assertEquals("any", sent.get("tool_choice").get("type").asText());
        assertEquals("city", sent.get("tools").get(0).get("input_schema").get("required").get(0).asText());

        String id = call.get("id").asText();
        JsonNode followUp = post("{\"model\":\"claude\",\"max_tokens\":100," + tools + ",\"messages\":["
                + "{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" + call + "]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"" + id + "\",\"content\":\"18C and sunny\"}]}");
        assertTrue(followUp.get("choices").get(0).get("message").get("content").asText().contains("The tool said: 18C and sunny"));
        JsonNode turns = lastSent().get("messages");
        assertEquals("tool_use", turns.get(1).get("content").get(0).get("type").asText());
        assertEquals("mock city", turns.get(1).get("content").get(0).get("input").get("city").asText());
        assertEquals("tool_result", turns.get(2).get("content").get(0).get("type").asText());
        assertEquals(id, turns.get(2).get("content").get(0).get("tool_use_id").asText());
    }

    @Test
    void imagesGoAsBase64OrUrlSources() throws Exception {
        gateway(entry("claude", "claude-sonnet-4-5", "tags = [vision]"));
        JsonNode answer = post("""
                {"model":"claude","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},
                 {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
                 {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]}""");
        assertTrue(answer.get("choices").get(0).get("message").get("content").asText().contains("I see 2 images"));
        JsonNode blocks = lastSent().get("messages").get(0).get("content");
        assertEquals("base64", blocks.get(1).get("source").get("type").asText());
        assertEquals("image/png", blocks.get(1).get("source").get("media_type").asText());
        assertEquals("iVBORw0KGgo=", blocks.get(1).get("source").get("data").asText());
        assertEquals("url", blocks.get(2).get("source").get("type").asText());
        assertEquals("https://example.com/cat.jpg", blocks.get(2).get("source").get("url").asText());
    }

    @Test
    void jsonModeIsAForcedToolWhoseInputIsTheAnswer() throws Exception {
        gateway(entry("claude", "claude-sonnet-4-5", ""));
        JsonNode answer = post("""
                {"model":"claude","response_format":{"type":"json_schema","json_schema":{"name":"person","schema":
                 {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}}},
                 "messages":[{"role":"user","content":"Invent a person"}]}""");
        JsonNode choice = answer.get("choices").get(0);
        assertEquals("stop", choice.get("finish_reason").asText());
        assertNull(choice.get("message").get("tool_calls"));
        JsonNode person = JSON.readTree(choice.get("message").get("content").asText());
        assertEquals("mock name", person.get("name").asText());
        assertEquals(1, person.get("age").asInt());
        assertEquals("tool", lastSent().get("tool_choice").get("type").asText());
    }

    /** The data lines of an SSE body, without the {@code data: } prefix. */
    static List<String> data(String sse) {
        List<String> out = new ArrayList<>();
        for (String line : sse.split("\n")) {
            if (line.startsWith("data: ")) {
                out.add(line.substring(6));
            }
        }
        return out;
    }

    @Test
    void aStreamIsTranslatedEventByEventWithUsageOnlyWhenAsked() throws Exception {
        gatewayWith("nemo.keys.master_key = \"" + MASTER + "\"", entry("claude", "claude-sonnet-4-5", ""));
        String body = "{\"model\":\"claude\",\"stream\":true,%s\"messages\":[{\"role\":\"user\",\"content\":\"one two three\"}]}";
        for (boolean usage : new boolean[]{false, true}) {
            HttpResponse<String> r = gw.post("/v1/chat/completions",
                    String.format(body, usage ? "\"stream_options\":{\"include_usage\":true}," : ""), "authorization", "Bearer " + MASTER);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            List<String> events = data(r.body());
            assertEquals("[DONE]", events.get(events.size() - 1));
            StringBuilder text = new StringBuilder();
            String finish = null;
            JsonNode usageChunk = null;
            for (String e : events.subList(0, events.size() - 1)) {
                JsonNode chunk = JSON.readTree(e);
                assertEquals("chat.completion.chunk", chunk.get("object").asText());
                if (chunk.get("choices").isEmpty()) {
                    usageChunk = chunk.get("usage");
                    continue;
                }
                JsonNode c = chunk.get("choices").get(0);
                text.append(c.get("delta").path("content").asText(""));
                if (!c.get("finish_reason").isNull()) {
                    finish = c.get("finish_reason").asText();
                }
            }
            assertEquals("This is a mock answer from claude-sonnet-4-5. You said: one two three", text.toString());
            assertEquals("stop", finish);
            if (usage) {
                assertNotNull(usageChunk, "usage asked for");
                assertTrue(usageChunk.get("completion_tokens").asLong() > 0);
            } else {
                assertNull(usageChunk, "usage not asked for");
            }
        }
        // the gateway asked for the events Anthropic sends anyway; the cost of the unasked stream is known too
        JsonNode logs = gw.awaitLogs(2, MASTER);
        assertEquals(2, logs.size());
        for (JsonNode record : logs) {
            assertTrue(record.get("output_tokens").asLong() > 0, record.toString());
        }
    }

    @Test
    void aStreamedToolCallArrivesAsArgumentDeltas() throws Exception {
        gateway(entry("claude", "claude-sonnet-4-5", ""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", """
                {"model":"claude","stream":true,"tools":[{"type":"function","function":{"name":"lookup",
                 "parameters":{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}}}}}],
                 "messages":[{"role":"user","content":"Find it"}]}""");
        assertEquals(200, r.statusCode(), r.body());
        StringBuilder arguments = new StringBuilder();
        String name = null;
        String finish = null;
        int argumentChunks = 0;
        for (String e : data(r.body())) {
            if (e.equals("[DONE]")) {
                continue;
            }
            JsonNode c = JSON.readTree(e).get("choices").get(0);
            JsonNode calls = c.get("delta").get("tool_calls");
            if (calls != null) {
                assertEquals(0, calls.get(0).get("index").asInt());
                JsonNode fn = calls.get(0).get("function");
                if (fn.has("name")) {
                    name = fn.get("name").asText();
                }
                if (!fn.path("arguments").asText().isEmpty()) {
                    argumentChunks++;
                }
                arguments.append(fn.path("arguments").asText());
            }
            if (!c.get("finish_reason").isNull()) {
                finish = c.get("finish_reason").asText();
            }
        }
        assertEquals("lookup", name);
        assertEquals("tool_calls", finish);
        assertTrue(argumentChunks >= 2, "one chunk per input_json_delta");
        JsonNode args = JSON.readTree(arguments.toString());
        assertEquals("mock query", args.get("query").asText());
        assertEquals(1, args.get("limit").asInt());
    }

    @Test
    void errorsComeBackInOpenAisEnvelopeAndOverloadedIsA503() throws Exception {
        gateway(entry("overloaded", "claude-fail-529", ""), entry("bad", "claude-fail-400", ""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("overloaded", false));
        assertEquals(503, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertEquals("overloaded_error", e.get("code").asText());
        assertTrue(e.get("message").asText().contains("Scripted failure"));
        r = gw.post("/v1/chat/completions", TestGateway.chat("bad", true));
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("invalid_request_error", JSON.readTree(r.body()).get("error").get("type").asText());
    }

    @Test
    void anOverloadedDeploymentFallsBackToTheNextInItsGroup() throws Exception {
        gatewayWith("nemo.router.num_retries = 1", entry("claude", "claude-fail-529", "id = \"first\""),
                entry("claude", "claude-sonnet-4-5", "id = \"second\""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("claude", false));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText().contains("claude-sonnet-4-5"));
    }

    @Test
    void aStreamBrokenByAnErrorEventEndsWithAnErrorEvent() throws Exception {
        gateway(entry("claude", "claude-midstream-error", ""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("claude", true));
        assertEquals(200, r.statusCode());
        List<String> events = data(r.body());
        JsonNode last = JSON.readTree(events.get(events.size() - 1));
        assertEquals("overloaded_error", last.get("error").get("code").asText(), r.body());
        assertFalse(r.body().contains("[DONE]"));
        assertTrue(JSON.readTree(events.get(1)).get("choices").get(0).get("delta").get("content").asText().startsWith("This"));
    }

    @Test
    void whatAnthropicCannotHonourIsDroppedAndNamedOrRefused() throws Exception {
        gatewayWith("nemo.keys.master_key = \"" + MASTER + "\"", entry("claude", "claude-sonnet-4-5", ""),
                entry("strict", "claude-sonnet-4-5", "drop_params = false"));
        String body = "{\"model\":\"%s\",\"frequency_penalty\":0.5,\"seed\":7,\"top_k\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", String.format(body, "claude"), "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("frequency_penalty,seed", r.headers().firstValue("x-nemo-dropped-params").orElse(null));
        JsonNode logged = gw.awaitLogs(1, MASTER);
        assertEquals("[\"frequency_penalty\",\"seed\"]", logged.get(0).get("dropped_params").toString());
        JsonNode sent = lastSent();
        assertFalse(sent.has("frequency_penalty"));
        assertFalse(sent.has("seed"));
        assertEquals(5, sent.get("top_k").asInt(), "Anthropic's own member passes through");

        int before = anthropic.requests().size();
        r = gw.post("/v1/chat/completions", String.format(body, "strict"), "authorization", "Bearer " + MASTER);
        assertEquals(400, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertEquals("unsupported_parameter", e.get("code").asText());
        assertEquals("frequency_penalty", e.get("param").asText());
        assertEquals(before, anthropic.requests().size(), "nothing sent");
    }

    @Test
    void promptCachingPassesThroughAndIsPricedAtTheCachedRate() throws Exception {
        gateway(entry("claude", "claude-sonnet-4-5", ""));
        String body = """
                {"model":"claude","messages":[{"role":"system","content":[{"type":"text","text":"%s","cache_control":{"type":"ephemeral"}}]},
                 {"role":"user","content":"hi"}]}""".formatted("A long shared context. ".repeat(200));
        HttpResponse<String> first = gw.post("/v1/chat/completions", body);
        HttpResponse<String> second = gw.post("/v1/chat/completions", body);
        assertEquals(200, second.statusCode(), second.body());
        JsonNode sent = lastSent();
        assertEquals("ephemeral", sent.get("system").get(0).get("cache_control").get("type").asText());
        JsonNode u1 = JSON.readTree(first.body()).get("usage");
        JsonNode u2 = JSON.readTree(second.body()).get("usage");
        assertTrue(u1.get("cache_creation_input_tokens").asLong() > 1000, u1.toString());
        assertEquals(0, u1.get("prompt_tokens_details").get("cached_tokens").asLong());
        assertTrue(u2.get("prompt_tokens_details").get("cached_tokens").asLong() > 1000, u2.toString());
        assertEquals(u1.get("prompt_tokens").asLong(), u2.get("prompt_tokens").asLong());
        double cost1 = Double.parseDouble(first.headers().firstValue("x-nemo-response-cost").orElseThrow());
        double cost2 = Double.parseDouble(second.headers().firstValue("x-nemo-response-cost").orElseThrow());
        assertTrue(cost2 < cost1 / 3, "a cache read costs a tenth of the input rate: " + cost1 + " vs " + cost2);
        // claude-sonnet-4-5: input 3.00, cache write 3.75, cache read 0.30, output 15.00 per million
        long write = u1.get("cache_creation_input_tokens").asLong();
        assertEquals(((u1.get("prompt_tokens").asLong() - write) * 3.00 + write * 3.75 + u1.get("completion_tokens").asLong() * 15.00) / 1e6,
                cost1, 1e-9, "a cache write is billed at 1.25 times the input rate");
        long read = u2.get("prompt_tokens_details").get("cached_tokens").asLong();
        assertEquals(((u2.get("prompt_tokens").asLong() - read) * 3.00 + read * 0.30 + u2.get("completion_tokens").asLong() * 15.00) / 1e6,
                cost2, 1e-9);
    }

    @Test
    void aStreamIsRelayedAsItArrivesNotWhenItEnds() throws Exception {
        anthropic.close();
        anthropic = new StandInServer("anthropic", "sk-ant-test", 150);
        gateway(entry("claude", "claude-sonnet-4-5", ""));
        HttpRequest req = HttpRequest.newBuilder(URI.create(gw.base() + "/v1/chat/completions"))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(TestGateway.chat("claude", true))).build();
        long start = System.nanoTime();
        HttpResponse<Stream<String>> r = gw.http().send(req, HttpResponse.BodyHandlers.ofLines());
        long firstContent = 0;
        long last = 0;
        for (String line : (Iterable<String>) r.body()::iterator) {
            if (line.contains("\"content\":\"This\"") && firstContent == 0) {
                firstContent = System.nanoTime();
            }
            last = System.nanoTime();
        }
        assertTrue(firstContent > 0);
        // 20-odd events 150 ms apart: the first words arrive more than a second before the last
        assertTrue(last - firstContent > 1_000_000_000L, "first " + (firstContent - start) / 1e6 + " ms, last " + (last - start) / 1e6 + " ms");
    }
}
