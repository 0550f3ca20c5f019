package io.nemorouter.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Routing state in cluster mode: gateways on one Redis and prefix are replicas of one cluster; a
 * deployment's circuit opened or closed on one is learned by the others within a second, and
 * without Redis each routes on what it knows.
 *
 * <p>Every test's model group is {@code m}: {@code bad} (the cheapest, so the {@code cost} strategy
 * picks it whenever it is available) and {@code good}, with one retry: a request that fails on
 * {@code bad} is answered by {@code good}.
 */
class RoutingClusterTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-test-0123456789";
    static final String BODY = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    final List<AutoCloseable> opened = new ArrayList<>();
    final AtomicInteger badCalls = new AtomicInteger();
    final AtomicInteger goodCalls = new AtomicInteger();
    /** While set, bad answers 500; then it answers well. */
    final AtomicBoolean badFails = new AtomicBoolean(true);
    ScriptableUpstream bad;
    ScriptableUpstream good;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    /** bad: 500 (or {@code failure}) while {@link #badFails}, then "from bad"; good: "from good". */
    void upstreams(ScriptableUpstream.Script failure) throws Exception {
        bad = new ScriptableUpstream();
        bad.otherwise((req, reply) -> {
            badCalls.incrementAndGet();
            (badFails.get() ? failure : ScriptableUpstream.chat("from bad")).answer(req, reply);
        });
        good = new ScriptableUpstream();
        good.otherwise((req, reply) -> {
            goodCalls.incrementAndGet();
            ScriptableUpstream.chat("from good").answer(req, reply);
        });
        opened.add(bad);
        opened.add(good);
    }

    /** A replica named {@code replica} of the cluster {@code redis} + {@code prefix}, with the group m. */
    TestGateway replica(String replica, String redis, String prefix, String router) throws Exception {
        TestGateway gw = TestGateway.builder().config("nemo.keys.master_key = \"" + MASTER + "\"\n"
                + "nemo.cluster { redis = \"" + redis + "\", prefix = \"" + prefix + "\", replica_id = \"" + replica + "\", "
                // not the default 50 ms: a cold JVM's first connect to Redis may take longer (the tests need no timeouts)
                + "timeout = 1s }\n"
                + "nemo.models = [" + entry("bad", bad, "input_cost_per_mtok = 0.1") + ", " + entry("good", good, "") + "]\n"
                + "nemo.router { strategy = cost, num_retries = 1, allowed_fails = 2, " + router + " }\n").start();
        opened.add(gw);
        return gw;
    }

    /** Replicas a and b of a cluster of their own on {@code redis}, bad answering 500 (while {@link #badFails}). */
    TestGateway[] twoReplicas(String redis, String router) throws Exception {
        upstreams(ScriptableUpstream.status(500, null));
        String prefix = RedisProcess.prefix();
        return new TestGateway[]{replica("a", redis, prefix, router), replica("b", redis, prefix, router)};
    }

    static String entry(String id, ScriptableUpstream u, String extra) {
        return "{ name = m, id = " + id + ", provider = openai, api_base = \"" + u.apiBase() + "\", api_key = sk, "
                + "input_cost_per_mtok = 1, output_cost_per_mtok = 2" + (extra.isEmpty() ? "" : ", " + extra) + " }";
    }

    static HttpResponse<String> chat(TestGateway gw) throws Exception {
        return gw.post("/v1/chat/completions", BODY, "authorization", "Bearer " + MASTER);
    }

    /** {@code GET /health/deployments}'s entry for {@code id}. */
    static JsonNode health(TestGateway gw, String id) throws Exception {
        JsonNode all = JSON.readTree(gw.get("/health/deployments", "authorization", "Bearer " + MASTER).body()).get("deployments");
        for (JsonNode d : all) {
            if (d.get("id").asText().equals(id)) {
                return d;
            }
        }
        throw new AssertionError("no deployment " + id + " in " + all);
    }

    /** Polls bad's health on {@code gw} until {@code until} holds, for at most {@code millis}; the last entry read. */
    static JsonNode awaitBad(TestGateway gw, long millis, Predicate<JsonNode> until) throws Exception {
        long deadline = System.currentTimeMillis() + millis;
        JsonNode d = health(gw, "bad");
        while (!until.test(d) && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
            d = health(gw, "bad");
        }
        return d;
    }

    static boolean state(JsonNode d, String state) {
        return d.get("state").asText().equals(state);
    }

    /** Requests on {@code gw} until bad has failed {@code allowed_fails} (2) times there: its circuit opens. */
    void trip(TestGateway gw) throws Exception {
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> r = chat(gw);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("good", r.headers().firstValue("x-nemo-model").orElse(""), "bad failed, good answered");
        }
        assertTrue(state(health(gw, "bad"), "cooling_down"), health(gw, "bad").toString());
    }

    /** {@code n} requests on {@code gw}, each answered by good without trying bad. */
    void allFromGood(TestGateway gw, int n) throws Exception {
        int before = badCalls.get();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = chat(gw);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("from good"), r.body());
            assertEquals("0", r.headers().firstValue("x-nemo-fallbacks").orElse(""), "bad was not tried first");
        }
        assertEquals(before, badCalls.get(), "no request went to bad");
    }

    @Test
    void aCooldownOpenedOnOneReplicaIsKeptByTheOtherWithinASecond() throws Exception {
        TestGateway[] ab = twoReplicas(RedisProcess.sharedUrl(), "cooldown_time = 30s");
        TestGateway a = ab[0];
        TestGateway b = ab[1];
        assertTrue(state(health(b, "bad"), "healthy"));

        trip(a);
        long tripped = System.currentTimeMillis();
        assertEquals(2, badCalls.get());
        JsonNode onB = awaitBad(b, 1000, d -> state(d, "cooling_down"));
        long took = System.currentTimeMillis() - tripped;
        assertTrue(state(onB, "cooling_down"), "b learned a's cooldown: " + onB);
        assertTrue(took < 1000, "within a second: " + took + " ms");
        assertEquals("a", onB.path("learned_from").asText(), onB.toString());
        assertTrue(onB.get("cooldown_remaining_ms").asLong() > 25_000, "a's cooldown, to its end: " + onB);
        assertFalse(health(a, "bad").has("learned_from"), "a opened it itself");

        // without the shared state b's first request would go to bad, the cheapest, and fail over
        allFromGood(b, 5);
        assertEquals(2, badCalls.get(), "bad was called only by a's two requests");
    }

    @Test
    void aProbeThatSucceedsOnOneReplicaClosesTheCircuitOnTheOther() throws Exception {
        TestGateway[] ab = twoReplicas(RedisProcess.sharedUrl(), "cooldown_time = 1500ms");
        TestGateway a = ab[0];
        TestGateway b = ab[1];
        trip(a);
        assertTrue(state(awaitBad(b, 1000, d -> state(d, "cooling_down")), "cooling_down"));
        badFails.set(false);

        // both are half-open once the cooldown is over; a's probe succeeds
        assertTrue(state(awaitBad(a, 3000, d -> state(d, "half_open")), "half_open"));
        HttpResponse<String> probe = chat(a);
        assertEquals("bad", probe.headers().firstValue("x-nemo-model").orElse(""), "the probe went to bad: " + probe.body());
        assertTrue(state(health(a, "bad"), "healthy"));
        int calls = badCalls.get();

        // b learns the close: healthy (not half-open, waiting for a probe of its own), said to come from a
        JsonNode onB = awaitBad(b, 1000, d -> state(d, "healthy"));
        assertTrue(state(onB, "healthy"), "b learned that a's probe closed the circuit: " + onB);
        assertEquals("a", onB.path("learned_from").asText(), onB.toString());
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = chat(b);
            assertEquals("bad", r.headers().firstValue("x-nemo-model").orElse(""), "bad takes b's requests again");
        }
        assertEquals(calls + 3, badCalls.get());
    }

    @Test
    void aReplicaThatStartsLaterLoadsTheCooldownsInForceAndIgnoresUnknownDeployments() throws Exception {
        upstreams(ScriptableUpstream.status(429, "20")); // Retry-After: out for 20 s at the first failure
        String redis = RedisProcess.sharedUrl();
        String prefix = RedisProcess.prefix();
        TestGateway a = replica("a", redis, prefix, "cooldown_time = 30s");
        HttpResponse<String> r = chat(a);
        assertEquals("good", r.headers().firstValue("x-nemo-model").orElse(""), r.body());
        assertTrue(state(health(a, "bad"), "cooling_down"));

        // a change about a deployment this catalog lacks (a rolling deploy), and a line that is no change at all
        try (io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis);
             var c = client.connect()) {
            long now = System.currentTimeMillis();
            c.sync().publish("{" + prefix + "}:routing:circuit-changes", "open " + (now + 60_000) + " " + now + " z newer-model");
            c.sync().publish("{" + prefix + "}:routing:circuit-changes", "garbage");
            c.sync().hset("{" + prefix + "}:routing:circuits", "newer-model", "open " + (now + 60_000) + " " + now + " z newer-model");
        }

        int calls = badCalls.get();
        TestGateway c = replica("c", redis, prefix, "cooldown_time = 30s");
        JsonNode onC = health(c, "bad");
        assertTrue(state(onC, "cooling_down"), "read from Redis at start: " + onC);
        assertEquals("a", onC.path("learned_from").asText());
        assertTrue(onC.get("cooldown_remaining_ms").asLong() > 15_000, "a's Retry-After, to its end: " + onC);
        assertTrue(state(health(c, "good"), "healthy"));
        assertTrue(state(health(a, "good"), "healthy"));
        allFromGood(c, 3);
        assertEquals(calls, badCalls.get());
    }

    @Test
    void theSharedRecordMergesChangesAsEachReplicaDoes() throws Exception {
        String prefix = RedisProcess.prefix();
        try (RedisLink link = RedisLink.connect(RedisProcess.sharedUrl(), prefix, java.time.Duration.ofSeconds(1),
                java.time.Duration.ofSeconds(5), "t", true)) {
            String hash = link.key("routing:circuits");
            long t = 1_700_000_000_000L;
            java.util.function.BiFunction<String, Long, String> write = (event, keep) -> link.<String>script("routing-circuit",
                    io.lettuce.core.ScriptOutputType.VALUE, new String[]{hash}, "d x", event, link.key("routing:circuit-changes"),
                    Long.toString(keep)).toCompletableFuture().join();
            assertEquals("open " + (t + 30_000) + " " + t + " a d x", write.apply("open " + (t + 30_000) + " " + t + " a d x", 60_000L));
            assertEquals("open " + (t + 30_000) + " " + (t + 5) + " a d x", write.apply("open " + (t + 20_000) + " " + (t + 5) + " b d x", 1000L),
                    "two openings: the longer cooldown, as late as the later");
            assertEquals("open " + (t + 30_000) + " " + (t + 5) + " a d x", write.apply("close 0 " + (t + 4) + " c d x", 1000L),
                    "a close older than the record: stale");
            assertEquals("close 0 " + (t + 31_000) + " c d x", write.apply("close 0 " + (t + 31_000) + " c d x", 1000L));
            assertEquals("close 0 " + (t + 31_000) + " c d x", write.apply("open " + (t + 40_000) + " " + (t + 10_000) + " b d x", 1000L),
                    "an opening older than the close: stale");
            long ttl = link.sync().pttl(hash);
            assertTrue(ttl > 50_000 && ttl <= 60_000, "kept as long as the longest asked: " + ttl);
        }
    }

    @Test
    void withRedisDownEachReplicaRoutesAloneAndCatchesUpWhenItIsBack() throws Exception {
        RedisProcess redis = RedisProcess.start();
        opened.add(redis);
        TestGateway[] ab = twoReplicas(redis.url(), "cooldown_time = 60s");
        TestGateway a = ab[0];
        TestGateway b = ab[1];
        redis.kill();

        trip(a); // 200s all along: a routes on what it learns itself
        allFromGood(a, 3);
        Thread.sleep(1000);
        assertTrue(state(health(b, "bad"), "healthy"), "b could not learn it");
        HttpResponse<String> r = chat(b);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("good", r.headers().firstValue("x-nemo-model").orElse(""), "b tried bad, then good");
        assertEquals(3, badCalls.get());

        // Redis is back (empty): a sends the cooldown it could not share, b learns it
        redis.restart();
        JsonNode onB = awaitBad(b, 30_000, d -> d.has("learned_from"));
        assertTrue(state(onB, "cooling_down"), "b caught up when Redis came back: " + onB);
        assertEquals("a", onB.path("learned_from").asText());
        allFromGood(b, 3);
        assertEquals(3, badCalls.get());
    }
}
