package io.nemorouter.server.keys;

import io.nemorouter.core.config.ConfigLoader;
import io.nemorouter.core.server.GatewayServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Without a master key the gateway serves anyone who reaches it, so it listens on loopback unless told otherwise. */
class OpenModeTest {
    private final java.util.List<Path> dirs = new java.util.ArrayList<>();

    @org.junit.jupiter.api.AfterEach
    void deleteDirs() {
        dirs.forEach(io.nemorouter.testkit.TestGateway::deleteTree);
    }

    private GatewayServer start(String hocon) throws Exception {
        Path dir = Files.createTempDirectory("nemo-open");
        dirs.add(dir);
        Path file = dir.resolve("gw.conf");
        Files.writeString(file, hocon + "\nnemo.models = [ { name = m, provider = mock } ]\nnemo.server.warmup = 0s\n"
                + "nemo.data_dir = \"" + dir.resolve("data") + "\"\nnemo.keys.store_entries = 1000\n");
        return GatewayServer.builder(ConfigLoader.load(file, Map.of("nemo.server.port", 0))).start();
    }

    @Test
    void anOpenGatewayListensOnLoopbackUnlessAHostIsSet() throws Exception {
        GatewayServer open = start("");
        try {
            assertTrue(open.address().getAddress().isLoopbackAddress(), "open, no host set: " + open.address());
        } finally {
            open.stop();
        }
        GatewayServer chosen = start("nemo.server.host = \"0.0.0.0\"");
        try {
            assertTrue(chosen.address().getAddress().isAnyLocalAddress(), "the user's host wins: " + chosen.address());
        } finally {
            chosen.stop();
        }
        GatewayServer keyed = start("nemo.keys.master_key = \"sk-master-open-test-0123\"");
        try {
            assertFalse(keyed.address().getAddress().isLoopbackAddress(), "with a master key, the default host: " + keyed.address());
        } finally {
            keyed.stop();
        }
    }
}
