package io.nemorouter.server.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.providers.standin.StandInServer;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /v1/responses}: passed through to a deployment that speaks it (an OpenAI-compatible
 * upstream), bridged to chat completions for one that does not (the mock, Anthropic), whole and
 * streamed, with usage and the request log; {@code /v1/completions} passed through.
 */
class ResponsesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-responses-test";
    StandInServer anthropic;
    ScriptableUpstream openai;
    TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        anthropic = new StandInServer("anthropic", "k", 0);
        openai = new ScriptableUpstream();
        openai.otherwise((req, reply) -> reply.json(200, req.uri().endsWith("/completions") && !req.uri().contains("chat")
                ? "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"gpt-3.5-turbo-instruct\",\"choices\":[{\"text\":\" world\",\"index\":0,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1,\"total_tokens\":3}}"
                : "{\"id\":\"resp_up\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-4.1\",\"output\":[{\"type\":\"message\",\"id\":\"msg_1\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"native\",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":7,\"output_tokens\":3,\"total_tokens\":10}}"));
        gw = TestGateway.builder().config("nemo.cache.enabled = false\nnemo.keys.master_key = \"" + MASTER + "\"\nnemo.models = ["
                + "{ name = \"mock\", provider = mock },"
                + "{ name = \"claude\", provider = anthropic, model = \"claude-sonnet-4-5\", api_base = \"http://127.0.0.1:" + anthropic.port() + "\", api_key = \"k\" },"
                + "{ name = \"native\", provider = openai, model = \"gpt-4.1\", api_base = \"" + openai.apiBase() + "\", api_key = \"sk-up\" }]").start();
    }

    @AfterEach
    void stop() {
        gw.close();
        anthropic.close();
        openai.close();
    }

    HttpResponse<String> post(String path, String body) throws Exception {
        return gw.post(path, body, "authorization", "Bearer " + MASTER);
    }

    @Test
    void aResponseFromAChatOnlyModel() throws Exception {
        HttpResponse<String> r = post("/v1/responses", """
                {"model":"mock","instructions":"Be brief.","input":"Hello responses","max_output_tokens":200}""");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode resp = JSON.readTree(r.body());
        assertEquals("response", resp.get("object").asText());
        assertEquals("completed", resp.get("status").asText());
        assertTrue(resp.get("id").asText().startsWith("resp_"));
        JsonNode item = resp.get("output").get(0);
        assertEquals("message", item.get("type").asText());
        assertEquals("output_text", item.get("content").get(0).get("type").asText());
        assertTrue(item.get("content").get(0).get("text").asText().contains("Hello responses"), r.body());
        JsonNode usage = resp.get("usage");
        assertTrue(usage.get("input_tokens").asLong() > 0 && usage.get("output_tokens").asLong() > 0);
        assertEquals(usage.get("input_tokens").asLong() + usage.get("output_tokens").asLong(), usage.get("total_tokens").asLong());
        JsonNode logged = logs(1).get(0);
        assertEquals("/v1/responses", logged.get("endpoint").asText());
        assertEquals(usage.get("output_tokens").asLong(), logged.get("output_tokens").asLong(), "accounted like chat");
    }

    JsonNode logs(int n) throws Exception {
        return gw.awaitLogs(n, MASTER);
    }

    /** The events of an SSE body: each one's data as JSON, with the event name checked against its type. */
    static List<JsonNode> events(String sse) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String block : sse.split("\n\n")) {
            String name = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("event: ")) {
                    name = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    JsonNode data = JSON.readTree(line.substring(6));
                    assertEquals(name, data.get("type").asText(), "event name and type agree");
                    out.add(data);
                }
            }
        }
        return out;
    }

    @Test
    void aStreamedResponseFromAnthropicArrivesAsResponsesEvents() throws Exception {
        HttpResponse<String> r = post("/v1/responses", "{\"model\":\"claude\",\"stream\":true,\"input\":[{\"role\":\"user\","
                + "\"content\":[{\"type\":\"input_text\",\"text\":\"stream this please\"}]}]}");
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> events = events(r.body());
        assertEquals("response.created", events.get(0).get("type").asText());
        JsonNode last = events.get(events.size() - 1);
        assertEquals("response.completed", last.get("type").asText(), r.body());
        StringBuilder text = new StringBuilder();
        int deltas = 0;
        for (int i = 0; i < events.size(); i++) {
            assertEquals(i, events.get(i).get("sequence_number").asInt());
            if (events.get(i).get("type").asText().equals("response.output_text.delta")) {
                text.append(events.get(i).get("delta").asText());
                deltas++;
            }
        }
        assertTrue(deltas > 3, "one event per chunk");
        String expected = "This is a mock answer from claude-sonnet-4-5. You said: stream this please";
        assertEquals(expected, text.toString());
        JsonNode response = last.get("response");
        assertEquals(expected, response.get("output").get(0).get("content").get(0).get("text").asText());
        assertTrue(response.get("usage").get("output_tokens").asLong() > 0);
        assertTrue(logs(1).get(0).get("output_tokens").asLong() > 0, "the stream's usage is accounted");
    }

    @Test
    void functionCallsRoundTripThroughTheBridge() throws Exception {
        String tools = "\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}]";
        HttpResponse<String> r = post("/v1/responses", "{\"model\":\"claude\"," + tools + ",\"input\":\"Weather in Rome?\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode call = JSON.readTree(r.body()).get("output").get(0);
        assertEquals("function_call", call.get("type").asText());
        assertEquals("get_weather", call.get("name").asText());
        assertEquals("mock city", JSON.readTree(call.get("arguments").asText()).get("city").asText());

        r = post("/v1/responses", "{\"model\":\"claude\"," + tools + ",\"input\":[{\"role\":\"user\",\"content\":\"Weather in Rome?\"},"
                + call + ",{\"type\":\"function_call_output\",\"call_id\":\"" + call.get("call_id").asText() + "\",\"output\":\"25C\"}]}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(JSON.readTree(r.body()).get("output").get(0).get("content").get(0).get("text").asText().contains("The tool said: 25C"));
        JsonNode sent = JSON.readTree(anthropic.requests().get(1).body()).get("messages");
        assertEquals("tool_use", sent.get(1).get("content").get(0).get("type").asText());
        assertEquals("tool_result", sent.get(2).get("content").get(0).get("type").asText());

        r = post("/v1/responses", "{\"model\":\"claude\",\"stream\":true," + tools + ",\"input\":\"Weather in Rome?\"}");
        StringBuilder args = new StringBuilder();
        JsonNode done = null;
        for (JsonNode e : events(r.body())) {
            switch (e.get("type").asText()) {
                case "response.function_call_arguments.delta" -> args.append(e.get("delta").asText());
                case "response.output_item.done" -> done = e.get("item");
                default -> {
                }
            }
        }
        assertEquals("mock city", JSON.readTree(args.toString()).get("city").asText());
        assertEquals(args.toString(), done.get("arguments").asText());
        assertEquals("completed", done.get("status").asText());
    }

    @Test
    void aDeploymentThatSpeaksTheApiGetsItAsSent() throws Exception {
        String body = "{\"model\":\"native\",\"input\":\"hi\",\"store\":false,\"include\":[\"reasoning.encrypted_content\"]}";
        HttpResponse<String> r = post("/v1/responses", body);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("native", JSON.readTree(r.body()).get("output").get(0).get("content").get(0).get("text").asText());
        assertEquals("/v1/responses", openai.last().uri());
        JsonNode sent = openai.last().json();
        assertEquals("gpt-4.1", sent.get("model").asText());
        assertEquals("hi", sent.get("input").asText());
        assertTrue(sent.has("include"), "passed through untouched");
        assertEquals(3, logs(1).get(0).get("output_tokens").asLong());

        r = post("/v1/completions", "{\"model\":\"native\",\"prompt\":\"hello\"}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("/v1/completions", openai.last().uri());
        assertEquals(" world", JSON.readTree(r.body()).get("choices").get(0).get("text").asText());
    }

    @Test
    void whatTheBridgeCannotCarryIsA400() throws Exception {
        HttpResponse<String> r = post("/v1/responses", "{\"model\":\"mock\",\"previous_response_id\":\"resp_1\",\"input\":\"and then?\"}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("previous_response_id", JSON.readTree(r.body()).get("error").get("param").asText());
        r = post("/v1/responses", "{\"model\":\"mock\",\"tools\":[{\"type\":\"web_search\"}],\"input\":\"news?\"}");
        assertEquals(400, r.statusCode(), r.body());
        r = post("/v1/completions", "{\"model\":\"claude\",\"prompt\":\"hello\"}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("unsupported_endpoint", JSON.readTree(r.body()).get("error").get("code").asText());
        assertFalse(r.body().contains("Exception"));
    }

    @Test
    void anIdenticalResponsesRequestIsACacheHitInTheFormItWasStored() throws Exception {
        try (TestGateway cached = TestGateway.builder().config("nemo.cache.enabled = true\nnemo.keys.master_key = \"" + MASTER + "\"\nnemo.models = ["
                + "{ name = \"mock\", provider = mock },"
                + "{ name = \"native\", provider = openai, model = \"gpt-4.1\", api_base = \"" + openai.apiBase() + "\", api_key = \"sk-up\" }]").start()) {
            for (String model : new String[]{"mock", "native"}) {
                String body = "{\"model\":\"" + model + "\",\"input\":\"Cache me\"}";
                HttpResponse<String> first = cached.post("/v1/responses", body, "authorization", "Bearer " + MASTER);
                HttpResponse<String> second = cached.post("/v1/responses", body, "authorization", "Bearer " + MASTER);
                assertEquals("miss", first.headers().firstValue("x-nemo-cache").orElse(null), model);
                assertEquals("hit", second.headers().firstValue("x-nemo-cache").orElse(null), model);
                assertEquals(first.body(), second.body(), model);
            }
            int upstreamCalls = openai.received().size();
            assertEquals(1, upstreamCalls, "the native deployment was called once");

            String stream = "{\"model\":\"mock\",\"stream\":true,\"input\":\"Cache my stream\"}";
            HttpResponse<String> first = cached.post("/v1/responses", stream, "authorization", "Bearer " + MASTER);
            HttpResponse<String> second = cached.post("/v1/responses", stream, "authorization", "Bearer " + MASTER);
            assertEquals("hit", second.headers().firstValue("x-nemo-cache").orElse(null));
            assertEquals(first.body(), second.body(), "the events replayed as they came, usage:null members and all");
            assertTrue(second.body().contains("\"usage\":null"), "response.created keeps its usage member");
            assertEquals("response.completed", events(second.body()).get(events(second.body()).size() - 1).get("type").asText());

            // stored whole, asked as a stream: not converted (chat's conversion does not apply), a miss
            HttpResponse<String> asStream = cached.post("/v1/responses", "{\"model\":\"mock\",\"stream\":true,\"input\":\"Cache me\"}",
                    "authorization", "Bearer " + MASTER);
            assertEquals("miss", asStream.headers().firstValue("x-nemo-cache").orElse(null));
            assertEquals("response.created", events(asStream.body()).get(0).get("type").asText());
        }
    }
}
