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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Review cases of the translating providers and the Responses bridge, through a real gateway. */
class ProvidersReviewTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-review-test";
    StandInServer anthropic;
    ScriptableUpstream openai;
    TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        anthropic = new StandInServer("anthropic", "k", 0);
        openai = new ScriptableUpstream();
    }

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        anthropic.close();
        openai.close();
    }

    String claude(String name, String model, String extra) {
        return "{ name = \"" + name + "\", provider = anthropic, model = \"" + model + "\", api_base = \"http://127.0.0.1:"
                + anthropic.port() + "\", api_key = \"k\"" + (extra.isEmpty() ? "" : ", " + extra) + " }";
    }

    void gateway(String config, String... entries) throws Exception {
        gw = TestGateway.builder().config("nemo.cache.enabled = false\nnemo.keys.master_key = \"" + MASTER + "\"\n" + config
                + "\nnemo.models = [" + String.join(",", entries) + "]\n").start();
    }

    HttpResponse<String> post(String path, String body) throws Exception {
        return gw.post(path, body, "authorization", "Bearer " + MASTER);
    }

    JsonNode lastLog() throws Exception {
        return gw.awaitLogs(1, MASTER).get(0);
    }

    @Test
    void whatAFailedAttemptDroppedIsNotReportedForTheDeploymentThatAnswered() throws Exception {
        gateway("nemo.router.groups { \"claude\" { fallbacks = [\"gpt\"] } }",
                claude("claude", "claude-fail-529", ""), openai.model("gpt", "gpt-4o-mini"));
        HttpResponse<String> r = post("/v1/chat/completions",
                "{\"model\":\"claude\",\"frequency_penalty\":0.5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("hello from upstream", JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText());
        assertEquals(0.5, openai.last().json().get("frequency_penalty").asDouble(), "the answering deployment honoured it");
        assertFalse(r.headers().firstValue("x-nemo-dropped-params").isPresent(), "nothing was dropped from the answer");
        JsonNode logged = lastLog();
        assertTrue(logged.path("dropped_params").isNull() || logged.path("dropped_params").isMissingNode()
                || logged.path("dropped_params").isEmpty(), logged.toString());
    }

    @Test
    void aBridgedAttemptThatFailsFallsBackWithAFreshBridgeWholeAndStreamed() throws Exception {
        gateway("nemo.router.groups { \"claude\" { fallbacks = [\"claude-ok\"] } }",
                claude("claude", "claude-fail-529", ""), claude("claude-ok", "claude-sonnet-4-5", ""));
        HttpResponse<String> r = post("/v1/responses", "{\"model\":\"claude\",\"reasoning\":{\"effort\":\"low\"},\"input\":\"hello again\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode resp = JSON.readTree(r.body());
        assertEquals("reasoning", resp.get("output").get(0).get("type").asText(), r.body());
        assertTrue(resp.get("output").get(1).get("content").get(0).get("text").asText().contains("hello again"), r.body());

        r = post("/v1/responses", "{\"model\":\"claude\",\"stream\":true,\"reasoning\":{\"effort\":\"low\"},\"input\":\"hello again\"}");
        assertEquals(200, r.statusCode(), r.body());
        var events = ResponsesTest.events(r.body());
        JsonNode last = events.get(events.size() - 1);
        assertEquals("response.completed", last.get("type").asText(), r.body());
        JsonNode output = last.get("response").get("output");
        assertEquals("reasoning", output.get(0).get("type").asText(), output.toString());
        assertTrue(output.get(0).get("summary").get(0).get("text").asText().startsWith("Thinking about"));
        assertTrue(output.get(1).get("content").get(0).get("text").asText().contains("hello again"));
        assertTrue(last.get("response").get("usage").get("output_tokens").asLong() > 0);
        assertTrue(lastLog().get("output_tokens").asLong() > 0);
    }

    @Test
    void cacheControlOnResponsesInputPartsReachesAnthropicAndWritesArePricedAsBilled() throws Exception {
        gateway("", claude("claude", "claude-sonnet-4-5", ""));
        String context = "A long shared context. ".repeat(200);
        HttpResponse<String> r = post("/v1/responses", "{\"model\":\"claude\",\"input\":[{\"role\":\"developer\",\"content\":["
                + "{\"type\":\"input_text\",\"text\":\"" + context + "\",\"cache_control\":{\"type\":\"ephemeral\"}}]},"
                + "{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode sent = JSON.readTree(anthropic.requests().get(0).body());
        assertEquals("ephemeral", sent.get("system").get(0).path("cache_control").path("type").asText(), sent.toString());
        JsonNode usage = JSON.readTree(r.body()).get("usage");
        long write = usage.path("cache_creation_input_tokens").asLong();
        assertTrue(write > 1000, usage.toString());
        // claude-sonnet-4-5: input 3.00, cache write 3.75, output 15.00 per million
        double cost = Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElseThrow());
        assertEquals(((usage.get("input_tokens").asLong() - write) * 3.00 + write * 3.75 + usage.get("output_tokens").asLong() * 15.00) / 1e6,
                cost, 1e-9);
    }
}
