package io.nemorouter.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cluster mode's spend reports: two gateways on one real Redis, each serving calls; a report on
 * either covers both, exactly, and stays exact when Redis is killed under traffic and comes back
 * (with its data, or empty) and when a replica restarts.
 */
class SpendClusterTest {
    static final String MASTER = "sk-master-test-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    static final double EPS = 1e-9;
    /** Model m: 10 prompt + 5 completion tokens at 1000 / 2000 USD per million: 0.02 a call; n: 0.01. */
    static final double M = 0.02;
    static final double N = 0.01;

    ScriptableUpstream upstream;
    final List<AutoCloseable> opened = new ArrayList<>();
    final List<Path> dirs = new ArrayList<>();
    /** This test's keys in Redis, apart from every other test's. */
    final String prefix = RedisProcess.prefix();

    @BeforeEach
    void upstream() throws Exception {
        upstream = new ScriptableUpstream();
        upstream.otherwise(ScriptableUpstream.chat("hello"));
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
        upstream.close();
        dirs.forEach(TestGateway::deleteTree);
    }

    /** A private Redis the test may kill and restart; closed after it. */
    RedisProcess privateRedis(boolean durable) throws Exception {
        RedisProcess redis = RedisProcess.start(durable);
        opened.add(redis);
        return redis;
    }

    TestGateway gateway(String redisUrl, String replica, Path dataDir) throws Exception {
        String base = upstream.apiBase();
        TestGateway gw = TestGateway.builder().dataDir(dataDir).config("nemo.models = ["
                + "{ name = \"m\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\","
                + "  input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 },"
                + "{ name = \"n\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\","
                + "  input_cost_per_mtok = 500, output_cost_per_mtok = 1000 }"
                + "]\nnemo.keys.master_key = \"" + MASTER + "\"\n"
                // timeout: RedisLink.connect bounds the connection's handshake by it too, which a cold JVM may miss at 50 ms
                + "nemo.cluster { redis = \"" + redisUrl + "\", prefix = \"" + prefix + "\", replica_id = \"" + replica + "\", timeout = 1s }\n")
                .start();
        opened.add(gw);
        return gw;
    }

    Path dataDir() throws Exception {
        Path d = Files.createTempDirectory("nemo-spend-cluster");
        dirs.add(d);
        return d;
    }

    static void call(TestGateway gw, String key, String model) throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions",
                "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "authorization", "Bearer " + key);
        assertEquals(200, r.statusCode(), r.body());
    }

    static JsonNode admin(TestGateway gw, String path, String body) throws Exception {
        HttpResponse<String> r = gw.post(path, body, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    static HttpResponse<String> reportResponse(TestGateway gw, String query) throws Exception {
        HttpResponse<String> r = gw.get("/spend/report" + query, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), r.body());
        return r;
    }

    static JsonNode report(TestGateway gw, String query) throws Exception {
        return JSON.readTree(reportResponse(gw, query).body());
    }

    /** The report once {@code done} holds of it (the other replicas' sums are up to a second behind), or the last one read. */
    static JsonNode reportWhen(TestGateway gw, String query, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        JsonNode r = report(gw, query);
        while (!done.test(r) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            r = report(gw, query);
        }
        return r;
    }

    static Map<String, JsonNode> rows(JsonNode report) {
        Map<String, JsonNode> out = new HashMap<>();
        report.get("data").forEach(r -> out.put(r.get("group").asText(), r));
        return out;
    }

    static void assertSums(JsonNode sums, long requests, double cost, String what) {
        assertEquals(requests, sums.get("requests").asLong(), what + " requests: " + sums);
        assertEquals(10 * requests, sums.get("input_tokens").asLong(), what + " input tokens: " + sums);
        assertEquals(5 * requests, sums.get("output_tokens").asLong(), what + " output tokens: " + sums);
        assertEquals(cost, sums.get("cost").asDouble(), EPS, what + " cost: " + sums);
    }

    /**
     * On each gateway, the report covers every replica and its totals come to {@code requests} calls costing
     * {@code cost}; then, after a few more rounds of sharing, still exactly that: nothing added twice.
     */
    static void assertConverges(List<TestGateway> gateways, String query, long requests, double cost, String what) throws Exception {
        for (TestGateway gw : gateways) {
            JsonNode r = reportWhen(gw, query, x -> "cluster".equals(x.path("scope").asText())
                    && x.at("/totals/requests").asLong() == requests);
            assertEquals("cluster", r.get("scope").asText(), r.toString());
            assertSums(r.get("totals"), requests, cost, what);
        }
        Thread.sleep(3 * 250 + 200);
        for (TestGateway gw : gateways) {
            assertSums(report(gw, query).get("totals"), requests, cost, what + ", later");
        }
    }

    @Test
    void aReportOnEitherReplicaCoversTheCallsOfBoth() throws Exception {
        String url = RedisProcess.sharedUrl();
        TestGateway a = gateway(url, "a", dataDir());
        TestGateway b = gateway(url, "b", dataDir());
        // keys are each replica's own here: one made on each, so each key's calls are all on one replica
        JsonNode alpha = admin(a, "/key/generate", "{\"key_alias\":\"alpha\"}");
        JsonNode beta = admin(b, "/key/generate", "{\"key_alias\":\"beta\"}");
        for (int i = 0; i < 3; i++) {
            call(a, alpha.get("key").asText(), "m");
        }
        call(a, MASTER, "n");
        call(a, MASTER, "n");
        for (int i = 0; i < 4; i++) {
            call(b, beta.get("key").asText(), "n");
        }
        call(b, MASTER, "m");

        for (TestGateway gw : List.of(a, b)) {
            String who = gw == a ? "on a" : "on b";
            JsonNode byKey = reportWhen(gw, "?group_by=key", r -> r.at("/totals/requests").asLong() == 10);
            assertEquals("cluster", byKey.get("scope").asText(), who + ": " + byKey);
            assertEquals(2, byKey.get("replicas").asInt(), who);
            assertSums(byKey.get("totals"), 10, 4 * M + 6 * N, who + " totals");
            Map<String, JsonNode> keys = rows(byKey);
            assertEquals(3, keys.size(), who + ": " + byKey);
            assertSums(keys.get(alpha.get("key_id").asText()), 3, 3 * M, who + " alpha");
            assertSums(keys.get(beta.get("key_id").asText()), 4, 4 * N, who + " beta");
            assertSums(keys.get("master"), 3, M + 2 * N, who + " master (on both replicas)");
            assertEquals("alpha", keys.get(alpha.get("key_id").asText()).get("key_alias").asText(), who + ": aliases are shared too");
            assertEquals("beta", keys.get(beta.get("key_id").asText()).get("key_alias").asText(), who);

            Map<String, JsonNode> models = rows(report(gw, "?group_by=model"));
            assertSums(models.get("m"), 4, 4 * M, who + " m");
            assertSums(models.get("n"), 6, 6 * N, who + " n");
            JsonNode byKeyOnN = report(gw, "?group_by=key&model=n"); // a narrowed report reads the pair sums
            assertSums(byKeyOnN.get("totals"), 6, 6 * N, who + " on n");
            assertSums(rows(byKeyOnN).get("master"), 2, 2 * N, who + " master on n");
            JsonNode hourly = report(gw, "?interval=hour");
            assertSums(hourly.get("totals"), 10, 4 * M + 6 * N, who + " hourly");
            assertTrue(hourly.at("/totals/latency_ms/p50").asDouble() > 0, who + ": latency sketches merged: " + hourly);
        }
        HttpResponse<String> csv = reportResponse(a, "?group_by=model&format=csv");
        assertEquals("cluster", csv.headers().firstValue("x-nemo-spend-scope").orElse(null), "a CSV says its scope in a header");
        JsonNode logs = JSON.readTree(a.get("/spend/logs", "authorization", "Bearer " + MASTER).body());
        assertEquals("local", logs.get("scope").asText(), "the records stay in each replica's files");
        assertEquals(5, logs.get("data").size(), "a's records only");
    }

    @Test
    void redisKilledUnderTrafficAndRestartedLosesNothingAndCountsNothingTwice() throws Exception {
        RedisProcess redis = privateRedis(true);
        TestGateway a = gateway(redis.url(), "a", dataDir());
        TestGateway b = gateway(redis.url(), "b", dataDir());
        AtomicInteger onA = new AtomicInteger();
        AtomicInteger onB = new AtomicInteger();
        AtomicInteger sent = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(2);
        opened.add(clients::shutdownNow);
        List<Future<?>> traffic = new ArrayList<>();
        for (TestGateway gw : List.of(a, b)) {
            AtomicInteger served = gw == a ? onA : onB;
            traffic.add(clients.submit(() -> {
                for (int i = 0; i < 150; i++) {
                    call(gw, MASTER, i % 3 == 0 ? "m" : "n");
                    served.incrementAndGet();
                    sent.incrementAndGet();
                    Thread.sleep(10);
                }
                return null;
            }));
        }
        while (sent.get() < 60) {
            Thread.sleep(5);
        }
        redis.kill();
        long killedAt = System.nanoTime();
        // while Redis is down a report is this replica's alone, and says so
        JsonNode alone = reportWhen(a, "", r -> "local".equals(r.path("scope").asText()));
        assertEquals("local", alone.get("scope").asText(), alone.toString());
        assertTrue(alone.at("/totals/requests").asLong() <= onA.get(), "a's own calls only: " + alone);
        assertEquals("local", reportResponse(a, "?format=csv").headers().firstValue("x-nemo-spend-scope").orElse(null));
        assertTrue(a.get("/metrics").body().contains("nemo_cluster_fallbacks_total{what=\"spend\""), "the fallback is counted");
        Thread.sleep(Math.max(0, 1500 - (System.nanoTime() - killedAt) / 1_000_000)); // calls go on meanwhile
        redis.restart();
        for (Future<?> f : traffic) {
            f.get();
        }
        int total = onA.get() + onB.get();
        assertEquals(300, total);
        // per gateway: i % 3 == 0 -> m (50 calls), else n (100 calls)
        assertConverges(List.of(a, b), "?group_by=model", total, 2 * (50 * M + 100 * N), "after the restart");
        assertSums(rows(report(a, "?group_by=model")).get("m"), 100, 100 * M, "m");
    }

    @Test
    void aRedisThatComesBackEmptyIsGivenEverySumAgain() throws Exception {
        RedisProcess redis = privateRedis(false);
        TestGateway a = gateway(redis.url(), "a", dataDir());
        TestGateway b = gateway(redis.url(), "b", dataDir());
        for (int i = 0; i < 5; i++) {
            call(a, MASTER, "m");
            call(b, MASTER, "n");
        }
        assertSums(reportWhen(a, "", r -> r.at("/totals/requests").asLong() == 10).get("totals"), 10, 5 * M + 5 * N, "before");
        redis.kill();
        redis.restart(); // without persistence: nothing of what it had
        call(b, MASTER, "m"); // b notices with its next batch; a, with nothing new to send, when the link is back
        assertConverges(List.of(a, b), "?group_by=model", 11, 6 * M + 5 * N, "every sum sent again, the new call's with them");
        assertSums(rows(report(b, "?group_by=model")).get("n"), 5, 5 * N, "n");
    }

    @Test
    void aReplicaRestartedWithSumsRedisNeverGotSendsThemAndCountsTheRestOnce() throws Exception {
        RedisProcess redis = privateRedis(true);
        TestGateway a = gateway(redis.url(), "a", dataDir());
        Path bDir = dataDir();
        TestGateway b = gateway(redis.url(), "b", bDir);
        call(a, MASTER, "m");
        call(b, MASTER, "n");
        call(b, MASTER, "n");
        assertSums(reportWhen(a, "", r -> r.at("/totals/requests").asLong() == 3).get("totals"), 3, M + 2 * N, "before");
        redis.kill();
        call(b, MASTER, "m"); // kept in b's log and rollups only: Redis is down, and then b stops
        call(b, MASTER, "m");
        b.close();
        opened.remove(b);
        redis.restart();
        b = gateway(redis.url(), "b", bDir); // its sums come back from its data directory and go to Redis again
        call(b, MASTER, "n");
        assertConverges(List.of(a, b), "", 6, 3 * M + 3 * N, "b's calls while Redis was down, and its others once");
    }
}
