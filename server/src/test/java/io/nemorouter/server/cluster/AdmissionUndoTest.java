package io.nemorouter.server.cluster;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.Map;
import java.util.TreeMap;

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
                    io.lettuce.core.codec.StringCodec codec = io.lettuce.core.codec.StringCodec.UTF8;
                    c.sync().dispatch(io.lettuce.core.protocol.CommandType.CLIENT, new io.lettuce.core.output.StatusOutput<>(codec),
                            new io.lettuce.core.protocol.CommandArgs<>(codec).add("PAUSE").add(1500).add("WRITE"));
                    for (int i = 0; i < 5; i++) {
                        HttpResponse<String> r = gw.chat(0, key, "during the pause " + i);
                        assertEquals(200, r.statusCode(), r.body());
                    }
                    Map<String, String> held = Map.of();
                    for (int tries = 0; tries < 60; tries++) {
                        Thread.sleep(100);
                        held = new TreeMap<>(c.sync().hgetall(ledger));
                        held.keySet().removeIf(f -> !f.startsWith("res:") && !f.startsWith("par:"));
                        held.values().removeIf(v -> Long.parseLong(v) <= 0);
                        if (held.isEmpty() && tries > 20) {
                            break;
                        }
                    }
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
