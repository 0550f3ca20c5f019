package io.nemorouter.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The example extension, through the SPI alone, in front of a scripted upstream. */
class StampExtensionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private ScriptableUpstream upstream;
    private TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        upstream = new ScriptableUpstream().on("gpt-4o-stream", ScriptableUpstream.chatStream("Hel", "lo"));
        gw = TestGateway.builder().config("nemo.models = [\n"
                        + upstream.model("gpt", "gpt-4o") + "\n"
                        + upstream.model("gpt-stream", "gpt-4o-stream") + "\n"
                        + "{ name = local, provider = mock }\n]\n"
                        + "nemo.stamp { refuse = [forbidden], strip = [metadata], admin_token = \"t0ken\" }")
                .start();
    }

    @AfterEach
    void stop() {
        gw.close();
        upstream.close();
    }

    /**
     * The model's stats once {@code n} requests are counted: observers run after the last byte is
     * flushed, so the client can read the answer a moment before they have.
     */
    private JsonNode awaitRequests(String model, int n) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            JsonNode stats = JSON.readTree(gw.get("/stamp/stats", "authorization", "Bearer t0ken").body()).at("/models/" + model);
            if (stats.path("requests").asLong() >= n || System.nanoTime() > deadline) {
                return stats;
            }
            Thread.sleep(5);
        }
    }

    @Test
    void aFilterRefusesARequestWithAnOpenAiError() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("forbidden", false));
        assertEquals(403, r.statusCode(), r.body());
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertEquals("model_not_allowed", error.path("code").asText());
        assertEquals("invalid_request_error", error.path("type").asText());
        assertEquals("model", error.path("param").asText());
        assertTrue(r.headers().firstValue("x-request-id").isPresent());
        assertTrue(upstream.received().isEmpty(), "nothing went upstream");
    }

    @Test
    void everyAnswerGetsTheHeaderPlainOrStreamedWhoeverAnswers() throws Exception {
        for (String model : new String[]{"gpt", "local"}) {
            for (boolean stream : new boolean[]{false, true}) {
                String asked = stream && model.equals("gpt") ? "gpt-stream" : model;
                HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat(asked, stream));
                assertEquals(200, r.statusCode(), asked + ": " + r.body());
                assertEquals("nemo-router", r.headers().firstValue("x-served-by").orElse(null), asked + " stream=" + stream);
                if (stream) {
                    assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
                    assertTrue(r.body().endsWith("data: [DONE]\n\n"), r.body());
                }
            }
        }
        // and the errors the gateway gives after the filter ran
        HttpResponse<String> unknown = gw.post("/v1/chat/completions", TestGateway.chat("no-such-model", false));
        assertEquals(404, unknown.statusCode());
        assertEquals("nemo-router", unknown.headers().firstValue("x-served-by").orElse(null));
    }

    @Test
    void stateSetBeforeRoutingIsReadByAFilterAfterIt() throws Exception {
        HttpResponse<String> alice = gw.post("/v1/chat/completions", TestGateway.chat("gpt", false), "x-stamp-client", "alice");
        assertEquals("alice via openai/gpt-4o", alice.headers().firstValue("x-stamp-route").orElse(null));
        HttpResponse<String> nobody = gw.post("/v1/chat/completions", TestGateway.chat("local", true));
        assertEquals("anonymous via mock/local", nobody.headers().firstValue("x-stamp-route").orElse(null));
    }

    @Test
    void aBodyEditReachesTheUpstream() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gpt\",\"metadata\":{\"job_id\":\"j1\"},\"messages\":[],\"temperature\":0.5}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("{\"model\":\"gpt-4o\",\"messages\":[],\"temperature\":0.5}", upstream.last().body());
    }

    @Test
    void theAdminRouteAnswersOnlyWithItsToken() throws Exception {
        gw.post("/v1/chat/completions", TestGateway.chat("gpt", false));
        HttpResponse<String> none = gw.get("/stamp/stats");
        assertEquals(401, none.statusCode());
        assertEquals("invalid_api_key", JSON.readTree(none.body()).at("/error/code").asText());
        assertEquals(401, gw.get("/stamp/stats", "authorization", "Bearer guess").statusCode());

        awaitRequests("gpt", 1);
        HttpResponse<String> r = gw.get("/stamp/stats", "authorization", "Bearer t0ken");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElseThrow());
        assertTrue(r.headers().firstValue("x-request-id").isPresent(), "route answers are gateway answers too");
        assertEquals(1, JSON.readTree(r.body()).at("/models/gpt/requests").asLong(), r.body());

        HttpResponse<String> post = gw.post("/stamp/stats", "{}", "authorization", "Bearer t0ken");
        assertEquals(405, post.statusCode());
        assertEquals("GET", post.headers().firstValue("allow").orElseThrow());
        HttpResponse<String> head = gw.http().send(HttpRequest.newBuilder(URI.create(gw.base() + "/stamp/stats"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).header("authorization", "Bearer t0ken").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
    }

    @Test
    void theObserverSeesTheUsageOfStreamsWhetherOrNotTheClientAskedForIt() throws Exception {
        String asked = "{\"model\":\"gpt-stream\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> withUsage = gw.post("/v1/chat/completions", asked);
        assertTrue(withUsage.body().contains("\"usage\":{\"prompt_tokens\":10"), withUsage.body());

        HttpResponse<String> without = gw.post("/v1/chat/completions", TestGateway.chat("gpt-stream", true));
        assertEquals(200, without.statusCode());
        assertFalse(without.body().contains("\"usage\""), "the client did not ask for usage: " + without.body());
        assertTrue(without.body().contains("\"Hel\"") && without.body().endsWith("data: [DONE]\n\n"), without.body());
        // the gateway asked the upstream for it all the same
        assertTrue(upstream.last().json().at("/stream_options/include_usage").asBoolean(), upstream.last().body());

        JsonNode stats = awaitRequests("gpt-stream", 2);
        assertEquals(2, stats.path("requests").asLong());
        assertEquals(20, stats.path("prompt_tokens").asLong(), "10 prompt tokens from each stream");
        assertEquals(10, stats.path("completion_tokens").asLong());
        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.contains("nemo_stamp_tokens_total{model=\"gpt-stream\",kind=\"completion\",} 10.0"), metrics);
    }
}
