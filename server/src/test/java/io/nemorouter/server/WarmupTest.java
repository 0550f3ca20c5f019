package io.nemorouter.server;

import io.nemorouter.core.config.ConfigLoader;
import io.nemorouter.core.config.GatewayConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The start-up warm-up drives every shape of its cycle through a private gateway without a failure. */
class WarmupTest {
    @Test
    void everyWarmupRequestIsAnswered() {
        GatewayConfig config = ConfigLoader.load(null, Map.of("nemo.server.io_threads", 2));
        Warmup.Result r = Warmup.run(config, Duration.ofSeconds(20), 600); // 10 cycles of its 60 shapes
        assertEquals(0, r.failed());
        assertTrue(r.requests() >= 600, "requests: " + r.requests());
        assertTrue(r.keyed(), "its requests carried a virtual key of its own store (auth, limits, budget warmed too)");
    }
}
