package io.nemorouter.server;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * A gateway process on a directory of its own (its config, its data directory {@code data/}, its
 * logs), which a crash test kills with {@code kill -9} and starts again on the same directory and port.
 */
public final class KillableGateway implements AutoCloseable {
    /** The test's directory: {@code gw.conf}, {@code data/} and each start's log. */
    public final Path dir;
    private final Path conf;
    private final int port;
    private Process process;

    /** {@code config}: the gateway's config text, given its data directory. */
    public KillableGateway(String name, Function<Path, String> config) throws IOException {
        dir = Files.createTempDirectory(name);
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        conf = dir.resolve("gw.conf");
        Files.writeString(conf, config.apply(dir.resolve("data")));
    }

    public String base() {
        return "http://127.0.0.1:" + port;
    }

    /** Starts the gateway, its output in {@code log} under {@link #dir}, and waits until {@code /health} answers. */
    public void start(String log) throws Exception {
        process = GatewayProcess.start(conf, port, dir.resolve(log));
    }

    /** SIGKILL: no shutdown hook, no close. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            kill();
        }
        io.nemorouter.testkit.TestGateway.deleteTree(dir);
    }
}
