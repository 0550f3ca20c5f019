package io.nemorouter.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the openai provider sends upstream, and what comes back, through a real upstream server. */
class ProxyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private TestUpstream upstream;
    private Gateway gw;

    @BeforeEach
    void start() throws Exception {
        upstream = new TestUpstream();
        gw = Gateway.start(Gateway.config(upstream, ""));
    }

    @AfterEach
    void stop() {
        gw.close();
        upstream.close();
    }

    @Test
    void forwardsTheBodyWithOnlyTheModelRenamedAndGatewayFieldsRemoved() throws Exception {
        String sent = "{\"model\":\"up-echo\",\"nemo_cache\":false,\"messages\":[{\"role\":\"user\",\"content\":\"héllo\"}],"
                + "\"temperature\":0.2,\"tags\":[\"batch\"]}";
        HttpResponse<String> r = gw.post("/v1/chat/completions", sent);
        assertEquals(200, r.statusCode(), r.body());
        TestUpstream.Received got = upstream.last();
        assertEquals("/v1/chat/completions", got.uri());
        assertEquals("{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"héllo\"}],\"temperature\":0.2}", got.body());
        assertEquals("Bearer sk-upstream-secret", got.headers().get("authorization"));
        assertEquals("127.0.0.1:" + upstream.port(), got.headers().get("host"));
        assertEquals(r.headers().firstValue("x-request-id").orElseThrow(), got.headers().get("x-request-id"));
    }

    @Test
    void passesTheAnswerThroughUnchangedWithGatewayHeadersAndCost() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("up-echo", false));
        assertEquals(TestUpstream.chatJson("echo", "hello from upstream"), r.body());
        assertEquals("openai/echo", r.headers().firstValue("x-nemo-model").orElseThrow());
        // usage 1000 prompt + 500 completion at $2.5 / $10 per million tokens
        assertEquals(0.0075, Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElseThrow()), 1e-12);
        assertTrue(r.headers().firstValue("x-nemo-overhead-ms").isPresent());
    }

    /**
     * Whether an answer arrives in one read (the fast way, copied as bytes) or in pieces (through the
     * general decoder), the client gets the same thing: the upstream's headers and body, hop-by-hop
     * headers and the upstream's request id and x-nemo-* headers replaced by the gateway's own.
     */
    @Test
    void anAnswerReadWholeOrInPiecesReachesTheClientTheSame() throws Exception {
        for (String model : new String[]{"raw-whole", "raw-split", "raw-whole"}) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("up-" + model, false));
            assertEquals(200, r.statusCode(), model);
            assertEquals(TestUpstream.chatJson(model, "hello from upstream"), r.body(), model);
            var h = r.headers();
            assertEquals("application/json", h.firstValue("content-type").orElseThrow(), model);
            assertEquals("kept", h.firstValue("x-upstream").orElseThrow(), model);
            assertEquals("12", h.firstValue("openai-processing-ms").orElseThrow(), model);
            assertEquals(java.util.List.of("openai/" + model), h.allValues("x-nemo-model"), model);
            assertEquals(java.util.List.of("0.0075"), h.allValues("x-nemo-response-cost"), model);
            assertEquals(1, h.allValues("x-request-id").size(), model);
            assertFalse(h.firstValue("x-request-id").orElseThrow().equals("upstream-id"), model);
            assertFalse(h.firstValue("keep-alive").isPresent(), model);
            assertFalse(h.firstValue("proxy-connection").isPresent(), model);
            assertEquals(String.valueOf(r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length),
                    h.firstValue("content-length").orElseThrow(), model);
        }
        assertEquals(1, upstream.connections.get(), "the upstream connection is reused after either way");
    }

    /** Sends a chat request with these extra headers (name, value, ...) and returns what the upstream received. */
    private TestUpstream.Received chatWithHeaders(String... headers) throws Exception {
        gw.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base + "/v1/chat/completions"))
                        .headers(headers)
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(Gateway.chat("up-echo", false))).build(),
                HttpResponse.BodyHandlers.ofString());
        return upstream.last();
    }

    @Test
    void theUpstreamGetsOneContentTypeAndLengthWhateverTheClientSent() throws Exception {
        TestUpstream.Received got = chatWithHeaders("content-type", "application/json; charset=utf-8", "x-trace", "t-1");
        assertEquals(java.util.List.of("application/json"), got.headers().getAll("content-type"));
        assertEquals(java.util.List.of(Integer.toString(got.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length)),
                got.headers().getAll("content-length"));
        assertEquals(1, got.headers().getAll("host").size());
        assertEquals("t-1", got.headers().get("x-trace"));
    }

    @Test
    void theClientsKeyNeverReachesTheUpstream() throws Exception {
        TestUpstream.Received got = chatWithHeaders("authorization", "Bearer sk-client-virtual-key", "openai-organization", "org-1");
        assertEquals("Bearer sk-upstream-secret", got.headers().get("authorization"));
        assertEquals("org-1", got.headers().get("openai-organization"));
    }

    @Test
    void embeddingsGoToTheEmbeddingsPath() throws Exception {
        gw.post("/v1/embeddings", "{\"model\":\"up-echo\",\"input\":\"x\"}");
        assertEquals("/v1/embeddings", upstream.last().uri());
    }

    @Test
    void reusesUpstreamConnections() throws Exception {
        for (int i = 0; i < 20; i++) {
            assertEquals(200, gw.post("/v1/chat/completions", Gateway.chat("up-echo", false)).statusCode());
        }
        // one per event loop at most, not one per request
        assertTrue(upstream.connections.get() <= 2, "connections: " + upstream.connections.get());
    }

    @Test
    void retriesOnceWhenAPooledConnectionIsClosedInsteadOfAnswered() throws Exception {
        assertEquals(200, gw.post("/v1/chat/completions", Gateway.chat("up-echo", false)).statusCode());
        int before = upstream.connections.get();
        // the race every keep-alive pool meets: the server closes an idle connection as we reuse it
        upstream.dropNextRequest = true;
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("up-echo", false));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(before + 1, upstream.connections.get(), "retried on a new connection");
        assertEquals(3, upstream.received.size());
    }

    @Test
    void aFreshConnectionClosedWithoutAnswerIsNotRetried() throws Exception {
        assertEquals(502, gw.post("/v1/chat/completions", Gateway.chat("up-close-at-once", false)).statusCode());
        assertEquals(1, upstream.received.size());
    }

    @Test
    void largeAnswersAreRelayedWithoutTheCostHeader() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("up-big", false));
        assertEquals(200, r.statusCode());
        JsonNode body = JSON.readTree(r.body());
        assertEquals(6 * 1024 * 1024, body.at("/choices/0/message/content").asText().length());
        assertFalse(r.headers().firstValue("x-nemo-response-cost").isPresent());
    }

    /** The body too large to hold goes out chunked, as it arrives, and its cost follows it in a trailer. */
    @Test
    void aLargeAnswersCostComesInATrailer() throws Exception {
        String req = Gateway.chat("up-big", false);
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.server.port())) {
            s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + req.length() + "\r\n\r\n" + req)
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String raw = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
            String head = raw.substring(0, raw.indexOf("\r\n\r\n")).toLowerCase(java.util.Locale.ROOT);
            assertTrue(head.contains("transfer-encoding: chunked") && head.contains("trailer: x-nemo-response-cost"), head);
            assertFalse(head.contains("content-length"), head);
            // de-chunk the body; what follows the last chunk is the trailer
            StringBuilder body = new StringBuilder();
            int at = raw.indexOf("\r\n\r\n") + 4;
            while (true) {
                int eol = raw.indexOf("\r\n", at);
                int size = Integer.parseInt(raw.substring(at, eol).trim(), 16);
                at = eol + 2;
                if (size == 0) {
                    break;
                }
                body.append(raw, at, at + size);
                at += size + 2;
            }
            assertEquals(6 * 1024 * 1024, JSON.readTree(body.toString()).at("/choices/0/message/content").asText().length());
            String trailer = raw.substring(at);
            // 1,000 prompt and 500 completion tokens at 2.5 and 10 per million
            assertTrue(trailer.startsWith("x-nemo-response-cost: 0.0075\r\n"), trailer);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.server.port())) {
            String one = Gateway.chat("up-echo", false);
            String two = Gateway.chat("mock-chat", false);
            String req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                    + one.length() + "\r\n\r\n" + one
                    + "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: "
                    + two.length() + "\r\n\r\n" + two;
            s.getOutputStream().write(req.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            int first = answer.indexOf("x-nemo-model: openai/echo");
            int second = answer.indexOf("x-nemo-model: mock/mock-chat");
            assertTrue(first > 0 && second > first, answer);
        }
    }

    /** A request in pieces goes through Netty's decoder; the whole one after it on the same connection must not lose its place. */
    @Test
    void aRequestInPiecesThenAWholeOneOnOneConnectionAreBothAnswered() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.server.port())) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(5000);
            var out = s.getOutputStream();
            String one = Gateway.chat("up-echo", false);
            String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ";
            out.write((head + one.length() + "\r\n\r\n" + one.substring(0, 10)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(50);
            out.write(one.substring(10).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(50);
            String two = Gateway.chat("mock-chat", false);
            out.write((head.replace("Host: x", "Host: x\r\nConnection: close") + two.length() + "\r\n\r\n" + two)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            int first = answer.indexOf("x-nemo-model: openai/echo");
            int second = answer.indexOf("x-nemo-model: mock/mock-chat");
            assertTrue(first > 0 && second > first, answer);
            assertEquals(2, answer.split("HTTP/1.1 200 OK", -1).length - 1, answer);
        }
    }

    @Test
    void metadataIsForwardedUntouched() throws Exception {
        gw.post("/v1/chat/completions", "{\"model\":\"up-echo\",\"metadata\":{\"job_id\":\"j1\"},\"messages\":[]}");
        assertEquals("{\"model\":\"echo\",\"metadata\":{\"job_id\":\"j1\"},\"messages\":[]}", upstream.last().body());
        assertNull(upstream.last().headers().get("x-nemo-model"));
    }
}
