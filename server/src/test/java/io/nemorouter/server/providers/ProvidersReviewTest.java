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
        JsonNode data = JSON.createArrayNode();
        for (int i = 0; i < 100 && data.isEmpty(); i++) {
            Thread.sleep(20); // the log's writer thread has it a moment later
            data = JSON.readTree(gw.get("/spend/logs?limit=1", "authorization", "Bearer " + MASTER).body()).get("data");
        }
        return data.get(0);
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
}
