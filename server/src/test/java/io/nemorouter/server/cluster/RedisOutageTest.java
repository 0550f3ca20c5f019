package io.nemorouter.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.DoubleAdder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Redis killed under load and started again: no replica crashes or hangs, the configured policy
 * applies while it is away, and afterwards the shared ledgers hold every answered call's cost
 * (spend settled during the outage is replayed, once).
 */
class RedisOutageTest {

    @Test
    void failOpenKeepsServingAndLosesNoSpend() throws Exception {
        try (RedisProcess redis = RedisProcess.start(true);
             ClusterGateways gw = new ClusterGateways(3, redis.url(), RedisProcess.prefix(), "nemo.cache.enabled = false")) {
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                // two keys whose parallel limit is too small to lease ask Redis on every request; the third is served
                // from this replica's leases (a hundredth of its limits) and asks only to top them up
                String parallel = i < 2 ? ",\"max_parallel_requests\":100" : "";
                keys.add(gw.admin(i, "/key/generate", "{\"key_alias\":\"o" + i + "\",\"max_budget\":1000,\"rpm_limit\":100000" + parallel + "}")
                        .get("key").asText());
            }
            Thread.sleep(300);
            DoubleAdder costs = new DoubleAdder();
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            AtomicBoolean running = new AtomicBoolean(true);
            List<Thread> load = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int replica = t % 3;
                Thread th = new Thread(() -> {
                    for (int i = 0; running.get(); i++) {
                        try {
                            HttpResponse<String> r = gw.chat(replica, keys.get(i % 3), "outage " + replica + " " + i);
                            statuses.computeIfAbsent(r.statusCode(), s -> new AtomicInteger()).incrementAndGet();
                            if (r.statusCode() == 200) {
                                costs.add(Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElse("0")));
                            }
                        } catch (Exception e) {
                            statuses.computeIfAbsent(-1, s -> new AtomicInteger()).incrementAndGet();
                        }
                    }
                });
                load.add(th);
                th.start();
            }
            Thread.sleep(1500);
            redis.kill();
            Thread.sleep(500);
            for (int r = 0; r < 3; r++) { // away: the gateways say so, and go on
                HttpResponse<String> h = gw.get(r, "/health");
                assertEquals(200, h.statusCode(), h.body());
                assertEquals("degraded", ClusterGateways.JSON.readTree(h.body()).get("status").asText(), h.body());
            }
            Thread.sleep(1500);
            redis.restart();
            Thread.sleep(2500);
            running.set(false);
            for (Thread th : load) {
                th.join();
            }
            assertEquals(Map.of(200, statuses.get(200).get()).keySet(), statuses.keySet(),
                    "fail_open: every call was answered, before, during and after the outage: " + statuses);
            assertTrue(statuses.get(200).get() > 100, "the load ran: " + statuses);
            double ledgers = awaitSpend(gw, keys, costs.sum());
            assertEquals(costs.sum(), ledgers, 1e-6, "every answered call's cost is in the shared ledgers, once");
            for (int r = 0; r < 3; r++) {
                JsonNode h = ClusterGateways.JSON.readTree(gw.get(r, "/health").body());
                assertEquals("ok", h.get("status").asText(), "replica " + r + " recovered on its own: " + h);
                String log = gw.log(r);
                assertTrue(log.contains("does not answer"), "the outage is logged loudly");
            }
            HttpResponse<String> metrics = gw.get(0, "/metrics");
            assertTrue(metrics.body().contains("nemo_cluster_fallbacks_total{what=\"limits\",policy=\"fail_open\",}"),
                    "fallbacks are counted");
            System.out.printf("redis outage: %s answered, $%.4f settled in the shared ledgers%n", statuses, ledgers);
        }
    }

    /** The keys' spend as Redis holds it, once the journals have been replayed (within a few seconds). */
    private static double awaitSpend(ClusterGateways gw, List<String> keys, double expected) throws Exception {
        double sum = 0;
        for (int tries = 0; tries < 50; tries++) {
            sum = 0;
            for (String k : keys) {
                sum += gw.admin(tries % 3, "/key/info?key=" + k, null).get("info").get("spend").asDouble();
            }
            if (Math.abs(sum - expected) < 1e-6) {
                return sum;
            }
            Thread.sleep(200);
        }
        return sum;
    }

    @Test
    void failClosedRefusesWith503AndRecovers() throws Exception {
        try (RedisProcess redis = RedisProcess.start(true);
             ClusterGateways gw = new ClusterGateways(1, redis.url(), RedisProcess.prefix(),
                     "nemo.cluster.on_redis_error = fail_closed\nnemo.cache.enabled = false")) {
            // a parallel limit too small to lease: every request needs Redis (one its leases covered would still pass)
            String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"closed\",\"max_budget\":10,\"max_parallel_requests\":10}")
                    .get("key").asText();
            // and one whose budget is leased: the replica holds a hundredth of it, taken while Redis was there
            String leased = gw.admin(0, "/key/generate", "{\"key_alias\":\"leased\",\"max_budget\":1000}").get("key").asText();
            assertEquals(200, gw.chat(0, key, "before").statusCode());
            assertEquals(200, gw.chat(0, leased, "before").statusCode());
            redis.kill();
            HttpResponse<String> covered = gw.chat(0, leased, "during");
            assertEquals(200, covered.statusCode(), "what the replica's lease covers is still admitted: " + covered.body());
            HttpResponse<String> refused = gw.chat(0, key, "during");
            assertEquals(503, refused.statusCode(), refused.body());
            assertEquals("limits_unavailable", ClusterGateways.JSON.readTree(refused.body()).get("error").get("code").asText());
            Thread.sleep(1200);
            HttpResponse<String> health = gw.get(0, "/health");
            assertEquals(503, health.statusCode(), "fail_closed with Redis away: the gateway is down for its load balancer");
            assertEquals("down", ClusterGateways.JSON.readTree(health.body()).get("checks").get("redis").get("status").asText());
            redis.restart();
            int status = 0;
            for (int i = 0; i < 100 && status != 200; i++) { // Lettuce reconnects on its own, with backoff
                Thread.sleep(200);
                status = gw.chat(0, key, "after " + i).statusCode();
            }
            assertEquals(200, status, "served again once Redis is back");
        }
    }

    /**
     * Requests admitted from a replica's lease while Redis is away settle into the journal; the alert
     * threshold their spend crossed is found when Redis takes the replay, and sent then, once.
     */
    @Test
    void aBudgetAlertCrossedWhileRedisWasAwayIsSentOnceWhenTheSpendIsReplayed() throws Exception {
        try (RedisProcess redis = RedisProcess.start(true);
             ClusterGateways gw = new ClusterGateways(1, redis.url(), RedisProcess.prefix(), "nemo.cache.enabled = false")) {
            // a $1,000 budget: its lease (a hundredth) covers every request of the outage
            String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"alerted\",\"max_budget\":1000}").get("key").asText();
            HttpResponse<String> first = gw.chat(0, key, "price me");
            assertEquals(200, first.statusCode(), first.body());
            double cost = Double.parseDouble(first.headers().firstValue("x-nemo-response-cost").orElseThrow());
            gw.admin(0, "/key/update", "{\"key\":\"" + key + "\",\"soft_budget\":" + cost * 20 + ",\"alert_thresholds\":[50]}");
            String alerted = "nemo_budget_alerts_total{level=\"key\",threshold=\"50\",} ";
            redis.kill();
            for (int i = 0; i < 15; i++) {
                HttpResponse<String> r = gw.chat(0, key, "price me");
                assertEquals(200, r.statusCode(), r.body());
            }
            assertTrue(!gw.get(0, "/metrics").body().contains(alerted), "nothing can tell the spend crossed 50% while Redis is away");
            redis.restart();
            String line = "";
            for (int tries = 0; tries < 100 && line.isEmpty(); tries++) {
                Thread.sleep(100);
                line = gw.get(0, "/metrics").body().lines().filter(l -> l.startsWith(alerted)).findFirst().orElse("");
            }
            assertEquals(alerted + "1.0", line, "the crossing is sent once the journaled spend is replayed");
            Thread.sleep(1500);
            assertTrue(gw.get(0, "/metrics").body().contains(alerted + "1.0"), "and only once");
        }
    }
}
