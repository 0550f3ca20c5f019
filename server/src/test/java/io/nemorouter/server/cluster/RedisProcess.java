package io.nemorouter.server.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} (the Debian package) for the cluster tests: {@link #shared()} is the
 * one {@code .ci/run} starts ({@code NEMO_TEST_REDIS_URL}), or one started for this JVM; tests on it
 * keep apart by a prefix of their own ({@link #prefix()}). {@link #start()} gives a private one a test
 * may kill and restart on the same port.
 */
public final class RedisProcess implements AutoCloseable {
    private static RedisProcess shared;
    private final int port;
    private final Path dir;
    private final boolean durable;
    /** More arguments for redis-server (a password), or a sentinel's config file as the first. */
    private final List<String> extra;
    private Process process;

    private RedisProcess(int port, Path dir, boolean durable, List<String> extra) {
        this.port = port;
        this.dir = dir;
        this.durable = durable;
        this.extra = extra;
    }

    /** A Redis for tests that do not stop it. */
    public static synchronized String sharedUrl() throws IOException {
        String url = System.getenv("NEMO_TEST_REDIS_URL");
        if (url != null && !url.isBlank()) {
            return url;
        }
        if (shared == null) {
            shared = start();
            Runtime.getRuntime().addShutdownHook(new Thread(shared::close));
        }
        return shared.url();
    }

    /** A fresh prefix: a test's keys, apart from every other test's on the same Redis. */
    public static String prefix() {
        return "t-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** A private Redis on a free loopback port, without persistence. */
    public static RedisProcess start() throws IOException {
        return start(false);
    }

    /**
     * A private Redis; {@code durable}: with an append-only file synced on every write, so what it
     * acknowledged survives {@link #kill()} and {@link #restart()}, as a production Redis's would.
     */
    public static RedisProcess start(boolean durable) throws IOException {
        return start(durable, List.of());
    }

    /** A private Redis with more arguments, e.g. {@code --requirepass secret}. */
    public static RedisProcess start(boolean durable, List<String> extra) throws IOException {
        RedisProcess r = new RedisProcess(freePort(), Files.createTempDirectory("nemo-redis"), durable, extra);
        r.launch();
        return r;
    }

    /** A Sentinel watching the Redis on {@code masterPort} as {@code mymaster} (quorum 1). */
    public static RedisProcess sentinel(int masterPort) throws IOException {
        int port = freePort();
        Path dir = Files.createTempDirectory("nemo-sentinel");
        Path conf = dir.resolve("sentinel.conf"); // Sentinel rewrites its config file: one of its own
        Files.writeString(conf, "port " + port + "\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 " + masterPort + " 1\n"
                + "sentinel down-after-milliseconds mymaster 5000\n");
        RedisProcess r = new RedisProcess(port, dir, false, List.of(conf.toString(), "--sentinel"));
        r.launch();
        return r;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    private void launch() throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(binary()));
        if (!extra.isEmpty() && extra.get(extra.size() - 1).equals("--sentinel")) {
            cmd.addAll(extra);
        } else {
            cmd.addAll(List.of("--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", durable ? "yes" : "no",
                    "--appendfsync", "always", "--dir", dir.toString(), "--protected-mode", "no"));
            cmd.addAll(extra);
        }
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (ping()) {
                return;
            }
            if (!process.isAlive()) {
                throw new IOException("redis-server exited: " + Files.readString(dir.resolve("redis.log")));
            }
            sleep(20);
        }
        throw new IOException("redis-server did not answer on port " + port + " within 10 s");
    }

    private static String binary() {
        for (String p : List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        throw new IllegalStateException("the cluster tests need redis-server: apt-get install redis-server (.ci/run does)");
    }

    /** Whether Redis answers PING (a raw RESP exchange, so the test does not lean on the client under test). */
    public boolean ping() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(1000);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] b = new byte[7];
            int n = in.read(b);
            String answer = n > 0 ? new String(b, 0, n, StandardCharsets.US_ASCII) : "";
            return answer.startsWith("+PONG") || answer.startsWith("-NOAUTH"); // up, and asking for its password
        } catch (IOException e) {
            return false;
        }
    }

    /** {@code CLIENT PAUSE millis mode}: Redis holds its clients' commands ({@code WRITE}: those that write, scripts included; {@code ALL}). */
    public static void clientPause(io.lettuce.core.api.StatefulRedisConnection<String, String> c, int millis, String mode) {
        io.lettuce.core.codec.StringCodec codec = io.lettuce.core.codec.StringCodec.UTF8;
        c.sync().dispatch(io.lettuce.core.protocol.CommandType.CLIENT, new io.lettuce.core.output.StatusOutput<>(codec),
                new io.lettuce.core.protocol.CommandArgs<>(codec).add("PAUSE").add(millis).add(mode));
    }

    /**
     * The shares replicas hold at a ledger ({@code res:} and {@code par:} fields above 0), read every
     * 100 ms until none is left, at least {@code minReads} times (a share may yet be taken) and at
     * most {@code maxReads}; the last read.
     */
    public static java.util.Map<String, String> sharesHeld(java.util.function.Supplier<java.util.Map<String, String>> ledger, int minReads,
                                                          int maxReads) throws InterruptedException {
        java.util.Map<String, String> held = java.util.Map.of();
        for (int reads = 1; reads <= maxReads; reads++) {
            Thread.sleep(100);
            held = new java.util.TreeMap<>(ledger.get());
            held.keySet().removeIf(f -> !f.startsWith("res:") && !f.startsWith("par:"));
            held.values().removeIf(v -> Long.parseLong(v) <= 0);
            if (held.isEmpty() && reads >= minReads) {
                break;
            }
        }
        return held;
    }

    /** SIGKILL: Redis gone at once, as a crash or a network cut looks to the gateways. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Starts it again on the same port after {@link #kill()}: empty, or with what it had when durable. */
    public void restart() throws IOException {
        launch();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (process != null) {
            process.destroyForcibly();
        }
        io.nemorouter.testkit.TestGateway.deleteTree(dir);
    }
}
