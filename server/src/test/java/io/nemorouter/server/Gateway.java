package io.nemorouter.server;

import io.nemorouter.core.config.ConfigLoader;
import io.nemorouter.core.config.GatewayConfig;
import io.nemorouter.core.server.GatewayServer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/** The real gateway on an ephemeral loopback port, started from a HOCON snippet, with an HTTP client. */
final class Gateway implements AutoCloseable {
    final GatewayServer server;
    final String base;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** The gateway's own data directory (stores, the request log), deleted on close. */
    final Path dataDir;

    private Gateway(GatewayServer server, Path dataDir) {
        this.server = server;
        this.dataDir = dataDir;
        this.base = "http://127.0.0.1:" + server.port();
    }

    static Gateway start(String hocon) throws Exception {
        Path file = Files.createTempFile("nemo-test", ".conf");
        Files.writeString(file, "nemo.cache.enabled = false\nnemo.keys.store_entries = 1000\n" + hocon);
        Path data = Files.createTempDirectory("nemo-test-data");
        try {
            GatewayConfig config = ConfigLoader.load(file, Map.of("nemo.server.port", 0, "nemo.server.host", "127.0.0.1",
                    "nemo.server.io_threads", 2, "nemo.data_dir", data.toString()));
            return new Gateway(GatewayServer.builder(config).start(), data);
        } catch (Exception | Error e) {
            io.nemorouter.testkit.TestGateway.deleteTree(data);
            throw e;
        } finally {
            Files.delete(file);
        }
    }

    /** A catalog with the built-in mock models and every test-upstream scenario as {@code name -> model}. */
    static String config(TestUpstream upstream, String extra) {
        StringBuilder b = new StringBuilder("nemo.models = [\n");
        b.append("  { name = \"mock-chat\", provider = mock, input_cost_per_mtok = 1, output_cost_per_mtok = 2 }\n");
        b.append("  { name = \"mock-embed\", provider = mock, mock { dimensions = 8 }, input_cost_per_mtok = 1 }\n");
        if (upstream != null) {
            for (String m : new String[]{"echo", "stall", "status-429", "status-500", "big", "stream-gated",
                    "stream-forever", "stream-reset", "stream-flood", "close-at-once", "raw-whole", "raw-split"}) {
                b.append("  { name = \"up-").append(m).append("\", provider = openai, api_base = \"").append(upstream.apiBase())
                        .append("\", model = \"").append(m).append("\", api_key = \"sk-upstream-secret\",")
                        .append(" input_cost_per_mtok = 2.5, output_cost_per_mtok = 10 }\n");
            }
        }
        b.append("  { name = \"nowhere\", provider = openai, api_base = \"http://127.0.0.1:1/v1\" }\n");
        return b.append("]\n").append(extra).toString();
    }

    HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base + path))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static String chat(String model, boolean stream) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the test\"}]}";
    }

    @Override
    public void close() {
        server.stop();
        io.nemorouter.testkit.TestGateway.deleteTree(dataDir);
    }
}
