package io.nemorouter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every public endpoint, served by the built-in mock provider. */
class EndpointsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Gateway gw;

    @BeforeAll
    static void start() throws Exception {
        gw = Gateway.start(Gateway.config(null, ""));
    }

    @AfterAll
    static void stop() {
        gw.close();
    }

    @Test
    void healthSaysOk() throws Exception {
        HttpResponse<String> r = gw.get("/health");
        assertEquals(200, r.statusCode());
        assertEquals("ok", JSON.readTree(r.body()).path("status").asText());
    }

    @Test
    void oneModelCanBeRetrievedAsTheSdksDo() throws Exception {
        HttpResponse<String> r = gw.get("/v1/models/mock-chat");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode model = JSON.readTree(r.body());
        assertEquals("mock-chat", model.path("id").asText());
        assertEquals("model", model.path("object").asText());
        assertEquals("mock", model.path("owned_by").asText());
        assertTrue(model.path("created").asLong() > 0);

        HttpResponse<String> missing = gw.get("/v1/models/gpt-9%3Aturbo");
        assertEquals(404, missing.statusCode());
        JsonNode error = JSON.readTree(missing.body()).path("error");
        assertEquals("model_not_found", error.path("code").asText());
        assertTrue(error.path("message").asText().contains("`gpt-9:turbo`"), "the id, decoded: " + error);
        assertEquals(405, gw.post("/v1/models/mock-chat", "{}").statusCode());
    }

    @Test
    void theMockRefusesTheWrongKindOfRequestForAModelAsOpenAiDoes() throws Exception {
        HttpResponse<String> chat = gw.post("/v1/chat/completions", Gateway.chat("mock-embed", false));
        assertEquals(400, chat.statusCode(), chat.body());
        assertEquals("model", JSON.readTree(chat.body()).at("/error/param").asText());
        assertEquals("model_not_supported", JSON.readTree(chat.body()).at("/error/code").asText());
        HttpResponse<String> stream = gw.post("/v1/chat/completions", Gateway.chat("mock-embed", true));
        assertEquals(400, stream.statusCode(), stream.body());
        HttpResponse<String> embed = gw.post("/v1/embeddings", "{\"model\":\"mock-chat\",\"input\":\"x\"}");
        assertEquals(400, embed.statusCode(), embed.body());
        assertEquals("model", JSON.readTree(embed.body()).at("/error/param").asText());
    }

    @Test
    void aStringLongerThanJacksonsDefaultLimitIsReadNotCalledInvalid() throws Exception {
        String huge = "word ".repeat(4_000_001); // 20,000,005 characters in one string
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"mock-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"" + huge + "\"}]}");
        assertEquals(200, r.statusCode(), r.body().length() > 300 ? r.body().substring(0, 300) : r.body());
        assertTrue(JSON.readTree(r.body()).at("/usage/prompt_tokens").asLong() > 5_000_000, "the whole string was read");
    }

    @Test
    void modelsListsTheCatalogOnce() throws Exception {
        HttpResponse<String> r = gw.get("/v1/models");
        assertEquals(200, r.statusCode());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("list", body.path("object").asText());
        List<String> ids = new ArrayList<>();
        body.path("data").forEach(m -> {
            assertEquals("model", m.path("object").asText());
            ids.add(m.path("id").asText());
        });
        assertEquals(List.of("mock-chat", "mock-embed", "nowhere"), ids);
    }

    @Test
    void chatAnswersWithContentUsageAndGatewayHeaders() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("mock-chat", false));
        assertEquals(200, r.statusCode());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("chat.completion", body.path("object").asText());
        String content = body.at("/choices/0/message/content").asText();
        assertTrue(content.contains("Say hello to the test"), content);
        assertEquals("stop", body.at("/choices/0/finish_reason").asText());
        long prompt = body.at("/usage/prompt_tokens").asLong();
        long completion = body.at("/usage/completion_tokens").asLong();
        assertTrue(prompt > 0 && completion > 0);
        assertEquals(prompt + completion, body.at("/usage/total_tokens").asLong());

        assertEquals("mock/mock-chat", r.headers().firstValue("x-nemo-model").orElseThrow());
        assertEquals("bypass", r.headers().firstValue("x-nemo-cache").orElseThrow());
        assertEquals("0", r.headers().firstValue("x-nemo-fallbacks").orElseThrow());
        assertTrue(r.headers().firstValue("x-request-id").orElseThrow().startsWith("req_"));
        double cost = Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElseThrow());
        assertEquals((prompt * 1 + completion * 2) / 1e6, cost, 1e-12);
        double overhead = Double.parseDouble(r.headers().firstValue("x-nemo-overhead-ms").orElseThrow());
        assertTrue(overhead >= 0 && overhead < 10_000);
    }

    @Test
    void theMockIsDeterministic() throws Exception {
        String a = JSON.readTree(gw.post("/v1/chat/completions", Gateway.chat("mock-chat", false)).body()).at("/choices/0/message/content").asText();
        String b = JSON.readTree(gw.post("/v1/chat/completions", Gateway.chat("mock-chat", false)).body()).at("/choices/0/message/content").asText();
        assertEquals(a, b);
    }

    @Test
    void maxTokensCutsTheAnswerWithFinishReasonLength() throws Exception {
        JsonNode body = JSON.readTree(gw.post("/v1/chat/completions",
                "{\"model\":\"mock-chat\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"a b c d e\"}]}").body());
        assertEquals("length", body.at("/choices/0/finish_reason").asText());
        assertEquals(3, body.at("/usage/completion_tokens").asLong());
    }

    @Test
    void clientRequestIdIsEchoed() throws Exception {
        HttpResponse<String> r = gw.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base + "/v1/chat/completions"))
                .header("x-request-id", "my-trace-42")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(Gateway.chat("mock-chat", false))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("my-trace-42", r.headers().firstValue("x-request-id").orElseThrow());
    }

    @Test
    void streamingFollowsOpenAisEventSequenceWithUsage() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"mock-chat\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"stream me please\"}]}");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        List<JsonNode> events = new ArrayList<>();
        String[] parts = r.body().split("\n\n");
        assertEquals("data: [DONE]", parts[parts.length - 1]);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            assertTrue(parts[i].startsWith("data: "), parts[i]);
            JsonNode e = JSON.readTree(parts[i].substring(6));
            events.add(e);
            text.append(e.at("/choices/0/delta/content").asText(""));
        }
        assertEquals("assistant", events.get(0).at("/choices/0/delta/role").asText());
        JsonNode finish = events.get(events.size() - 2);
        assertEquals("stop", finish.at("/choices/0/finish_reason").asText());
        JsonNode usage = events.get(events.size() - 1);
        assertEquals(0, usage.path("choices").size());
        assertTrue(usage.at("/usage/total_tokens").asLong() > 0);
        for (int i = 0; i < events.size() - 1; i++) {
            assertTrue(events.get(i).has("usage") && events.get(i).get("usage").isNull(), "usage: null before the last chunk");
        }
        assertTrue(text.toString().contains("stream me please"), text.toString());
    }

    @Test
    void streamingWithoutIncludeUsageHasNoUsage() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("mock-chat", true));
        assertFalse(r.body().contains("\"usage\""), r.body());
        assertTrue(r.body().endsWith("data: [DONE]\n\n"));
    }

    @Test
    void embeddingsAreDeterministicUnitVectors() throws Exception {
        String req = "{\"model\":\"mock-embed\",\"input\":[\"alpha\",\"beta\",\"alpha\"]}";
        JsonNode body = JSON.readTree(gw.post("/v1/embeddings", req).body());
        assertEquals("list", body.path("object").asText());
        JsonNode data = body.path("data");
        assertEquals(3, data.size());
        assertEquals(8, data.get(0).path("embedding").size());
        assertEquals(data.get(0).path("embedding"), data.get(2).path("embedding"));
        assertNotEquals(data.get(0).path("embedding"), data.get(1).path("embedding"));
        double norm = 0;
        for (JsonNode x : data.get(0).path("embedding")) {
            norm += x.asDouble() * x.asDouble();
        }
        assertEquals(1.0, norm, 1e-5);
        assertTrue(body.at("/usage/prompt_tokens").asLong() > 0);
    }

    @Test
    void embeddingsHonourBase64AndDimensions() throws Exception {
        JsonNode f = JSON.readTree(gw.post("/v1/embeddings",
                "{\"model\":\"mock-embed\",\"input\":\"alpha\",\"dimensions\":4}").body());
        JsonNode b = JSON.readTree(gw.post("/v1/embeddings",
                "{\"model\":\"mock-embed\",\"input\":\"alpha\",\"dimensions\":4,\"encoding_format\":\"base64\"}").body());
        ByteBuffer raw = ByteBuffer.wrap(Base64.getDecoder().decode(b.at("/data/0/embedding").asText())).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(16, raw.remaining());
        for (int i = 0; i < 4; i++) {
            assertEquals(f.at("/data/0/embedding/" + i).floatValue(), raw.getFloat(), 1e-7);
        }
    }

    @Test
    void metricsCountRequestsByRouteModelAndStatus() throws Exception {
        gw.post("/v1/chat/completions", Gateway.chat("mock-chat", false));
        gw.post("/v1/chat/completions", Gateway.chat("no-such-model", false));
        HttpResponse<String> r = gw.get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/plain"));
        String m = r.body();
        assertTrue(m.contains("nemo_requests_total{route=\"chat_completions\",model=\"mock-chat\",status=\"200\",}"), m);
        assertTrue(m.contains("nemo_requests_total{route=\"chat_completions\",model=\"\",status=\"404\",}"), m);
        assertTrue(m.contains("nemo_requests_in_flight"));
        for (String h : new String[]{"nemo_request_duration_seconds_bucket", "nemo_gateway_overhead_seconds_bucket"}) {
            assertTrue(m.contains(h), h);
        }
    }
}
