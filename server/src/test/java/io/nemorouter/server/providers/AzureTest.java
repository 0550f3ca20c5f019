package io.nemorouter.server.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.providers.standin.StandInServer;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code provider = azure} through a real gateway, in front of a stand-in with Azure OpenAI's URL shape and auth. */
class AzureTest {
    static final ObjectMapper JSON = new ObjectMapper();
    StandInServer azure;
    TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        azure = new StandInServer("azure", "az-key-test", 0);
    }

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        azure.close();
    }

    void gateway(String credentials) throws Exception {
        String base = "api_base = \"http://127.0.0.1:" + azure.port() + "/\", " + credentials;
        gw = TestGateway.builder().config("nemo.cache.enabled = false\nnemo.models = ["
                + "{ name = \"gpt\", provider = azure, model = \"gpt-4o-mini\", azure_deployment = \"prod mini\", " + base + " },"
                + "{ name = \"embed\", provider = azure, model = \"text-embedding-3-small\", api_version = \"2024-06-01\", " + base + " }]").start();
    }

    StandInServer.Request last() {
        List<StandInServer.Request> all = azure.requests();
        return all.get(all.size() - 1);
    }

    @Test
    void chatGoesToTheDeploymentsUrlWithTheApiKeyHeader() throws Exception {
        gateway("api_key = \"az-key-test\"");
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("gpt", false));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode answer = JSON.readTree(r.body());
        assertTrue(answer.get("choices").get(0).get("message").get("content").asText().contains("Say hello to the test"));
        assertEquals("azure/gpt-4o-mini", r.headers().firstValue("x-nemo-model").orElse(null));
        StandInServer.Request sent = last();
        assertEquals("/openai/deployments/prod%20mini/chat/completions?api-version=2024-10-21", sent.uri());
        assertEquals("az-key-test", sent.headers().get("api-key"));
        assertNull(sent.headers().get("authorization"));
    }

    @Test
    void streamsAndEmbeddingsPassThrough() throws Exception {
        gateway("api_key = \"az-key-test\"");
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"gpt\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().trim().endsWith("data: [DONE]"), r.body());
        assertTrue(r.body().contains("there"));
        assertTrue(last().json().path("stream_options").path("include_usage").asBoolean(), "the gateway asks for the usage event");
        assertTrue(!r.body().contains("\"usage\":{"), "and keeps it from a client that did not ask");

        r = gw.post("/v1/embeddings", "{\"model\":\"embed\",\"input\":[\"a\",\"b\"]}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(2, JSON.readTree(r.body()).get("data").size());
        assertEquals("/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-06-01", last().uri());
    }

    @Test
    void anEntraTokenGoesAsABearerToken() throws Exception {
        gateway("azure_ad_token = \"az-key-test\"");
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("gpt", false));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("Bearer az-key-test", last().headers().get("authorization"));
        assertNull(last().headers().get("api-key"));
    }

    @Test
    void aWrongKeyIsTheUpstreamsError() throws Exception {
        gateway("api_key = \"wrong\"");
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("gpt", false));
        assertEquals(401, r.statusCode(), r.body());
        assertTrue(JSON.readTree(r.body()).get("error").get("message").asText().contains("Access denied"));
    }

    @Test
    void anEndpointGivenWithOpenaiOnItIsNotDoubled() throws Exception {
        gw = TestGateway.builder().config("nemo.models = [{ name = \"gpt\", provider = azure, model = \"gpt-4o-mini\","
                + " api_base = \"http://127.0.0.1:" + azure.port() + "/openai\", api_key = \"az-key-test\" }]").start();
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("gpt", false));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21", last().uri());
    }
}
