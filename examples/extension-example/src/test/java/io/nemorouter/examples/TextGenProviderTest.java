package io.nemorouter.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A provider for an API that is not OpenAI's: the request encoded in its shape, its answers translated back. */
class TextGenProviderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private ScriptableUpstream upstream;
    private TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        upstream = new ScriptableUpstream()
                .on("tg-small", (request, reply) -> {
                    if (!request.json().path("stream").asBoolean()) {
                        reply.json(200, "{\"text\":\"Hello there\",\"input_tokens\":12,\"output_tokens\":3}");
                        return;
                    }
                    reply.startStream().event("data: {\"token\":\"Hel\"}\n\n").event(": keep-alive\n\n")
                            .event("data: {\"token\":\"lo\"}\n\ndata: {\"done\":true,\"input_tokens\":12,\"output_tokens\":2}\n\n")
                            .end();
                })
                .on("tg-busy", (request, reply) -> reply.json(429, "{\"error\":\"slow down\"}"));
        gw = TestGateway.builder().config("nemo.models = [\n"
                        + "{ name = tg, provider = textgen, api_base = \"" + upstream.apiBase() + "\", model = tg-small,"
                        + " api_key = \"tg-secret\", input_cost_per_mtok = 1, output_cost_per_mtok = 2 }\n"
                        + "{ name = tg-busy, provider = textgen, api_base = \"" + upstream.apiBase() + "\" }\n]")
                .start();
    }

    @AfterEach
    void stop() {
        gw.close();
        upstream.close();
    }

    @Test
    void theRequestIsEncodedInTheUpstreamsShape() throws Exception {
        gw.post("/v1/chat/completions", "{\"model\":\"tg\",\"max_tokens\":50,\"temperature\":0.3,\"tags\":[\"x\"],"
                + "\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}]}");
        ScriptableUpstream.Request got = upstream.last();
        assertEquals("/v1/generate", got.uri());
        assertEquals("tg-secret", got.headers().get("x-api-key"));
        assertNull(got.headers().get("authorization"));
        JsonNode body = got.json();
        assertEquals("tg-small", body.path("model").asText());
        assertEquals("system: Be brief.\nuser: Hi\nassistant:", body.path("prompt").asText());
        assertEquals(50, body.path("max_new_tokens").asInt());
        assertEquals(0.3, body.path("temperature").asDouble(), 1e-9);
        assertFalse(body.has("tags") || body.has("messages"), body.toString());
    }

    @Test
    void aWholeAnswerIsTranslatedWithItsUsageAndCost() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("tg", false));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("chat.completion", body.path("object").asText());
        assertEquals("Hello there", body.at("/choices/0/message/content").asText());
        assertEquals(15, body.at("/usage/total_tokens").asInt());
        assertEquals(String.valueOf(r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length),
                r.headers().firstValue("content-length").orElseThrow());
        assertEquals(0.000018, Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElseThrow()), 1e-12);
        assertEquals("textgen/tg-small", r.headers().firstValue("x-nemo-model").orElseThrow());
    }

    @Test
    void aStreamIsTranslatedEventByEvent() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("tg", true));
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> chunks = chunks(r.body());
        assertEquals("assistant", chunks.get(0).at("/choices/0/delta/role").asText());
        assertEquals("Hel", chunks.get(0).at("/choices/0/delta/content").asText());
        assertEquals("lo", chunks.get(1).at("/choices/0/delta/content").asText());
        assertEquals("stop", chunks.get(2).at("/choices/0/finish_reason").asText());
        assertEquals(3, chunks.size(), "no usage event: the client did not ask for it");
        assertTrue(r.body().endsWith("data: [DONE]\n\n"), r.body());

        String asked = "{\"model\":\"tg\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}";
        List<JsonNode> withUsage = chunks(gw.post("/v1/chat/completions", asked).body());
        assertEquals(14, withUsage.get(3).at("/usage/total_tokens").asInt());
        assertEquals(0, withUsage.get(3).path("choices").size());
    }

    @Test
    void anErrorIsTranslatedToOpenAisEnvelopeWithItsStatus() throws Exception {
        for (boolean stream : new boolean[]{false, true}) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("tg-busy", stream));
            assertEquals(429, r.statusCode(), r.body());
            assertEquals("TextGen: slow down", JSON.readTree(r.body()).at("/error/message").asText(),
                    "translated whether or not the client asked for a stream");
            assertEquals(String.valueOf(r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length),
                    r.headers().firstValue("content-length").orElseThrow());
        }
    }

    @Test
    void embeddingsAreRefused() throws Exception {
        HttpResponse<String> r = gw.post("/v1/embeddings", "{\"model\":\"tg\",\"input\":\"x\"}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("unsupported_endpoint", JSON.readTree(r.body()).at("/error/code").asText());
        assertTrue(upstream.received().isEmpty());
    }

    private static List<JsonNode> chunks(String sse) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String event : sse.split("\n\n")) {
            if (event.startsWith("data: {")) {
                out.add(JSON.readTree(event.substring(6)));
            }
        }
        return out;
    }
}
