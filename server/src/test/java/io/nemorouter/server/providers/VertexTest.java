package io.nemorouter.server.providers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.providers.gemini.VertexProviderFactory;
import io.nemorouter.providers.standin.StandInServer;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code provider = vertex} through a real gateway, in front of the Vertex AI stand-in and its token
 * endpoint: tokens are minted from a service account's key made for the test (the stand-in checks
 * the JWT's signature against it), sent as Bearer tokens, and refreshed before they expire.
 */
class VertexTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL_PATH = "/v1/projects/proj-1/locations/us-central1/publishers/google/models/";
    Path dir;
    Path keyFile;
    StandInServer vertex;
    TestGateway gw;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("vertex-test");
        keyFile = dir.resolve("service-account.json");
        vertex = new StandInServer("vertex", keyFile.toString(), 0); // reads the key file when a token is asked for
        writeKeyFile(keyFile, newKey(), "http://127.0.0.1:" + vertex.port() + "/token");
    }

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        vertex.close();
        TestGateway.deleteTree(dir);
    }

    static PrivateKey newKey() throws Exception {
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        return rsa.generateKeyPair().getPrivate();
    }

    /** A key file in the shape Google's console gives (PKCS#8 PEM; the JSON escapes its newlines). */
    static void writeKeyFile(Path file, PrivateKey key, String tokenUri) throws Exception {
        String pem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(key.getEncoded()) + "\n-----END PRIVATE KEY-----\n";
        var json = JSON.createObjectNode().put("type", "service_account").put("project_id", "proj-1")
                .put("private_key_id", "k1").put("private_key", pem)
                .put("client_email", "router@proj-1.iam.gserviceaccount.com").put("client_id", "1")
                .put("token_uri", tokenUri);
        Files.writeString(file, json.toString());
    }

    String entry(String name, String model, String extra) {
        return "{ name = \"" + name + "\", provider = vertex, model = \"" + model + "\", project = \"proj-1\", api_base = \"http://127.0.0.1:"
                + vertex.port() + "\"" + (extra.isEmpty() ? ", credentials = \"" + keyFile + "\"" : ", " + extra) + " }";
    }

    void gateway(TestGateway.Builder builder, String config, String... entries) throws Exception {
        gw = builder.config(config + "\nnemo.models = [" + String.join(",", entries) + "]\n").start();
    }

    List<StandInServer.Request> tokenRequests() {
        return vertex.requests().stream().filter(r -> r.uri().equals("/token")).toList();
    }

    List<StandInServer.Request> modelRequests() {
        return vertex.requests().stream().filter(r -> !r.uri().equals("/token")).toList();
    }

    String lastBearer() {
        List<StandInServer.Request> all = modelRequests();
        return all.get(all.size() - 1).headers().get("authorization");
    }

    String chat(String model) throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat(model, false));
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText();
    }

    @Test
    void aChatAStreamAndEmbeddingsGoToVertexWithAMintedToken() throws Exception {
        gateway(TestGateway.builder(), "", entry("flash", "gemini-2.5-flash", ""), entry("embed", "text-embedding-005", ""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", """
                {"model":"flash","temperature":0.5,"messages":[{"role":"system","content":"Be brief."},
                 {"role":"user","content":"Hello"},{"role":"assistant","content":"Hi"},{"role":"user","content":"Again"}]}""");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode answer = JSON.readTree(r.body());
        assertEquals("This is a mock answer from gemini-2.5-flash. You said: Again",
                answer.get("choices").get(0).get("message").get("content").asText());
        assertTrue(answer.get("usage").get("prompt_tokens").asLong() > 0);

        assertEquals(1, tokenRequests().size());
        String form = tokenRequests().get(0).body();
        assertTrue(URLDecoder.decode(form, StandardCharsets.UTF_8).startsWith("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion="), form);
        StandInServer.Request sent = modelRequests().get(0);
        assertEquals(MODEL_PATH + "gemini-2.5-flash:generateContent", sent.uri());
        assertEquals("Bearer ya29.standin-1", sent.headers().get("authorization"));
        JsonNode body = sent.json();
        assertEquals("Be brief.", body.get("systemInstruction").get("parts").get(0).get("text").asText());
        assertEquals("model", body.get("contents").get(1).get("role").asText());
        assertEquals(0.5, body.get("generationConfig").get("temperature").asDouble());

        r = gw.post("/v1/chat/completions", "{\"model\":\"flash\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"one two\"}]}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(MODEL_PATH + "gemini-2.5-flash:streamGenerateContent?alt=sse", modelRequests().get(1).uri());
        StringBuilder text = new StringBuilder();
        boolean usage = false;
        for (String e : AnthropicTest.data(r.body())) {
            if (!e.equals("[DONE]")) {
                JsonNode chunk = JSON.readTree(e);
                if (chunk.get("choices").isEmpty()) {
                    usage = chunk.get("usage").get("completion_tokens").asLong() > 0;
                } else {
                    text.append(chunk.get("choices").get(0).get("delta").path("content").asText(""));
                }
            }
        }
        assertEquals("This is a mock answer from gemini-2.5-flash. You said: one two", text.toString());
        assertTrue(usage, r.body());

        r = gw.post("/v1/embeddings", "{\"model\":\"embed\",\"input\":[\"hello\",\"world!\"],\"dimensions\":4}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode list = JSON.readTree(r.body());
        assertEquals(2, list.get("data").size());
        assertEquals(4, list.get("data").get(1).get("embedding").size());
        assertEquals(4, list.get("usage").get("prompt_tokens").asLong(), "Vertex's own token counts, 2 + 2");
        StandInServer.Request predict = modelRequests().get(2);
        assertEquals(MODEL_PATH + "text-embedding-005:predict", predict.uri());
        assertEquals("world!", predict.json().get("instances").get(1).get("content").asText());
        assertEquals(4, predict.json().get("parameters").get("outputDimensionality").asInt());
        assertEquals(1, tokenRequests().size(), "one token for all three");
    }

    /** A clock the test moves. */
    static final class TestClock extends Clock {
        volatile Instant now = Instant.now();

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }
    }

    void awaitTokens(int n) throws InterruptedException {
        for (int i = 0; i < 250 && tokenRequests().size() < n; i++) {
            Thread.sleep(20);
        }
        assertEquals(n, tokenRequests().size());
        Thread.sleep(50); // the answer reaches the gateway's token holder a moment after the stand-in saw the request
    }

    @Test
    void theTokenIsRefreshedBeforeItExpiresWithoutARequestFailing() throws Exception {
        TestClock clock = new TestClock();
        gateway(TestGateway.builder().provider(new VertexProviderFactory(clock)), "", entry("flash", "gemini-2.5-flash", ""));
        chat("flash");
        assertEquals(1, tokenRequests().size());
        assertEquals("Bearer ya29.standin-1", lastBearer());

        clock.advance(Duration.ofMinutes(50)); // 10 minutes left: not yet
        chat("flash");
        assertEquals(1, tokenRequests().size(), "no refresh with 10 minutes left");

        clock.advance(Duration.ofMinutes(6)); // 4 minutes left: this request goes with the old token and starts a refresh
        chat("flash");
        assertEquals("Bearer ya29.standin-1", lastBearer(), "the token still valid is used while the next is minted");
        awaitTokens(2);
        chat("flash");
        assertEquals("Bearer ya29.standin-2", lastBearer(), "then the new one");

        clock.advance(Duration.ofHours(2)); // past its expiry: requests wait for the mint
        for (int i = 0; i < 3; i++) {
            chat("flash");
            assertEquals("Bearer ya29.standin-3", lastBearer());
        }
        assertEquals(3, tokenRequests().size(), "one mint for the requests that waited, and no more");
    }

    @Test
    void shortLivedTokensAreRenewedInTime() throws Exception {
        vertex.tokenLifetime(2); // the stand-in's tokens live 2 s: refreshed after 1 s, not sent after 1.8 s
        gateway(TestGateway.builder(), "", entry("flash", "gemini-2.5-flash", ""));
        chat("flash");
        Thread.sleep(1200);
        chat("flash"); // the first token, a refresh started
        awaitTokens(2);
        chat("flash");
        assertEquals("Bearer ya29.standin-2", lastBearer());
        Thread.sleep(2100); // both expired now, in the stand-in's eyes too
        chat("flash");
        assertEquals("Bearer ya29.standin-3", lastBearer());
    }

    @Test
    void aTokenThatCannotBeMintedFailsTheAttemptWithAClearError() throws Exception {
        Path otherKey = dir.resolve("other.json"); // same account, another key: the signature does not verify
        writeKeyFile(otherKey, newKey(), "http://127.0.0.1:" + vertex.port() + "/token");
        Path unreachable = dir.resolve("unreachable.json");
        writeKeyFile(unreachable, newKey(), "http://127.0.0.1:1/token");
        gateway(TestGateway.builder(), "", entry("refused", "gemini-2.5-flash", "credentials = \"" + otherKey + "\""),
                entry("down", "gemini-2.5-flash", "credentials = \"" + unreachable + "\""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("refused", false));
        assertEquals(502, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertEquals("upstream_auth_failed", e.get("code").asText());
        assertTrue(e.get("message").asText().contains("Invalid JWT Signature"), e.toString());
        r = gw.post("/v1/chat/completions", TestGateway.chat("down", true));
        assertEquals(503, r.statusCode(), r.body());
        assertEquals("upstream_auth_failed", JSON.readTree(r.body()).get("error").get("code").asText());
        assertEquals(0, modelRequests().size(), "nothing sent without a token");
    }

    @Test
    void aFailedMintFallsBackToAnotherDeployment() throws Exception {
        Path otherKey = dir.resolve("other.json");
        writeKeyFile(otherKey, newKey(), "http://127.0.0.1:" + vertex.port() + "/token");
        gateway(TestGateway.builder(), "nemo.router { num_retries = 0, groups { \"flash\" { fallbacks = [\"backup\"] } } }",
                entry("flash", "gemini-2.5-flash", "credentials = \"" + otherKey + "\""), entry("backup", "gemini-2.5-pro", ""));
        assertTrue(chat("flash").contains("gemini-2.5-pro"));
    }

    @Test
    void aStaticAccessTokenIsSentAsItIsAndGooglesRefusalMapped() throws Exception {
        gateway(TestGateway.builder(), "", entry("flash", "gemini-2.5-flash", "access_token = \"ya29.static\", location = \"europe-west4\""));
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("flash", false));
        assertEquals(401, r.statusCode(), r.body());
        assertEquals("UNAUTHENTICATED", JSON.readTree(r.body()).get("error").get("code").asText());
        StandInServer.Request sent = modelRequests().get(0);
        assertEquals("Bearer ya29.static", sent.headers().get("authorization"));
        assertEquals("/v1/projects/proj-1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent", sent.uri());
        assertEquals(0, tokenRequests().size());
    }

    @Test
    void vertexsOpenAiCompatibleEndpointThroughTheOpenAiProviderGetsTheSameTokens() throws Exception {
        try (ScriptableUpstream openAiEndpoint = new ScriptableUpstream()) {
            openAiEndpoint.otherwise(ScriptableUpstream.chat("from Vertex's OpenAI endpoint"));
            gateway(TestGateway.builder(), "", "{ name = \"compat\", provider = openai, model = \"google/gemini-2.5-flash\", auth = vertex,"
                    + " credentials = \"" + keyFile + "\", api_base = \"" + openAiEndpoint.apiBase() + "\" }");
            assertEquals("from Vertex's OpenAI endpoint", chat("compat"));
            assertEquals("from Vertex's OpenAI endpoint", chat("compat"));
            assertEquals(1, tokenRequests().size(), "one token minted, then reused");
            String bearer = openAiEndpoint.last().headers().get("authorization");
            assertTrue(bearer != null && bearer.startsWith("Bearer ya29.standin-"), bearer);
        }
    }
}
