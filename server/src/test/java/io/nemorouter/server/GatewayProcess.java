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

    /** A {@code nemo.data_dir} line for a new, empty directory: a child gateway never writes the working directory's {@code ./data}. */
    public static String scratchDataDir() throws java.io.IOException {
        return "nemo.data_dir = \"" + java.nio.file.Files.createTempDirectory("nemo-proc-data") + "\"\n";
    }
}
