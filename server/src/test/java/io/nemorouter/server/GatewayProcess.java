package io.nemorouter.server;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command that runs the gateway's {@code Main} in a JVM of its own, with this one's class path and module flags (Chronicle Map needs them). */
public final class GatewayProcess {
    private GatewayProcess() {
    }

    public static List<String> command(String... mainArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("-Dchronicle")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), "io.nemorouter.server.Main"));
        cmd.addAll(List.of(mainArgs));
        return cmd;
    }

    /**
     * Config lines for a new, empty data directory with a small key store, deleted when this JVM exits:
     * a child gateway never writes the working directory's {@code ./data}.
     */
    public static String scratchDataDir() throws java.io.IOException {
        Path dir = java.nio.file.Files.createTempDirectory("nemo-proc-data");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> io.nemorouter.testkit.TestGateway.deleteTree(dir)));
        return "nemo.data_dir = \"" + dir + "\"\nnemo.keys.store_entries = 1000\n";
    }

    /**
     * Starts the gateway with {@code conf} on {@code port}, its output in {@code log}, and waits (at
     * most a minute) until its {@code /health} answers 200.
     *
     * @throws AssertionError when it exits or does not answer in time (with its log)
     */
    public static Process start(Path conf, int port, Path log) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(2)).build();
        Process p = new ProcessBuilder(command("--config", conf.toString(), "--port", Integer.toString(port)))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError("the gateway exited: " + java.nio.file.Files.readString(log));
            }
            try {
                if (http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/health")).build(),
                        java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return p;
                }
            } catch (java.io.IOException notYet) {
                Thread.sleep(100);
            }
        }
        p.destroyForcibly();
        throw new AssertionError("the gateway did not start: " + java.nio.file.Files.readString(log));
    }
}
