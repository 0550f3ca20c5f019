package io.nemorouter.server.cluster;

import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cluster mode on a sharded Redis Cluster (three masters, each with a replica): one gateway given
 * one node's URL (not the node that holds its keys), another the list of every node. Keys, limits,
 * blocks and the cache work across them as on one Redis server; a killed master's replica takes
 * over and the gateways follow it; a gateway whose pub/sub node goes away listens on another.
 */
class RedisClusterTest {

    @Test
    void aShardedRedisClusterServesTheGatewaysAndTheyFollowAFailover() throws Exception {
        try (RedisClusterProcess redis = new RedisClusterProcess(3, true)) {
            String prefix = RedisProcess.prefix();
            int owner = redis.masterOf("{" + prefix + "}:records");
            int seed = (owner + 1) % redis.nodes.size();
            try (ClusterGateways gw = new ClusterGateways(List.of(redis.url(seed), redis.nodesUrl()), prefix, "nemo.cache.enabled = true")) {
                for (int r = 0; r < 2; r++) {
                    com.fasterxml.jackson.databind.JsonNode link = redisCheck(gw, r);
                    assertEquals("up", link.get("status").asText(), link.toString());
                    assertTrue(link.toString().contains("\"sharded\":true"), "health says the Redis is sharded: " + link);
                }

                // a key made on one replica works on the other, and its record is on the master of the prefix's slot
                String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"sharded\"}").get("key").asText();
                assertEquals(200, gw.until(1, key, 200, System.nanoTime(), Duration.ofSeconds(1)), gw.log(1));
                assertEquals("1", RedisClusterProcess.cli(redis.nodes.get(owner), "exists", "{" + prefix + "}:records").trim());

                // a small limit is asked of Redis at every request (its scripts run on the shard): 5 in all, not 5 each
                String limited = gw.admin(1, "/key/generate", "{\"key_alias\":\"rpm5\",\"rpm_limit\":5}").get("key").asText();
                List<Integer> statuses = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    statuses.add(gw.chat(i % 2, limited, "count me " + i).statusCode());
                }
                long admitted = statuses.stream().filter(s -> s == 200).count();
                assertTrue(admitted >= 5 && admitted <= 6, "5 admitted across both replicas (6 with a refill): " + statuses);
                assertEquals(12, admitted + statuses.stream().filter(s -> s == 429).count(), statuses.toString());

                // a cache miss on one replica is a hit on the other
                // the answers above were stored too (the writer's, after each answer): counted once none is on its way
                int entriesBefore = CacheClusterTest.settled(() -> gw.admin(1, "/cache/stats", null)).get("entries").asInt();
                assertEquals("miss", cache(gw.chat(0, key, "cached on a shard")));
                long stored = System.nanoTime(); // replica 0's writer hands the answer to Redis after the answer: wait for it
                while (gw.admin(1, "/cache/stats", null).get("entries").asInt() <= entriesBefore && System.nanoTime() - stored < 5_000_000_000L) {
                    Thread.sleep(20);
                }
                assertEquals("hit", cache(gw.chat(1, key, "cached on a shard")), "the answer stored from replica 0, read by 1");

                // a block on one replica reaches the other within a second (pub/sub across the cluster's nodes)
                gw.admin(1, "/key/block", "{\"key\":\"" + key + "\"}");
                assertEquals(403, gw.until(0, key, 403, System.nanoTime(), Duration.ofSeconds(1)), "blocked on replica 0 too");

                // the master holding the keys is killed: its replica takes over, and the gateways follow within seconds
                String before = gw.admin(0, "/key/generate", "{\"key_alias\":\"before-failover\"}").get("key").asText();
                assertEquals(200, gw.until(1, before, 200, System.nanoTime(), Duration.ofSeconds(1)));
                Thread.sleep(300); // replication to the replica is asynchronous: let it catch up before the kill
                redis.nodes.get(owner).kill();
                long killed = System.nanoTime();
                int promoted = redis.awaitNewMaster("{" + prefix + "}:records", owner, 30);
                System.out.printf("redis cluster: node %d took over from %d %.1f s after the kill%n", promoted, owner,
                        (System.nanoTime() - killed) / 1e9);
                for (int r = 0; r < 2; r++) {
                    assertTrue(awaitUp(gw, r, Duration.ofSeconds(20)), "replica " + r + " follows the failover: " + gw.get(r, "/health").body());
                }
                System.out.printf("redis cluster: failover followed by both gateways %.1f s after the kill%n", (System.nanoTime() - killed) / 1e9);
                assertEquals(200, gw.chat(0, before, "after the failover").statusCode(), "a key made before the failover still works");
                String after = gw.admin(1, "/key/generate", "{\"key_alias\":\"after-failover\"}").get("key").asText();
                assertEquals(200, gw.until(0, after, 200, System.nanoTime(), Duration.ofSeconds(1)), "and one made after it");
                gw.admin(0, "/key/block", "{\"key\":\"" + before + "\"}");
                assertEquals(403, gw.until(1, before, 403, System.nanoTime(), Duration.ofSeconds(5)), "a block reaches the other replica");

                // the node a gateway listens on is made a replica (a manual failover) and killed: pub/sub moves to another
                // node (each hears what is published anywhere in the cluster) and what was missed meanwhile is re-read
                List<Integer> listening = redis.subscribed();
                assertTrue(!listening.isEmpty(), "the gateways listen on some node");
                int gone = listening.get(0);
                if (gone == promoted) {
                    // the gateways listen on the master that took over from the killed node, which left it without a
                    // replica to hand over to: the killed node comes back (as nodes do) and rejoins as its replica
                    redis.nodes.get(owner).restart();
                    redis.awaitReplicaOf(owner, promoted, 30);
                    System.out.printf("redis cluster: node %d came back as node %d's replica%n", owner, promoted);
                }
                redis.demote(gone);
                redis.nodes.get(gone).kill();
                String[] made = new String[2];
                for (int r = 0; r < 2; r++) {
                    // when the node held the keys' slot, a write waits until the gateway follows it to its successor
                    made[r] = gw.adminOnceFollowed(r, "/key/generate", "{\"key_alias\":\"pubsub-moved-" + r + "\"}",
                            Duration.ofSeconds(20)).get("key").asText();
                }
                for (int r = 0; r < 2; r++) {
                    assertEquals(200, gw.until(1 - r, made[r], 200, System.nanoTime(), Duration.ofSeconds(10)),
                            "a key made on replica " + r + " while pub/sub moved works on the other: " + gw.log(1 - r));
                }
                for (int r = 0; r < 2; r++) {
                    gw.admin(r, "/key/block", "{\"key\":\"" + made[r] + "\"}");
                    assertEquals(403, gw.until(1 - r, made[r], 403, System.nanoTime(), Duration.ofSeconds(1)),
                            "and a block made on replica " + r + " afterwards reaches the other within a second");
                }
                assertTrue((gw.log(0) + gw.log(1)).contains("pub/sub reconnected to"), "a gateway's pub/sub moved");
            }
        }
    }

    private static String cache(HttpResponse<String> r) {
        return r.headers().firstValue("x-nemo-cache").orElse("") + (r.statusCode() == 200 ? "" : " " + r.statusCode() + " " + r.body());
    }

    private static com.fasterxml.jackson.databind.JsonNode redisCheck(ClusterGateways gw, int replica) throws Exception {
        return ClusterGateways.JSON.readTree(gw.get(replica, "/health").body()).get("checks").get("redis");
    }

    /** Whether {@code /health} on {@code replica} says the link is up within {@code within}. */
    private static boolean awaitUp(ClusterGateways gw, int replica, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (redisCheck(gw, replica).get("status").asText().equals("up")) {
                return true;
            }
            Thread.sleep(200);
        }
        return false;
    }
}
