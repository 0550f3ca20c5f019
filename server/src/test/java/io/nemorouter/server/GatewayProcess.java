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
}
