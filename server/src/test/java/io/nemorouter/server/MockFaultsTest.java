package io.nemorouter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.ConfigLoader;
import io.nemorouter.core.server.GatewayServer;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The mock's injected faults, as a client of the gateway sees them: error answers, jittered latency, broken streams. */
class MockFaultsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static TestGateway gateway(String models) throws Exception {
        return TestGateway.builder().config("nemo.models = [\n" + models + "]\n").start();
    }

    /** The {@code error} object of an OpenAI error answer, checked for the envelope's four members. */
    private static JsonNode openAiError(HttpResponse<String> r) throws Exception {
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), r.headers().toString());
        JsonNode error = JSON.readTree(r.body()).path("error");
        assertTrue(error.path("message").isTextual() && !error.path("message").asText().isEmpty(), r.body());
        assertTrue(error.path("type").isTextual(), r.body());
        assertTrue(error.has("param") && error.get("param").isNull(), r.body());
        assertTrue(error.has("code"), r.body());
        return error;
    }

    @Test
    void anErrorRateOfOneAlwaysAnswersTheErrorStatusAsAnUpstreamWould() throws Exception {
        try (TestGateway gw = gateway("""
                { name = overloaded, provider = mock, mock { error_rate = 1.0 } }
                { name = limited, provider = mock, mock { error_rate = 1, error_status = 429, error_retry_after = 1500ms } }
                { name = refusing, provider = mock, mock { error_rate = 1.0, error_status = 400 } }
                """)) {
            for (int i = 0; i < 20; i++) {
                boolean stream = i % 2 == 1; // a stream is refused the same way: a whole error answer, no event stream
                HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("overloaded", stream));
                assertEquals(503, r.statusCode(), "the default error_status; request " + i + ": " + r.body());
                assertEquals("server_error", openAiError(r).path("type").asText());
                assertTrue(r.headers().firstValue("retry-after").isEmpty(), "no error_retry_after, no header");
                assertEquals("mock/overloaded", r.headers().firstValue("x-nemo-model").orElseThrow());

                HttpResponse<String> limited = gw.post("/v1/chat/completions", TestGateway.chat("limited", stream));
                assertEquals(429, limited.statusCode(), limited.body());
                JsonNode e = openAiError(limited);
                assertEquals("rate_limit_error", e.path("type").asText());
                assertEquals("rate_limit_exceeded", e.path("code").asText());
                assertEquals("2", limited.headers().firstValue("retry-after").orElseThrow(), "1.5 s in whole seconds, rounded up");

                HttpResponse<String> refused = gw.post("/v1/chat/completions", TestGateway.chat("refusing", stream));
                assertEquals(400, refused.statusCode(), refused.body());
                assertEquals("invalid_request_error", openAiError(refused).path("type").asText());
            }
            HttpResponse<String> embed = gw.post("/v1/embeddings", "{\"model\":\"overloaded\",\"input\":\"x\"}");
            assertEquals(503, embed.statusCode(), "every request, not only chat: " + embed.body());
        }
    }

    @Test
    void anErrorRateOfAHalfFailsAboutHalfTheRequests() throws Exception {
        try (TestGateway gw = gateway("{ name = flaky, provider = mock, mock { error_rate = 0.5 } }\n")) {
            int errors = 0;
            for (int i = 0; i < 400; i++) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("flaky", false));
                if (r.statusCode() == 503) {
                    errors++;
                    openAiError(r);
                } else {
                    assertEquals(200, r.statusCode(), r.body());
                    assertTrue(JSON.readTree(r.body()).at("/choices/0/message/content").asText().startsWith("This is a mock answer"));
                }
            }
            // 400 draws at p = 0.5: 200 ± 10 (one standard deviation); outside 120..280 is eight deviations away
            assertTrue(errors >= 120 && errors <= 280, errors + " errors of 400");
        }
    }

    @Test
    void latencyJitterSpreadsLatenciesAboveTheLatency() throws Exception {
        try (TestGateway gw = gateway("{ name = jittery, provider = mock, mock { latency = 50ms, latency_jitter = 300ms } }\n"
                + "{ name = quick, provider = mock }\n")) {
            gw.post("/v1/chat/completions", TestGateway.chat("quick", false)); // the first request's warm-up is not latency
            List<Long> millis = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                long start = System.nanoTime();
                HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("jittery", false));
                millis.add((System.nanoTime() - start) / 1_000_000);
                assertEquals(200, r.statusCode(), r.body());
            }
            for (long ms : millis) {
                assertTrue(ms >= 50, "never under latency: " + millis);
            }
            // uniform over 50..350 ms: 16 requests all on one side of 200 ms has odds of 2 in 65,536
            assertTrue(millis.stream().anyMatch(ms -> ms >= 200), "some take most of the jitter: " + millis);
            assertTrue(millis.stream().anyMatch(ms -> ms < 200), "some take little of it: " + millis);
        }
    }

    /** The events of a stream's body, without their {@code data: } prefix. */
    private static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String e : body.split("\n\n")) {
            if (!e.isBlank()) {
                assertTrue(e.startsWith("data: "), e);
                out.add(e.substring(6));
            }
        }
        return out;
    }

    @Test
    void failAfterChunksBreaksAStreamAfterThatManyContentChunks() throws Exception {
        try (TestGateway gw = gateway("""
                { name = breaking, provider = mock, mock { fail_after_chunks = 2 } }
                { name = breaking-slowly, provider = mock, mock { fail_after_chunks = 2, chunk_delay = 10ms } }
                """)) {
            for (String model : List.of("breaking", "breaking-slowly")) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat(model, true));
                assertEquals(200, r.statusCode(), "the head went out before the break");
                List<String> events = events(r.body());
                assertFalse(events.contains("[DONE]"), r.body());
                int content = 0;
                for (String e : events.subList(0, events.size() - 1)) {
                    JsonNode delta = JSON.readTree(e).at("/choices/0/delta");
                    assertTrue(delta.isObject(), "a chunk before the error: " + e);
                    assertTrue(JSON.readTree(e).at("/choices/0/finish_reason").isNull(), "no finish: " + e);
                    if (!delta.path("content").asText().isEmpty()) {
                        content++;
                    }
                }
                assertEquals(2, content, model + ": " + r.body());
                JsonNode error = JSON.readTree(events.get(events.size() - 1)).path("error");
                assertEquals("upstream_disconnected", error.path("code").asText(), r.body());
            }
            // without a stream there is nothing to break
            HttpResponse<String> whole = gw.post("/v1/chat/completions", TestGateway.chat("breaking", false));
            assertEquals(200, whole.statusCode(), whole.body());
            assertEquals("stop", JSON.readTree(whole.body()).at("/choices/0/finish_reason").asText());
        }
    }

    @Test
    void theRouterFallsBackOnAnInjected429ButNotOnA400() throws Exception {
        try (TestGateway gw = TestGateway.builder().config("""
                nemo.router { strategy = weighted, num_retries = 1 }
                nemo.models = [
                  { name = chat, id = "mock/flaky", provider = mock, mock { error_rate = 1.0, error_status = 429, error_retry_after = 1s } }
                  { name = chat, id = "mock/steady", provider = mock, weight = 0 }
                  { name = picky, id = "mock/picky", provider = mock, mock { error_rate = 1.0, error_status = 400 } }
                  { name = picky, id = "mock/picky-twin", provider = mock, weight = 0 }
                ]
                """).start()) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("chat", false));
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("mock/steady", r.headers().firstValue("x-nemo-model").orElseThrow());
            assertEquals("1", r.headers().firstValue("x-nemo-fallbacks").orElseThrow());

            HttpResponse<String> picky = gw.post("/v1/chat/completions", TestGateway.chat("picky", false));
            assertEquals(400, picky.statusCode(), "a 400 is the client's: no other deployment is tried");
            assertEquals("mock/picky", picky.headers().firstValue("x-nemo-model").orElseThrow());
        }
    }

    /** The one-line message start-up stops with for a catalog of {@code entry}, on line 2 of its file. */
    private static String startUpError(String entry) throws Exception {
        Path file = Files.createTempFile("nemo-mock", ".conf");
        Path data = Files.createTempDirectory("nemo-mock-data");
        try {
            Files.writeString(file, "nemo.models = [\n" + entry + "\n]\n");
            ConfigError e = assertThrows(ConfigError.class, () -> GatewayServer.builder(ConfigLoader.load(file,
                    Map.of("nemo.server.port", 0, "nemo.server.host", "127.0.0.1", "nemo.data_dir", data.toString())))
                    .start().stop());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
            assertTrue(e.getMessage().startsWith(file + ":2: "), e.getMessage());
            return e.getMessage().substring((file + ":2: ").length());
        } finally {
            Files.delete(file);
            TestGateway.deleteTree(data);
        }
    }

    @Test
    void badFaultSettingsStopStartUpNamingTheKey() throws Exception {
        String m = "{ name = m, provider = mock, mock { ";
        assertEquals("model \"m\".mock.error_rate: must be between 0.0 and 1.0", startUpError(m + "error_rate = 1.5 } }"));
        assertEquals("model \"m\".mock.error_rate: must be between 0.0 and 1.0", startUpError(m + "error_rate = -0.1 } }"));
        assertEquals("model \"m\".mock.error_status: must be an error status, between 400 and 599",
                startUpError(m + "error_status = 200 } }"));
        assertEquals("model \"m\".mock.error_status: must be an error status, between 400 and 599",
                startUpError(m + "error_status = 600 } }"));
        assertEquals("model \"m\".mock.error_retry_after: must not be negative", startUpError(m + "error_retry_after = -1s } }"));
        assertEquals("model \"m\".mock.latency_jitter: must not be negative", startUpError(m + "latency_jitter = -5ms } }"));
        assertEquals("model \"m\".mock.latency: must not be negative", startUpError(m + "latency = -5ms } }"));
        assertEquals("model \"m\".mock.fail_after_chunks: must be 0 (never) or more", startUpError(m + "fail_after_chunks = -1 } }"));
        assertEquals("model \"m\".mock.fail_after_chunks: must be at most chunks (4), or no stream ever breaks",
                startUpError(m + "chunks = 4, fail_after_chunks = 5 } }"));
        String type = startUpError(m + "error_rate = often } }");
        assertTrue(type.contains("error_rate"), "a value of the wrong type names the key too: " + type);
        String unknown = startUpError(m + "error_rat = 0.5 } }");
        assertTrue(unknown.startsWith("model \"m\".mock.error_rat: unknown key (known: "), unknown);
        for (String key : List.of("error_rate", "error_status", "error_retry_after", "latency_jitter", "fail_after_chunks")) {
            assertTrue(unknown.contains(key), "lists " + key + ": " + unknown);
        }
        assertTrue(unknown.contains("chunk_delay"), "and the old keys: " + unknown);
    }

    @Test
    void aBrokenStreamEndsWholeAndItsConnectionServesTheNextRequest() throws Exception {
        try (TestGateway gw = gateway("""
                  { name = breaking, provider = mock, mock { chunks = 6, fail_after_chunks = 2 } }
                  { name = steady, provider = mock }
                """);
             java.net.Socket socket = new java.net.Socket("127.0.0.1", gw.port())) {
            socket.setSoTimeout(5000);
            var out = socket.getOutputStream();
            var in = new java.io.BufferedInputStream(socket.getInputStream());
            out.write(request(TestGateway.chat("breaking", true)));
            out.flush();
            String first = readUntil(in, "\r\n0\r\n\r\n"); // the chunked answer's last chunk
            assertTrue(first.contains("upstream_disconnected"), first);
            // the same connection, the next request: answered (before, the gateway closed it after the error event)
            out.write(request(TestGateway.chat("steady", false)));
            out.flush();
            String second = readUntil(in, "\"finish_reason\"");
            assertTrue(second.startsWith("HTTP/1.1 200"), second);
        }
    }

    private static byte[] request(String body) {
        byte[] b = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return ("POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: "
                + b.length + "\r\n\r\n" + body).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** What the connection sends until {@code end} has come (fails on a closed connection or after the timeout). */
    private static String readUntil(java.io.InputStream in, String end) throws java.io.IOException {
        StringBuilder got = new StringBuilder();
        while (got.indexOf(end) < 0) {
            int c = in.read();
            if (c < 0) {
                throw new java.io.EOFException("closed after: " + got);
            }
            got.append((char) c);
        }
        return got.toString();
    }
}
