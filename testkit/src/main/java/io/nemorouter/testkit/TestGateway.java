package io.nemorouter.testkit;

import io.nemorouter.core.config.ConfigLoader;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.provider.ProviderFactory;
import io.nemorouter.core.server.GatewayServer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The real gateway on an ephemeral loopback port, for an extension's tests: started from a HOCON
 * snippet, with extensions and providers given in code besides those on the class path, and an
 * HTTP client to talk to it.
 *
 * <pre>{@code
 * try (ScriptableUpstream upstream = new ScriptableUpstream();
 *      TestGateway gw = TestGateway.builder()
 *              .config("nemo.models = [" + upstream.model("gpt", "gpt-4o") + "]")
 *              .extension(new MyExtension())
 *              .start()) {
 *     HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("gpt", false));
 * }
 * }</pre>
 */
public final class TestGateway implements AutoCloseable {
    private final GatewayServer server;
    private final String base;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** A data directory made for this gateway, deleted on close; null when the test gave its own. */
    private final Path scratchDir;
    private final Path dataDir;

    private TestGateway(GatewayServer server, Path scratchDir, Path dataDir) {
        this.server = server;
        this.scratchDir = scratchDir;
        this.dataDir = dataDir;
        this.base = "http://127.0.0.1:" + server.port();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** What the gateway starts with. */
    public static final class Builder {
        private final StringBuilder config = new StringBuilder();
        private final List<Extension> extensions = new ArrayList<>();
        private final List<ProviderFactory> providers = new ArrayList<>();
        private Path dataDir;

        private Builder() {
            // a small key store (its files are sized up front: 100 MB at the default): the test's config may set its own
            config.append("nemo.keys.store_entries = 1000\n");
            // the response cache off: a test that sends one request twice means two upstream calls (cache tests turn it on),
            // and a small cache file when they do
            config.append("nemo.cache { enabled = false, max_entries = 1000, average_entry_size = 2 KiB }\n");
        }

        /** HOCON, added to what came before (later settings win). */
        public Builder config(String hocon) {
            config.append(hocon).append('\n');
            return this;
        }

        /** An extension besides those on the class path (replacing one of the same name). */
        public Builder extension(Extension extension) {
            extensions.add(extension);
            return this;
        }

        /** A provider besides those on the class path (replacing one of the same name). */
        public Builder provider(ProviderFactory provider) {
            providers.add(provider);
            return this;
        }

        /**
         * {@code nemo.data_dir} (stores' files), kept after close: to restart a gateway on the same
         * state. Without it each gateway gets an empty directory of its own, deleted on close.
         */
        public Builder dataDir(Path dir) {
            dataDir = dir;
            return this;
        }

        /** Starts the gateway on 127.0.0.1, on a free port, with two event loops. */
        public TestGateway start() throws Exception {
            Path file = Files.createTempFile("nemo-test", ".conf");
            Path scratch = dataDir == null ? Files.createTempDirectory("nemo-test-data") : null;
            try {
                Files.writeString(file, config);
                GatewayServer.Builder b = GatewayServer.builder(ConfigLoader.load(file,
                        Map.of("nemo.server.port", 0, "nemo.server.host", "127.0.0.1", "nemo.server.io_threads", 2,
                                "nemo.data_dir", (dataDir != null ? dataDir : scratch).toString())));
                extensions.forEach(b::extension);
                providers.forEach(b::provider);
                TestGateway gw = new TestGateway(b.start(), scratch, dataDir != null ? dataDir : scratch);
                scratch = null;
                return gw;
            } finally {
                Files.deleteIfExists(file);
                if (scratch != null) {
                    deleteTree(scratch);
                }
            }
        }
    }

    /** Its {@code nemo.data_dir}: the stores' files and the request log. */
    public Path dataDir() {
        return dataDir;
    }

    /** {@code http://127.0.0.1:<port>}. */
    public String base() {
        return base;
    }

    public int port() {
        return server.port();
    }

    public GatewayServer server() {
        return server;
    }

    public HttpClient http() {
        return http;
    }

    /** A POST of {@code json} to {@code path}, with {@code headers} given as name, value, name, value... */
    public HttpResponse<String> post(String path, String json, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(base + path)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            r.header(headers[i], headers[i + 1]);
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A GET of {@code path}, with {@code headers} given as name, value, name, value... */
    public HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(base + path)).GET();
        for (int i = 0; i + 1 < headers.length; i += 2) {
            r.header(headers[i], headers[i + 1]);
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Waits, up to five seconds, until every request the gateway has received has finished: its
     * answer's listeners have run (a key's spend settled, its parallel place given back). The
     * answer's last byte reaches the client a moment before that, so a test that reads spend or
     * limits right after a call, possibly on the other event loop, calls this first.
     */
    public void awaitIdle() throws InterruptedException {
        long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (server.runtime().metrics.inFlight() > 0 && System.nanoTime() < until) {
            Thread.sleep(2);
        }
    }

    /**
     * The newest {@code n} request-log records ({@code GET /spend/logs?limit=n} read with
     * {@code masterKey}), waiting up to two seconds for them: the log's writer thread has a record a
     * moment after its answer. Fewer when fewer came.
     */
    public com.fasterxml.jackson.databind.JsonNode awaitLogs(int n, String masterKey) throws IOException, InterruptedException {
        com.fasterxml.jackson.databind.JsonNode data = LOGS.createArrayNode();
        for (int i = 0; i < 100 && data.size() < n; i++) {
            Thread.sleep(20);
            data = LOGS.readTree(get("/spend/logs?limit=" + n, "authorization", "Bearer " + masterKey).body()).get("data");
        }
        return data;
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper LOGS = new com.fasterxml.jackson.databind.ObjectMapper();

    /** A chat completion request for {@code model} with one user message; {@code stream} as asked. */
    public static String chat(String model, boolean stream) {
        return "{\"model\":\"" + model + "\",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the test\"}]}";
    }

    /** Stops the gateway at once (no drain) and closes its extensions. */
    @Override
    public void close() {
        server.stop();
        if (scratchDir != null) {
            deleteTree(scratchDir);
        }
    }

    /** Deletes {@code dir} and all below it; what cannot be deleted is left (a temporary directory, not a failure). */
    public static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is not a test failure
        }
    }
}
