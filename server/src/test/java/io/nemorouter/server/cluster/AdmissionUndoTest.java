package io.nemorouter.server.cluster;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An admission the gateway stopped waiting for (Redis slower than {@code nemo.cluster.timeout})
 * still runs in Redis when Redis gets to it; what it took there (a place in flight, a budget
 * reservation) must not stay taken for as long as the replica lives.
 */
class AdmissionUndoTest {

    @Test
    void admissionsThatTimedOutButRanLaterAreUndone() throws Exception {
        try (RedisProcess redis = RedisProcess.start()) {
            String prefix = RedisProcess.prefix();
            try (ClusterGateways gw = new ClusterGateways(1, redis.url(), prefix, "nemo.cluster.timeout = 100ms")) {
                // a parallel limit too small to lease: every request asks Redis
                com.fasterxml.jackson.databind.JsonNode made = gw.admin(0, "/key/generate",
                        "{\"key_alias\":\"undo\",\"max_parallel_requests\":100,\"max_budget\":1000}");
                String key = made.get("key").asText();
                String ledger = "{" + prefix + "}:ledger:key:" + made.get("key_id").asText();
                assertEquals(200, gw.chat(0, key, "before").statusCode());
                RedisClient client = RedisClient.create(redis.url());
                try (StatefulRedisConnection<String, String> c = client.connect()) {
                    // Redis holds every write (scripts included) for 1.5 s: these admissions time out, the gateway
                    // decides alone (fail_open), and Redis runs them when the pause ends
                    RedisProcess.clientPause(c, 1500, "WRITE");
                    for (int i = 0; i < 5; i++) {
                        HttpResponse<String> r = gw.chat(0, key, "during the pause " + i);
                        assertEquals(200, r.statusCode(), r.body());
                    }
                    Map<String, String> held = RedisProcess.sharesHeld(() -> c.sync().hgetall(ledger), 22, 60);
                    assertEquals(Map.of(), held, "no place or reservation is left taken by the admissions nobody waited for");
                } finally {
                    client.shutdown();
                }
                String metrics = gw.get(0, "/metrics").body();
                String line = "nemo_cluster_fallbacks_total{what=\"limits\",policy=\"fail_open\",} ";
                double alone = metrics.lines().filter(l -> l.startsWith(line)).mapToDouble(l -> Double.parseDouble(l.substring(line.length())))
                        .sum();
                assertTrue(alone >= 3, "admissions timed out, and the gateway decided alone: " + alone);
            }
        }
    }
}
