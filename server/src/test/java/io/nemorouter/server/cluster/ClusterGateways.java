package io.nemorouter.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.server.GatewayProcess;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Gateway processes of one cluster (each in its own JVM, as a replica on its own VM runs), on one
 * Redis under one prefix, each with its own data directory, in front of the built-in mock model
 * {@code m}. Started in parallel; ready when each answers {@code /health}.
 */
final class ClusterGateways implements AutoCloseable {
    static final String MASTER = "sk-master-cluster-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    final List<String> bases = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final Path dir;

    /** {@code extra}: more config lines for every replica (e.g. {@code nemo.cluster.on_redis_error = fail_closed}). */
    ClusterGateways(int replicas, String redisUrl, String prefix, String extra) throws Exception {
        this(java.util.Collections.nCopies(replicas, redisUrl), prefix, extra);
    }

    /** One replica for each of {@code redisUrls}: the URL it is given (one node of a Redis Cluster, or the list of them). */
    ClusterGateways(List<String> redisUrls, String prefix, String extra) throws Exception {
        int replicas = redisUrls.size();
        dir = Files.createTempDirectory("nemo-cluster");
        List<Path> logs = new ArrayList<>();
        int[] ports = distinctFreePorts(replicas);
        for (int i = 0; i < replicas; i++) {
            int port = ports[i];
            Path conf = dir.resolve("gw-" + i + ".conf");
            Files.writeString(conf, """
                    nemo {
                      server { host = "127.0.0.1", warmup = 0s }
                      data_dir = "%s"
                      keys.master_key = "%s"
                      cluster { redis = "%s", prefix = "%s", replica_id = "r%d", timeout = 2s }
                      models = [ { name = "m", provider = mock, input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 } ]
                    }
                    %s
                    """.formatted(dir.resolve("data-" + i), MASTER, redisUrls.get(i), prefix, i, extra));
            Path log = dir.resolve("gw-" + i + ".log");
            logs.add(log);
            processes.add(new ProcessBuilder(GatewayProcess.command("--config", conf.toString(), "--port", Integer.toString(port)))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start());
            bases.add("http://127.0.0.1:" + port);
        }
        try {
            for (int i = 0; i < replicas; i++) {
                awaitHealth(i, logs.get(i));
            }
        } catch (Exception | Error e) { // none left running behind a failed start
            close();
            throw e;
        }
    }

    /**
     * {@code n} free ports, all different: each socket is held until all are chosen (closed one by
     * one, the same port could come back twice; two replicas on one port both listen, the gateway's
     * sockets using SO_REUSEPORT, and share its connections: replica 0's /health answered as r1, in CI).
     */
    private static int[] distinctFreePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    private void awaitHealth(int i, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            if (!processes.get(i).isAlive()) {
                throw new AssertionError("replica " + i + " exited: " + Files.readString(log));
            }
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(bases.get(i) + "/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("replica " + i + " did not start: " + Files.readString(log));
    }

    String log(int i) throws IOException {
        return Files.readString(dir.resolve("gw-" + i + ".log"));
    }

    /** Sends on {@code replica} until it answers {@code want}, for at most {@code within} after {@code since}; the last status. */
    int until(int replica, String key, int want, long since, Duration within) throws Exception {
        int status;
        do {
            status = chat(replica, key, "hello").statusCode();
            if (status == want) {
                return status;
            }
            Thread.sleep(20);
        } while (System.nanoTime() - since < within.toNanos());
        return status;
    }

    HttpResponse<String> chat(int replica, String key, String content) throws Exception {
        return chat(replica, key, content, "m");
    }

    HttpResponse<String> chat(int replica, String key, String content, String model) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(bases.get(replica) + "/v1/chat/completions"))
                .header("authorization", "Bearer " + key).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"" + content + "\"}]}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode admin(int replica, String path, String body) throws Exception {
        return ok(replica, path, adminCall(replica, path, body));
    }

    /**
     * {@link #admin}, sent again while the answer is a 503 (the store cannot reach Redis: a master was just
     * lost and the gateway has not yet followed the cluster to its successor), for at most {@code within}.
     */
    JsonNode adminOnceFollowed(int replica, String path, String body, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        HttpResponse<String> r = adminCall(replica, path, body);
        while (r.statusCode() == 503 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            r = adminCall(replica, path, body);
        }
        return ok(replica, path, r);
    }

    private HttpResponse<String> adminCall(int replica, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(bases.get(replica) + path)).header("authorization", "Bearer " + MASTER)
                .timeout(Duration.ofSeconds(10));
        return http.send(body == null ? b.GET().build() : b.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode ok(int replica, String path, HttpResponse<String> r) throws Exception {
        if (r.statusCode() != 200) {
            throw new AssertionError(path + " on replica " + replica + ": " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body());
    }

    HttpResponse<String> get(int replica, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(bases.get(replica) + path)).header("authorization", "Bearer " + MASTER)
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        io.nemorouter.testkit.TestGateway.deleteTree(dir);
    }
}
