package io.nemorouter.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SSE relay: no buffering, backpressure, cancellation both ways, clean ends on failure. */
class StreamingTest {
    private TestUpstream upstream;
    private Gateway gw;

    @BeforeEach
    void start() throws Exception {
        upstream = new TestUpstream();
        gw = Gateway.start(Gateway.config(upstream, "nemo.upstream.total_timeout = 3s\n"));
    }

    @AfterEach
    void stop() {
        gw.close();
        upstream.close();
    }

    private HttpResponse<InputStream> openStream(String model) throws Exception {
        return gw.http.send(HttpRequest.newBuilder(URI.create(gw.base + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(Gateway.chat(model, true))).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    @Test
    void theFirstChunkReachesTheClientBeforeTheUpstreamHasFinished() throws Exception {
        HttpResponse<InputStream> r = openStream("up-stream-gated");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        String first = lines.readLine();
        assertTrue(first.contains("\"first\""), first);
        assertFalse(upstream.gate.isDone(), "the upstream is still holding the rest of its stream");
        upstream.gate.complete(null);
        StringBuilder rest = new StringBuilder();
        for (String l; (l = lines.readLine()) != null; ) {
            rest.append(l).append('\n');
        }
        assertTrue(rest.toString().contains("\"second\""), rest.toString());
        assertTrue(rest.toString().contains("data: [DONE]"), rest.toString());
    }

    @Test
    void aClientThatDisconnectsClosesTheUpstreamRequest() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.server.port())) {
            String body = Gateway.chat("up-stream-forever", true);
            s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            byte[] buf = new byte[4096];
            int n = s.getInputStream().read(buf);
            assertTrue(new String(buf, 0, n, StandardCharsets.UTF_8).startsWith("HTTP/1.1 200"));
            assertFalse(upstream.foreverClosed.isDone());
        }
        upstream.foreverClosed.get(5, TimeUnit.SECONDS); // throws if the upstream stream keeps going
    }

    @Test
    void anUpstreamThatDiesMidStreamEndsTheStreamWithAnErrorEvent() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("up-stream-reset", true));
        assertEquals(200, r.statusCode());
        String body = r.body(); // completes: the chunked stream was terminated cleanly
        assertTrue(body.contains("\"one\"") && body.contains("\"two\""), body);
        String[] events = body.split("\n\n");
        String last = events[events.length - 1];
        assertTrue(last.startsWith("data: {\"error\":"), last);
        assertTrue(last.contains("upstream_disconnected"), last);
    }

    @Test
    void anUpstreamThatStreamsPastTheTotalTimeoutIsCutWithAnErrorEvent() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", Gateway.chat("up-stream-forever", true));
        String[] events = r.body().split("\n\n");
        assertTrue(events.length > 3, "ticks were relayed before the cut");
        assertTrue(events[events.length - 1].contains("upstream_timeout"), events[events.length - 1]);
    }

    @Test
    void aSlowReaderHoldsBackTheUpstream() throws Exception {
        HttpResponse<InputStream> r = openStream("up-stream-flood");
        assertEquals(200, r.statusCode());
        InputStream in = r.body();
        in.read(new byte[1024]);
        Thread.sleep(1500); // the client reads nothing: buffers fill, the gateway must stop reading the upstream
        long held = upstream.floodBytes.get();
        assertTrue(held < 64L << 20, "upstream pushed " + held + " bytes into a client that reads nothing");
        // and reading resumes the flow
        byte[] buf = new byte[1 << 16];
        long read = 0;
        while (read < held + (8L << 20)) {
            int n = in.read(buf);
            assertTrue(n > 0);
            read += n;
        }
        assertTrue(upstream.floodBytes.get() > held, "the upstream was resumed");
        in.close();
    }
}
