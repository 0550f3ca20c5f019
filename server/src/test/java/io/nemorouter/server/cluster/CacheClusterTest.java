package io.nemorouter.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The response cache in cluster mode: two gateways (replicas) on one Redis and one prefix share
 * their answers, their flushes and their figures; Redis trouble makes lookups misses, never errors.
 */
class CacheClusterTest {
    static final String MASTER = "sk-master-test-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();

    ScriptableUpstream upstream;
    final AtomicInteger calls = new AtomicInteger();
    final List<AutoCloseable> opened = new ArrayList<>();
    String prefix;

    @BeforeEach
    void upstream() throws Exception {
        prefix = RedisProcess.prefix();
        upstream = new ScriptableUpstream();
        opened.add(upstream);
        upstream.otherwise(ScriptableUpstream.numberedAnswers(calls));
    }

    @AfterEach
    void close() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    /**
     * A gateway of the cluster on {@code redis} (the test's prefix), its cache on.
     */
    TestGateway replica(String redis) throws Exception {
        return replica(redis, "");
    }

    /**
     * A replica with {@code extra} settings. Its Redis timeout is a second, not 50 ms: on a loaded
     * test machine a lookup may take longer than 50 ms, and a hit the test expects would be a miss.
     */
    TestGateway replica(String redis, String extra) throws Exception {
        String base = upstream.apiBase();
        TestGateway gw = TestGateway.builder()
                .config("nemo.models = ["
                        + "{ name = \"m\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\", input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 },"
                        + "{ name = \"e\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\", input_cost_per_mtok = 100 }]\n"
                        + "nemo.keys.master_key = \"" + MASTER + "\"\nnemo.cache.enabled = true\n"
                        + "nemo.cluster { redis = \"" + redis + "\", prefix = \"" + prefix + "\", timeout = 1s }\n" + extra)
                .start();
        opened.add(gw);
        return gw;
    }

    static HttpResponse<String> chat(TestGateway gw, String key, String body) throws Exception {
        return gw.post("/v1/chat/completions", body, "authorization", "Bearer " + key);
    }

    static String body(String extra) {
        return "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"What is a gateway?\"}],\"temperature\":0.7" + extra + "}";
    }

    static String cache(HttpResponse<String> r) {
        return r.headers().firstValue("x-nemo-cache").orElse("");
    }

    static JsonNode admin(TestGateway gw, String path, String body) throws Exception {
        HttpResponse<String> r = gw.post(path, body, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    static JsonNode stats(TestGateway gw) throws Exception {
        HttpResponse<String> r = gw.get("/cache/stats", "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    /** Waits until {@code gw}'s stats stay the same for 200 ms (ten of a writer's polls): no store is on its way. */
    static JsonNode settled(TestGateway gw) throws Exception {
        return settled(() -> stats(gw));
    }

    /** Waits until the stats {@code read} gives stay the same for 200 ms (ten of a writer's polls); the last read. */
    static JsonNode settled(java.util.concurrent.Callable<JsonNode> read) throws Exception {
        JsonNode last = null;
        for (int i = 0; i < 50; i++) {
            JsonNode now = read.call();
            if (now.equals(last)) {
                return now;
            }
            last = now;
            Thread.sleep(200);
        }
        return last;
    }

    /** Waits until {@code gw}'s stats (the shared figures) count {@code n} answers: the writers have stored them. */
    static void awaitEntries(TestGateway gw, int n) throws Exception {
        await(() -> {
            try {
                return stats(gw).get("entries").asInt() == n;
            } catch (Exception e) {
                return false;
            }
        }, 5_000, "the cache holds " + n + " answers");
    }

    /** Waits until {@code gw}'s link to Redis is up again ({@code /health}: its ping answered). */
    static void awaitRedisUp(TestGateway gw) throws InterruptedException {
        await(() -> {
            try {
                return gw.get("/health").body().contains("\"status\":\"ok\"");
            } catch (Exception e) {
                return false;
            }
        }, 40_000, "the replica reaches Redis again");
    }

    static void await(BooleanSupplier condition, long millis, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("not within " + millis + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void aMissOnOneReplicaIsAHitOnTheOtherWholeAndStreamed() throws Exception {
        String redis = RedisProcess.sharedUrl();
        TestGateway a = replica(redis);
        TestGateway b = replica(redis);
        HttpResponse<String> first = chat(a, MASTER, body(""));
        assertEquals("miss", cache(first));
        awaitEntries(b, 1);
        HttpResponse<String> onB = chat(b, MASTER, body(""));
        assertEquals("hit", cache(onB), "A's answer, from Redis");
        assertEquals(first.body(), onB.body(), "byte for byte");
        assertEquals("0", onB.headers().firstValue("x-nemo-response-cost").orElseThrow());
        assertEquals(1, calls.get(), "the provider was called once for both replicas");

        HttpResponse<String> streamed = chat(a, MASTER, body(",\"seed\":7,\"stream\":true"));
        assertEquals("miss", cache(streamed));
        awaitEntries(b, 2);
        HttpResponse<String> replay = chat(b, MASTER, body(",\"seed\":7,\"stream\":true"));
        assertEquals("hit", cache(replay));
        assertEquals(streamed.body(), replay.body(), "the same events");
        assertTrue(replay.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        HttpResponse<String> withUsage = chat(b, MASTER, body(",\"seed\":7,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals("hit", cache(withUsage));
        assertTrue(withUsage.body().contains("\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}"),
                withUsage.body());
        HttpResponse<String> asWhole = chat(b, MASTER, body(",\"seed\":7"));
        assertEquals("hit", cache(asWhole), "a stored stream serves a whole answer on the other replica too");
        assertEquals("answer 2", JSON.readTree(asWhole.body()).at("/choices/0/message/content").asText());
        assertEquals(2, calls.get());

        HttpResponse<String> refreshed = chat(b, MASTER, body(",\"nemo_cache\":false"));
        assertEquals("bypass", cache(refreshed));
        assertEquals(3, calls.get());
        await(() -> {
            try {
                return chat(a, MASTER, body("")).body().contains("answer 3");
            } catch (Exception e) {
                return false;
            }
        }, 5_000, "B's refreshed answer replaces A's for both");
        assertEquals(3, calls.get());
    }

    @Test
    void tenantsStayApartAcrossReplicas() throws Exception {
        String redis = RedisProcess.sharedUrl();
        TestGateway a = replica(redis);
        TestGateway b = replica(redis);
        // each replica knows the same organizations, teams and keys (made on both: keys may not be shared yet)
        String acme1 = "sk-acme-one-0123456789abcdef";
        String acme2 = "sk-acme-two-0123456789abcdef";
        String globex = "sk-globex-0123456789abcdef";
        for (TestGateway gw : List.of(a, b)) {
            ensure(gw, "/organization/new", "{\"organization_id\":\"acme\"}");
            ensure(gw, "/organization/new", "{\"organization_id\":\"globex\"}");
            ensure(gw, "/team/new", "{\"team_id\":\"a1\",\"organization_id\":\"acme\"}");
            ensure(gw, "/team/new", "{\"team_id\":\"a2\",\"organization_id\":\"acme\"}");
            ensure(gw, "/team/new", "{\"team_id\":\"g1\",\"organization_id\":\"globex\"}");
            ensure(gw, "/key/generate", "{\"team_id\":\"a1\",\"key\":\"" + acme1 + "\"}");
            ensure(gw, "/key/generate", "{\"team_id\":\"a2\",\"key\":\"" + acme2 + "\"}");
            ensure(gw, "/key/generate", "{\"team_id\":\"g1\",\"key\":\"" + globex + "\"}");
        }
        assertEquals("miss", cache(chat(a, acme1, body(""))));
        awaitEntries(b, 1);
        assertEquals("hit", cache(chat(b, acme2, body(""))), "one organization shares its answers across replicas");
        assertEquals("miss", cache(chat(b, globex, body(""))), "another organization does not see them on any replica");
        assertEquals("miss", cache(chat(b, MASTER, body(""))), "nor does the master key");
        assertEquals(3, calls.get());
        awaitEntries(a, 3);
        assertEquals(1, admin(b, "/cache/flush", "{\"organization_id\":\"globex\"}").get("flushed").asInt(),
                "a flush by organization takes only that organization's answers");
        assertEquals("hit", cache(chat(a, acme1, body(""))));
        assertEquals("miss", cache(chat(a, globex, body(""))));
    }

    /** Makes {@code body} on {@code gw}: new there, or known already (once keys are shared, made by the other replica). */
    static void ensure(TestGateway gw, String path, String body) throws Exception {
        HttpResponse<String> r = gw.post(path, body, "authorization", "Bearer " + MASTER);
        assertTrue(r.statusCode() == 200 || r.body().contains("already"), path + ": " + r.body());
    }

    @Test
    void aFlushOnOneReplicaEmptiesTheOthersAndTheStatsAreShared() throws Exception {
        String redis = RedisProcess.sharedUrl();
        TestGateway a = replica(redis);
        TestGateway b = replica(redis);
        chat(a, MASTER, body(""));
        a.post("/v1/embeddings", "{\"model\":\"e\",\"input\":\"x\"}", "authorization", "Bearer " + MASTER);
        chat(b, MASTER, body(",\"seed\":1"));
        awaitEntries(a, 3);
        JsonNode onB = stats(b);
        assertEquals("redis", onB.get("store").asText());
        assertEquals(3, onB.get("entries").asInt(), "every replica's answers: " + onB);
        assertTrue(onB.get("bytes").asLong() > 300, onB.toString());
        assertEquals(onB.get("bytes"), stats(a).get("bytes"));

        assertEquals(1, admin(b, "/cache/flush", "{\"model\":\"e\"}").get("flushed").asInt());
        assertEquals(2, admin(a, "/cache/flush", "").get("flushed").asInt());
        JsonNode empty = stats(b);
        assertEquals(0, empty.get("entries").asInt(), empty.toString());
        assertEquals(0, empty.get("bytes").asInt(), empty.toString());
        assertEquals("miss", cache(chat(b, MASTER, body(""))), "A's flush emptied B's cache");
        assertEquals("miss", cache(b.post("/v1/embeddings", "{\"model\":\"e\",\"input\":\"x\"}", "authorization", "Bearer " + MASTER)));
        assertEquals(5, calls.get());
    }

    /**
     * Identical requests under way at once wait for the first on their own replica (after their
     * lookup in Redis), not across replicas: each replica's first goes upstream.
     */
    @Test
    void identicalRequestsInFlightCoalesceWithinAReplicaNotAcross() throws Exception {
        String redis = RedisProcess.sharedUrl();
        TestGateway a = replica(redis);
        TestGateway b = replica(redis);
        upstream.on("m", (req, reply) -> {
            int n = calls.incrementAndGet();
            reply.after(Duration.ofMillis(500), () -> ScriptableUpstream.chat("answer " + n).answer(req, reply));
        });
        List<CompletableFuture<HttpResponse<String>>> onA = new ArrayList<>();
        List<CompletableFuture<HttpResponse<String>>> onB = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            onA.add(send(a, body("")));
            onB.add(send(b, body("")));
            Thread.sleep(20);
        }
        for (List<CompletableFuture<HttpResponse<String>>> replica : List.of(onA, onB)) {
            int hits = 0;
            for (CompletableFuture<HttpResponse<String>> f : replica) {
                HttpResponse<String> r = f.get(10, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                hits += cache(r).equals("hit") ? 1 : 0;
            }
            assertEquals(2, hits, "two followers of the replica's first request");
        }
        assertEquals(2, calls.get(), "one upstream call per replica");
    }

    static CompletableFuture<HttpResponse<String>> send(TestGateway gw, String body) {
        return gw.http().sendAsync(HttpRequest.newBuilder(URI.create(gw.base() + "/v1/chat/completions"))
                .header("authorization", "Bearer " + MASTER).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Would fail if the cache stayed in each replica: no cache file in the data directory, the
     * answer's key is in Redis under the cluster's prefix, and once it is deleted there the replica
     * that stored it misses too. Redis expires each answer after its own TTL.
     */
    @Test
    void answersAreKeptInRedisNotInTheReplicaEachForItsTtl() throws Exception {
        String redis = RedisProcess.sharedUrl();
        TestGateway a = replica(redis);
        assertEquals("miss", cache(chat(a, MASTER, body(""))));
        awaitEntries(a, 1);
        assertFalse(Files.exists(a.dataDir().resolve("cache.ring")), "no local cache file in cluster mode");
        try (RedisClient client = RedisClient.create(redis); StatefulRedisConnection<String, String> c = client.connect()) {
            List<String> keys = c.sync().keys("{" + prefix + "}:cache:e:*");
            assertEquals(1, keys.size(), keys.toString());
            long ttl = c.sync().pttl(keys.get(0));
            assertTrue(ttl > 3_500_000 && ttl <= 3_600_000, "Redis expires it after the hour: " + ttl);
            assertEquals("hit", cache(chat(a, MASTER, body(""))));
            c.sync().del(keys.get(0));
            assertEquals("miss", cache(chat(a, MASTER, body(""))), "gone from Redis, gone from the replica");
            assertEquals(2, calls.get());

            chat(a, MASTER, body(",\"seed\":99,\"nemo_cache\":{\"ttl\":60}"));
            await(() -> c.sync().keys("{" + prefix + "}:cache:e:*").stream().anyMatch(k -> {
                long left = c.sync().pttl(k);
                return left > 50_000 && left <= 60_000;
            }), 5_000, "an answer kept 60 s is expired by Redis after 60 s");
        }
    }

    @Test
    void theBoundsAreTheWholeClusters() throws Exception {
        String redis = RedisProcess.sharedUrl();
        String small = "nemo.cache { max_bytes = 2 KiB, max_entry_size = 1 KiB, average_entry_size = 512 }";
        TestGateway a = replica(redis, small);
        TestGateway b = replica(redis, small);
        for (int i = 0; i < 12; i++) {
            chat(i % 2 == 0 ? a : b, MASTER, body(",\"seed\":" + i));
            Thread.sleep(5); // one after the other: the oldest expires first
        }
        await(() -> {
            try {
                JsonNode st = stats(a);
                return st.get("bytes").asLong() <= 2048 && st.get("entries").asInt() >= 2 && st.get("entries").asInt() < 12;
            } catch (Exception e) {
                return false;
            }
        }, 5_000, "the two replicas' answers held to one max_bytes");
        settled(a); // the last stores (each replica's writer sends them after its answer) are in Redis too
        int before = calls.get();
        assertEquals("hit", cache(chat(a, MASTER, body(",\"seed\":11"))), "the newest stays (stored by B)");
        assertEquals("miss", cache(chat(b, MASTER, body(",\"seed\":0"))), "the oldest went first");
        assertEquals(before + 1, calls.get());
    }

    @Test
    void withRedisDownRequestsAreAnsweredAsMissesAndCachingComesBack() throws Exception {
        RedisProcess redis = RedisProcess.start();
        opened.add(redis);
        TestGateway a = replica(redis.url());
        TestGateway b = replica(redis.url());
        chat(a, MASTER, body(""));
        awaitEntries(b, 1);
        assertEquals("hit", cache(chat(b, MASTER, body(""))));

        redis.kill();
        for (TestGateway gw : List.of(a, b)) {
            long start = System.nanoTime();
            HttpResponse<String> r = chat(gw, MASTER, body(""));
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("miss", cache(r), "a lookup Redis cannot answer is a miss");
            assertTrue(ms < 2_000, "no wait for Redis: " + ms + " ms");
        }
        assertEquals(3, calls.get());
        String metrics = a.get("/metrics").body();
        assertTrue(metrics.contains("nemo_cluster_fallbacks_total{what=\"cache\",policy=\"fail_open\",}"), metrics);
        assertEquals(503, b.get("/cache/stats", "authorization", "Bearer " + MASTER).statusCode());
        assertEquals(503, b.post("/cache/flush", "", "authorization", "Bearer " + MASTER).statusCode());

        redis.restart(); // empty: the answers went with it
        for (TestGateway gw : List.of(a, b)) {
            awaitRedisUp(gw);
        }
        assertEquals("miss", cache(chat(a, MASTER, body(""))));
        awaitEntries(b, 1);
        assertEquals("hit", cache(chat(b, MASTER, body(""))), "shared again after the restart");
        assertEquals(4, calls.get());
    }

    @Test
    void aRedisSlowerThanTheTimeoutIsAMiss() throws Exception {
        RedisProcess redis = RedisProcess.start();
        opened.add(redis);
        TestGateway a = replica(redis.url(), "nemo.cluster.timeout = 300ms");
        chat(a, MASTER, body(""));
        awaitEntries(a, 1);
        // a script that keeps Redis busy for three seconds or more: the gateway's lookups go unanswered meanwhile
        Thread busy = new Thread(() -> {
            try (RedisClient client = RedisClient.create(redis.url()); StatefulRedisConnection<String, String> c = client.connect()) {
                c.setTimeout(Duration.ofSeconds(30));
                c.sync().eval("local n = 0 for i = 1, 400000000 do n = n + 1 end return n", ScriptOutputType.INTEGER);
            }
        });
        busy.start();
        Thread.sleep(200);
        long start = System.nanoTime();
        HttpResponse<String> r = chat(a, MASTER, body(""));
        long ms = (System.nanoTime() - start) / 1_000_000;
        boolean stillBusy = busy.isAlive();
        busy.join();
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("miss", cache(r), "Redis did not answer within nemo.cluster.timeout");
        assertTrue(stillBusy, "answered while Redis was still busy (not waiting for it): " + ms + " ms");
        assertEquals(2, calls.get());
        awaitRedisUp(a);
        assertEquals("hit", cache(chat(a, MASTER, body(""))), "Redis answers again");
    }
}
