package io.nemorouter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.core.server.GatewayServer;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.ConfigLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every error a client can meet comes back in OpenAI's envelope with the right status. */
class ErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestUpstream upstream;
    private static Gateway gw;

    @BeforeAll
    static void start() throws Exception {
        upstream = new TestUpstream();
        gw = Gateway.start(Gateway.config(upstream, """
                nemo.server.max_body_size = 64 KiB
                nemo.upstream.first_byte_timeout = 400ms
                """));
    }

    @AfterAll
    static void stop() {
        gw.close();
        upstream.close();
    }

    /** Asserts the status and the envelope, and returns {@code error}. */
    private static JsonNode assertError(HttpResponse<String> r, int status, String code) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        assertTrue(r.headers().firstValue("x-request-id").isPresent(), "every answer can be found in the logs by its id");
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertTrue(error.isObject(), r.body());
        assertTrue(error.path("message").isTextual() && !error.path("message").asText().isEmpty());
        assertTrue(error.path("type").isTextual());
        assertTrue(error.has("param") && error.has("code"));
        if (code != null) {
            assertEquals(code, error.path("code").asText());
        }
        return error;
    }

    @Test
    void malformedJsonIs400() throws Exception {
        assertError(gw.post("/v1/chat/completions", "{\"model\": \"mock-chat\", "), 400, "invalid_json");
        assertError(gw.post("/v1/chat/completions", "not json"), 400, "invalid_json");
        assertError(gw.post("/v1/embeddings", "[1,2]"), 400, "invalid_json");
    }

    @Test
    void missingModelIs400() throws Exception {
        JsonNode e = assertError(gw.post("/v1/chat/completions", "{\"messages\":[]}"), 400, "missing_required_parameter");
        assertEquals("model", e.path("param").asText());
    }

    @Test
    void unknownModelIs404ModelNotFound() throws Exception {
        JsonNode e = assertError(gw.post("/v1/chat/completions", Gateway.chat("gpt-9", false)), 404, "model_not_found");
        assertTrue(e.path("message").asText().contains("gpt-9"));
    }

    @Test
    void badFieldValueIs400() throws Exception {
        assertError(gw.post("/v1/chat/completions", "{\"model\":\"mock-chat\",\"stream\":\"yes\",\"messages\":[]}"), 400, "invalid_type");
        JsonNode e = assertError(gw.post("/v1/chat/completions", "{\"model\":\"mock-chat\",\"messages\":[]}"), 400, null);
        assertEquals("messages", e.path("param").asText());
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        String big = "{\"model\":\"mock-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat(100_000) + "\"}]}";
        assertError(gw.post("/v1/chat/completions", big), 413, "request_too_large");
        // the gateway is still fine afterwards
        assertEquals(200, gw.post("/v1/chat/completions", Gateway.chat("mock-chat", false)).statusCode());
    }

    @Test
    void aBodyOverTheLimitAnnouncedWithExpectContinueGetsTheEnvelopedAnswerBeforeItIsSent() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.server.port())) {
            s.setSoTimeout(5000);
            // as curl sends a large body: the head first, the body only after "100 Continue"
            s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "X-Request-Id: big-1\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8); // closes after it
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
            assertTrue(answer.toLowerCase().contains("x-request-id: big-1\r\n"), answer);
            assertTrue(answer.toLowerCase().contains("connection: close\r\n"), answer);
            String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            assertEquals("request_too_large", JSON.readTree(body).at("/error/code").asText(), body);
            assertTrue(answer.contains("content-length: " + body.length()), answer);
        }
        // a body within the limit still gets its 100 Continue and an answer
        HttpResponse<String> ok = gw.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base + "/v1/chat/completions"))
                .expectContinue(true).header("content-type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(Gateway.chat("mock-chat", false))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ok.statusCode(), ok.body());
    }

    @Test
    void wrongMethodIs405WithAllow() throws Exception {
        HttpResponse<String> r = gw.get("/v1/chat/completions");
        assertError(r, 405, "method_not_allowed");
        assertEquals("POST", r.headers().firstValue("allow").orElseThrow());
        HttpResponse<String> d = gw.http.send(HttpRequest.newBuilder(URI.create(gw.base + "/v1/models")).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertError(d, 405, "method_not_allowed");
    }

    @Test
    void unknownPathIs404() throws Exception {
        assertError(gw.get("/v1/assistants"), 404, "unknown_url");
        assertError(gw.post("/v2/chat/completions", Gateway.chat("mock-chat", false)), 404, "unknown_url");
    }

    @Test
    void upstreamRefusedIs502() throws Exception {
        assertError(gw.post("/v1/chat/completions", Gateway.chat("nowhere", false)), 502, "upstream_unreachable");
    }

    @Test
    void upstreamClosingWithoutAnswerIs502() throws Exception {
        assertError(gw.post("/v1/chat/completions", Gateway.chat("up-close-at-once", false)), 502, "upstream_closed");
    }

    @Test
    void upstreamTimeoutIs504() throws Exception {
        long t0 = System.nanoTime();
        assertError(gw.post("/v1/chat/completions", Gateway.chat("up-stall", false)), 504, "upstream_timeout");
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "answered at the configured timeout, not later");
    }

    @Test
    void aReusedUpstreamConnectionTimesOutOnItsOwnDeadline() throws Exception {
        // the first exchange arms the connection's timer; the stalled one after it must get its own full 400 ms
        assertEquals(200, gw.post("/v1/chat/completions", Gateway.chat("up-echo", false)).statusCode());
        Thread.sleep(250);
        long t0 = System.nanoTime();
        assertError(gw.post("/v1/chat/completions", Gateway.chat("up-stall", false)), 504, "upstream_timeout");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 380 && ms < 5_000, "timed out after " + ms + " ms");
    }

    @Test
    void upstream429IsPassedThroughWithItsHeadersAndBody() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("up-status-429", false));
        JsonNode e = assertError(r, 429, "rate_limit_exceeded");
        assertEquals("Rate limit reached", e.path("message").asText());
        assertEquals("7", r.headers().firstValue("retry-after").orElseThrow());
        assertEquals("0", r.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
        assertEquals("openai/status-429", r.headers().firstValue("x-nemo-model").orElseThrow());
    }

    @Test
    void upstream500IsPassedThrough() throws Exception {
        JsonNode e = assertError(gw.post("/v1/chat/completions", Gateway.chat("up-status-500", false)), 500, null);
        assertEquals("The server had an error", e.path("message").asText());
    }

    @Test
    void oversizedHeadersAre431AndTheConnectionCloses() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(40_000) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 431"), answer);
            assertTrue(answer.contains("headers_too_large"), answer);
        }
    }

    /** Starts a gateway from {@code file} on a free port and stops it: what start-up checks, it checks. */
    private static void startAndStop(Path file) throws Exception {
        GatewayServer.builder(ConfigLoader.load(file, Map.of("nemo.server.port", 0, "nemo.server.host", "127.0.0.1")))
                .start().stop();
    }

    @Test
    void badConfigNamesTheFileAndTheKey() throws Exception {
        Path file = Files.createTempFile("bad", ".conf");
        try {
            Files.writeString(file, "nemo.models = [\n  { name = \"x\", provider = nosuch }\n]\n");
            ConfigError e = assertThrows(ConfigError.class, () -> startAndStop(file));
            assertTrue(e.getMessage().contains(file.getFileName().toString()) && e.getMessage().contains(":2"), e.getMessage());
            assertTrue(e.getMessage().contains("unknown provider \"nosuch\""), e.getMessage());

            Files.writeString(file, "nemo.models = [ { name = \"x\", provider = openai, api_base = \"ftp://h\" } ]\n");
            e = assertThrows(ConfigError.class, () -> ConfigLoader.load(file, Map.of()));
            assertTrue(e.getMessage().contains("nemo.models[0].api_base"), e.getMessage());

            Files.writeString(file, "nemo.server.port = lots\n");
            e = assertThrows(ConfigError.class, () -> ConfigLoader.load(file, Map.of()));
            assertTrue(e.getMessage().contains("port") && e.getMessage().contains(file.getFileName().toString()), e.getMessage());

            Files.writeString(file, "nemo.models = [ { name = \"x\", provider = mock, colour = red } ]\n");
            e = assertThrows(ConfigError.class, () -> startAndStop(file));
            assertTrue(e.getMessage().contains("nemo.models[0].colour: unknown key"), e.getMessage());

            // a key pasted with its line break must fail at start, not split every upstream request
            Files.writeString(file, "nemo.models = [ { name = \"x\", provider = openai, api_base = \"http://h/v1\","
                    + " api_key = \"sk-1\\r\\nx-injected: 1\" } ]\n");
            e = assertThrows(ConfigError.class, () -> startAndStop(file));
            assertTrue(e.getMessage().contains("api_key of model x"), e.getMessage());

            Files.writeString(file, "nemo { models = [ \n");
            e = assertThrows(ConfigError.class, () -> ConfigLoader.load(file, Map.of()));
            assertTrue(e.getMessage().contains(file.getFileName().toString()), e.getMessage());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void headGetsTheHeadOfTheAnswerWithoutItsBody() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.server.port())) {
            s.setSoTimeout(5000); // the answer to "Connection: close" must end with the connection
            // pipelined: if an answer to HEAD carried its body, the client would read it as the next answer
            s.getOutputStream().write(("HEAD /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String answers = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            int second = answers.indexOf("HTTP/1.1 200");
            int third = answers.indexOf("HTTP/1.1 200", second + 1);
            assertTrue(answers.startsWith("HTTP/1.1 405") && second > 0 && third > second, answers);
            String head = answers.substring(0, second);
            assertTrue(head.endsWith("\r\n\r\n") && !head.contains("{"), head);
            assertFalse(head.toLowerCase().contains("content-length: 0\r\n"), "the length a POST would get: " + head);
            // HEAD /health (a load balancer's probe) is the GET's head: 200, its length, no body
            String healthHead = answers.substring(second, third);
            assertTrue(healthHead.endsWith("\r\n\r\n") && !healthHead.contains("{"), healthHead);
            assertTrue(healthHead.toLowerCase().contains("content-length: 15\r\n"), healthHead);
            assertTrue(answers.endsWith("{\"status\":\"ok\"}"), answers);
        }
    }

    /** The body of a request whose head came in an earlier read is its body, even when it reads like a request. */
    @Test
    void aBodyThatLooksLikeARequestIsReadAsTheBody() throws Exception {
        String smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        try (Socket s = new Socket("127.0.0.1", gw.server.port())) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(5000); // a gateway that took the body for a request would leave this waiting
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                    + smuggled.length() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(50);
            out.write(smuggled.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 400") && answer.contains("invalid_json"), answer);
            assertFalse(answer.contains("\"status\""), answer);
        }
    }

    @Test
    void unreadableRequestLineIs400() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.server.port())) {
            s.getOutputStream().write("BLAH\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
        }
    }
}
