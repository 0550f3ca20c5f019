package io.nemorouter.server;

import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.server.GatewayServer;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shutdown: stop accepting, let in-flight streams finish, exit 0 on SIGTERM. */
class DrainTest {
    private static final String SLOW_MOCK = "nemo.models = [ { name = \"slow\", provider = mock,"
            + " mock { chunks = 10, chunk_delay = 100ms } } ]\n";
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private CompletableFuture<HttpResponse<String>> startStream(int port) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(Gateway.chat("slow", true))).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static boolean refusesConnections(int port) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                Thread.sleep(20);
            } catch (java.net.SocketException refused) {
                return true; // refused, or reset: a connect racing the listener's close is reset, not refused
            }
        }
        return false;
    }

    /** Waits until a request besides the /metrics scrape itself is in flight. */
    private void awaitInFlight(int port) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            String m = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            for (String line : m.split("\n")) {
                if (line.startsWith("nemo_requests_in_flight ") && Double.parseDouble(line.substring(24)) >= 2) {
                    return;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the stream never started");
    }

    @Test
    void drainLetsInFlightStreamsFinishAndRefusesNewConnections() throws Exception {
        Gateway gw = Gateway.start(SLOW_MOCK);
        int port = gw.server.port();
        CompletableFuture<HttpResponse<String>> stream = startStream(port);
        awaitInFlight(port); // the stream is under way
        CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> {
            try {
                return gw.server.drainAndStop(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(refusesConnections(port), "no new connections once draining");
        HttpResponse<String> r = stream.get(10, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertTrue(r.body().endsWith("data: [DONE]\n\n"), r.body());
        assertTrue(drained.get(10, TimeUnit.SECONDS));
    }

    @Test
    void sigtermDrainsAndExitsZero() throws Exception {
        Path conf = Files.createTempFile("drain", ".conf");
        Files.writeString(conf, SLOW_MOCK + "nemo.server.host = \"127.0.0.1\"\n" + GatewayProcess.scratchDataDir());
        List<String> cmd = GatewayProcess.command("--config", conf.toString(), "--port", "0");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = -1;
            for (String line; (line = out.readLine()) != null; ) {
                int at = line.indexOf("ready on http://");
                if (at >= 0) {
                    String rest = line.substring(line.indexOf(':', at + 16) + 1);
                    port = Integer.parseInt(rest.substring(0, rest.indexOf('/')));
                    break;
                }
            }
            assertTrue(port > 0, "the gateway announced its port");
            CompletableFuture<HttpResponse<String>> stream = startStream(port);
            awaitInFlight(port);
            p.destroy(); // SIGTERM
            HttpResponse<String> r = stream.get(10, TimeUnit.SECONDS);
            assertTrue(r.body().endsWith("data: [DONE]\n\n"), "the in-flight stream completed: " + r.body());
            assertTrue(p.waitFor(15, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
            Files.delete(conf);
        }
    }

    @Test
    void idleKeepAliveConnectionsAreClosedAfterTheIdleTimeout() throws Exception {
        try (Gateway gw = Gateway.start(SLOW_MOCK + "nemo.server.idle_timeout = 300ms\n");
             Socket s = new Socket("127.0.0.1", gw.server.port())) {
            s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.setSoTimeout(5000);
            byte[] buf = new byte[1024];
            int n = s.getInputStream().read(buf);
            assertTrue(new String(buf, 0, n, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"));
            long t0 = System.nanoTime();
            assertEquals(-1, s.getInputStream().read(buf), "the gateway closed the idle connection");
            assertTrue(System.nanoTime() - t0 < 4_000_000_000L);
        }
    }

    @Test
    void aBadConfigStopsStartWithOneLineAndExit2() throws Exception {
        Path conf = Files.createTempFile("bad", ".conf");
        Files.writeString(conf, "nemo.models = [ { provider = mock } ]\n");
        Process p = new ProcessBuilder(GatewayProcess.command("--config", conf.toString())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(15, TimeUnit.SECONDS));
        Files.delete(conf);
        assertEquals(2, p.exitValue());
        assertTrue(out.contains("nemo-router: bad config: ") && out.contains("nemo.models[0].name: is required"), out);
        assertTrue(!out.contains("\tat "), "no stack trace: " + out);
    }

    @Test
    void aTakenPortStopsStartWithOneLineAndExit2() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            Path conf = Files.createTempFile("taken", ".conf");
            Files.writeString(conf, SLOW_MOCK + "nemo.server.host = \"127.0.0.1\"\n" + GatewayProcess.scratchDataDir());
            Process p = new ProcessBuilder(GatewayProcess.command("--config", conf.toString(),
                    "--port", Integer.toString(taken.getLocalPort()))).redirectErrorStream(true).start();
            try {
                assertTrue(p.waitFor(45, TimeUnit.SECONDS), "the gateway exits instead of hanging on its event loops (after its start-up warm-up, slow on a loaded machine)");
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(2, p.exitValue(), out);
                assertTrue(out.contains("nemo-router: cannot listen: ") && out.contains("use --port"), out);
            } finally {
                p.destroyForcibly();
                Files.delete(conf);
            }
        }
    }

    /** Each event loop listens on its own SO_REUSEPORT socket; a second gateway must still find the port taken, not split it. */
    @Test
    void aSecondGatewayOnTheSamePortIsRefusedNotGivenHalfTheConnections() throws Exception {
        try (Gateway first = Gateway.start(Gateway.config(null, ""))) {
            GatewayConfig second = io.nemorouter.core.config.ConfigLoader.load(null, java.util.Map.of(
                    "nemo.server.port", first.server.port(), "nemo.server.host", "127.0.0.1", "nemo.server.io_threads", 2,
                    "nemo.data_dir", Files.createTempDirectory("second").toString()));
            Exception e = assertThrows(Exception.class, () -> GatewayServer.builder(second).start().stop());
            assertTrue(String.valueOf(e.getMessage()).contains("Address already in use"), e.toString());
            for (int i = 0; i < 20; i++) { // every connection still reaches the first gateway
                assertEquals(200, first.get("/health").statusCode());
            }
        }
    }
}
