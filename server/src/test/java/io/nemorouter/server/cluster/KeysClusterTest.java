package io.nemorouter.server.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.DoubleAdder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three gateway processes on one Redis hold keys, limits and budgets as one gateway would: a key
 * made on one works on the others, a block applies everywhere within a second, a 60 RPM key admits
 * 60 in all (not 60 per replica), and a budget raced from all three does not pass its ceiling.
 */
class KeysClusterTest {
    static ClusterGateways gw;

    static String prefix;

    @BeforeAll
    static void start() throws Exception {
        prefix = RedisProcess.prefix();
        // and a model whose answers take 150 ms: a request that stays in flight while another is decided
        gw = new ClusterGateways(3, RedisProcess.sharedUrl(), prefix, "nemo.models += { name = \"slow\", provider = mock, "
                + "mock { latency = 150ms }, input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 }");
    }

    @AfterAll
    static void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void aKeyMadeOnOneReplicaWorksOnTheOthersAndABlockReachesAllWithinASecond() throws Exception {
        String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"roaming\"}").get("key").asText();
        long made = System.nanoTime();
        for (int r = 1; r < 3; r++) {
            assertEquals(200, until(r, key, 200, made), "the key works on replica " + r + " within a second");
        }
        gw.admin(1, "/key/block", "{\"key\":\"" + key + "\"}");
        long blocked = System.nanoTime();
        for (int r = 0; r < 3; r++) {
            HttpResponse<String> refused = gw.chat(r, key, "blocked?");
            int status = refused.statusCode() == 403 ? 403 : until(r, key, 403, blocked);
            assertEquals(403, status, "the blocked key is refused on replica " + r + " within a second");
        }
        // and what any replica reports of it is the shared record
        assertTrue(gw.admin(2, "/key/info?key=" + key, null).get("info").get("blocked").asBoolean());
        gw.admin(2, "/key/delete", "{\"keys\":[\"" + key + "\"]}");
        assertEquals(401, until(0, key, 401, System.nanoTime()), "deleted on one, unknown on all");
    }

    /**
     * A request that would fit the budget but for another request's reservation (in flight, or
     * answered and not yet settled in Redis) is not refused at once: it asks again for a moment,
     * and is admitted when that request has settled.
     */
    @Test
    void aRequestKeptOutOnlyByAnotherRequestsReservationIsAdmittedOnceThatSettles() throws Exception {
        // what one request may cost at most: a key with next to no budget is refused, and its 402 says so
        String poor = gw.admin(0, "/key/generate", "{\"key_alias\":\"poor\",\"max_budget\":0.000001}").get("key").asText();
        HttpResponse<String> refused = gw.until(0, poor, 402, System.nanoTime(), java.time.Duration.ofSeconds(1)) == 402
                ? gw.chat(0, poor, "how much?") : null;
        assertTrue(refused != null && refused.statusCode() == 402, "refused");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("may cost up to \\$([0-9.]+)").matcher(refused.body());
        assertTrue(m.find(), refused.body());
        double worst = Double.parseDouble(m.group(1));
        // room for one worst case (an answer costs about a quarter of it), not two while the first is reserved
        double budget = worst * 1.6;
        String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"held\",\"max_budget\":" + budget + "}").get("key").asText();
        assertEquals(200, gw.until(1, key, 200, System.nanoTime(), java.time.Duration.ofSeconds(1)), "the key reached replica 1");
        java.util.concurrent.CompletableFuture<HttpResponse<String>> first = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return gw.chat(0, key, "first", "slow");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(60); // the first is admitted and in flight, its worst case reserved
        long sent = System.nanoTime();
        HttpResponse<String> second = gw.chat(1, key, "second");
        double waited = (System.nanoTime() - sent) / 1e6;
        assertEquals(200, first.join().statusCode());
        assertEquals(200, second.statusCode(), "admitted once the first settled, not refused for its reservation: " + second.body());
        double spend = gw.admin(1, "/key/info?key=" + key, null).get("info").get("spend").asDouble();
        assertTrue(spend <= budget + 1e-9, "within the budget: " + spend + " of " + budget);
        System.out.printf("cluster budget: a request kept out by another's reservation was admitted after %.0f ms%n", waited);
    }

    /** The fields of {@code key}'s ledger in Redis (spend, period, each replica's reservation and places). */
    private static Map<String, String> ledger(String key) throws Exception {
        String id = gw.admin(0, "/key/info?key=" + key, null).get("info").get("key_id").asText();
        try (io.nemorouter.filters.cluster.RedisLink link = io.nemorouter.filters.cluster.RedisLink.connect(RedisProcess.sharedUrl(),
                prefix, java.time.Duration.ofSeconds(2), java.time.Duration.ofSeconds(5), "test", true)) {
            return new java.util.TreeMap<>(link.sync().hgetall(link.key("ledger:key:" + id)));
        }
    }

    /** Sends on {@code replica} until it answers {@code want}, for at most a second after {@code since}; the last status. */
    private static int until(int replica, String key, int want, long since) throws Exception {
        return gw.until(replica, key, want, since, java.time.Duration.ofSeconds(1));
    }

    @Test
    void aSixtyRpmKeyAdmitsSixtyAcrossAllReplicas() throws Exception {
        String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"rpm60\",\"rpm_limit\":60}").get("key").asText();
        for (int r = 1; r < 3; r++) {
            until(r, key, 429, System.nanoTime()); // make sure every replica knows it (each try may take one of the 60)
        }
        String key2 = gw.admin(0, "/key/generate", "{\"key_alias\":\"rpm60b\",\"rpm_limit\":60}").get("key").asText();
        Thread.sleep(300); // the new key reaches every replica
        AtomicInteger admitted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        Map<Integer, Integer> other = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            int replica = t % 3;
            Thread th = new Thread(() -> {
                for (int i = 0; i < 25; i++) {
                    try {
                        int s = gw.chat(replica, key2, "count me " + i).statusCode();
                        (s == 200 ? admitted : s == 429 ? refused : null).incrementAndGet();
                    } catch (Exception | Error e) {
                        other.merge(-1, 1, Integer::sum);
                    }
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        // GCRA: a minute's worth (60) at once, then one a second: the bound over 60 is the seconds the burst took
        assertTrue(other.isEmpty(), "every answer was a 200 or a 429: " + other);
        assertEquals(150, admitted.get() + refused.get());
        assertTrue(admitted.get() >= 60, "the limit admits its 60: " + admitted);
        assertTrue(admitted.get() <= 60 + (int) Math.ceil(seconds) + 1,
                "60 in all across three replicas (plus one a second of refill), not 180: " + admitted + " in " + seconds + " s");
        System.out.printf("cluster rpm: %d admitted of 150 sent across 3 replicas in %.2f s (limit 60/min)%n", admitted.get(), seconds);
    }

    /**
     * A limit of 1,200 RPM is leased a hundredth at a time: most requests are admitted from a
     * replica's lease, and the three together still admit no more than the limit (with GCRA's refill
     * during the run), and no fewer than the limit less the two leases other replicas may hold
     * (twice over, while one is topped up). Idle leases go back within a second or so.
     */
    @Test
    void aBusyKeyIsAdmittedFromLeasesWithinItsLimitAndTheLeasesGoBackWhenIdle() throws Exception {
        int limit = 1200;
        JsonNode made = gw.admin(0, "/key/generate", "{\"key_alias\":\"leased\",\"rpm_limit\":" + limit + ",\"max_budget\":1000}");
        String key = made.get("key").asText();
        String ledger = "key:" + made.get("key_id").asText();
        Thread.sleep(300);
        double byLease = admissions("lease");
        double byRedis = admissions("redis");
        AtomicInteger sent = new AtomicInteger();
        AtomicInteger admitted = new AtomicInteger();
        List<Integer> other = java.util.Collections.synchronizedList(new ArrayList<>());
        DoubleAdder costs = new DoubleAdder();
        long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 12; t++) {
            int replica = t % 3;
            Thread th = new Thread(() -> {
                for (int i; (i = sent.incrementAndGet()) <= limit + 300; ) {
                    try {
                        HttpResponse<String> r = gw.chat(replica, key, "leased " + i);
                        if (r.statusCode() == 200) {
                            admitted.incrementAndGet();
                            costs.add(Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElse("0")));
                        } else if (r.statusCode() != 429) {
                            other.add(r.statusCode());
                        }
                    } catch (Exception e) {
                        other.add(-1);
                    }
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(other.isEmpty(), "every answer was a 200 or a 429: " + other);
        int lease = limit / 100;
        assertTrue(admitted.get() <= limit + (int) Math.ceil(seconds * limit / 60) + 1,
                "no more than the limit across the replicas (and its refill in " + seconds + " s): " + admitted);
        assertTrue(admitted.get() >= limit - 2 * 2 * lease, "no fewer than the limit less what other replicas hold: " + admitted);
        double fromLeases = admissions("lease") - byLease;
        double fromRedis = admissions("redis") - byRedis;
        assertTrue(fromLeases > fromRedis, "most requests were admitted from a lease: " + fromLeases + " vs " + fromRedis + " asked");
        // idle leases go back: Redis holds no reservation of this key's budget and no place for it once they have
        Map<String, String> held = Map.of();
        try (io.nemorouter.filters.cluster.RedisLink link = io.nemorouter.filters.cluster.RedisLink.connect(RedisProcess.sharedUrl(),
                prefix, java.time.Duration.ofSeconds(2), java.time.Duration.ofSeconds(5), "test", true)) {
            held = RedisProcess.sharesHeld(() -> link.sync().hgetall(link.key("ledger:" + ledger)), 1, 40);
            // every settlement batch was answered: none leaves its once-only key (kept a week for a replay) behind
            assertEquals(List.of(), link.sync().keys(link.key("op:*")), "no settlement's once-only key outlives its answer");
        }
        assertEquals(Map.of(), held, "the leases went back when idle");
        assertEquals(costs.sum(), gw.admin(1, "/key/info?key=" + key, null).get("info").get("spend").asDouble(), 1e-6,
                "the shared ledger holds every answered call's cost, once");
        System.out.printf("cluster leases: %d of %d admitted at %d RPM in %.2f s; %.0f from leases, %.0f asked Redis%n",
                admitted.get(), limit + 300, limit, seconds, fromLeases, fromRedis);
    }

    /** {@code nemo_cluster_admissions_total{by}} summed over the replicas. */
    private static double admissions(String by) throws Exception {
        double sum = 0;
        String line = "nemo_cluster_admissions_total{by=\"" + by + "\",} ";
        for (int r = 0; r < 3; r++) {
            for (String l : gw.get(r, "/metrics").body().split("\n")) {
                if (l.startsWith(line)) {
                    sum += Double.parseDouble(l.substring(line.length()).trim());
                }
            }
        }
        return sum;
    }

    @Test
    void aBudgetRacedFromAllThreeReplicasStopsAtItsCeiling() throws Exception {
        double budget = 1.0;
        String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"race\",\"max_budget\":" + budget + "}").get("key").asText();
        Thread.sleep(300);
        DoubleAdder costs = new DoubleAdder();
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger paymentRequired = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 9; t++) {
            int replica = t % 3;
            Thread th = new Thread(() -> {
                for (int i = 0; i < 40 && paymentRequired.get() < 30; i++) {
                    try {
                        HttpResponse<String> r = gw.chat(replica, key, "race " + replica + "/" + Thread.currentThread().getId() + "/" + i);
                        if (r.statusCode() == 200) {
                            answered.incrementAndGet();
                            costs.add(Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElse("0")));
                        } else if (r.statusCode() == 402) {
                            paymentRequired.incrementAndGet();
                        }
                    } catch (Exception ignored) {
                        // counted as neither
                    }
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        // the racers' settlements land (each goes within 2 ms of its answer: until then their worst cases stay reserved),
        // and the replicas' idle leases go back (after a second): what is left is then the budget's alone
        Thread.sleep(1500);
        // then alone, until refused: what is left is less than the refused request's worst case (it says how much)
        // and what other replicas' leases hold (a hundredth of the budget each)
        double refusedWorst = -1;
        Map<String, String> ledgerAtRefusal = Map.of();
        for (int i = 0; i < 40; i++) {
            HttpResponse<String> r = gw.chat(i % 3, key, "after the race " + i);
            if (r.statusCode() != 200) {
                assertEquals(402, r.statusCode(), r.body());
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("may cost up to \\$([0-9.]+)").matcher(r.body());
                assertTrue(m.find(), "the refusal says what the request may cost: " + r.body());
                refusedWorst = Double.parseDouble(m.group(1));
                ledgerAtRefusal = ledger(key); // what was spent and reserved, by whom, when the race's last request was refused
                break;
            }
            answered.incrementAndGet();
            costs.add(Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElse("0")));
        }
        Thread.sleep(300); // the last settlements
        JsonNode info = gw.admin(1, "/key/info?key=" + key, null).get("info");
        double spend = info.get("spend").asDouble();
        assertTrue(paymentRequired.get() > 0, "the budget ran out");
        assertEquals(costs.sum(), spend, 1e-6, "the shared ledger holds every answered call's cost, once");
        assertTrue(spend <= budget + 1e-9, "raced from three replicas, spend stays within the budget: " + spend);
        assertTrue(refusedWorst > 0, "the request after the race was refused");
        // the stated bound: the refused request's reservation and two other replicas' leases (a request kept out only by
        // reservations asks again for a moment, so a settlement still on its way to Redis does not count against it)
        assertTrue(spend >= budget - refusedWorst - 2 * budget / 100 - 1e-9, "and the budget was used up to less than the refused "
                + "request's reservation ($" + refusedWorst + ") and two other replicas' leases: " + spend + "; the ledger then: "
                + ledgerAtRefusal);
        for (int r = 0; r < 3; r++) {
            assertEquals(spend, gw.admin(r, "/key/info?key=" + key, null).get("info").get("spend").asDouble(), 1e-9,
                    "replica " + r + " reports the shared spend");
        }
        System.out.printf("cluster budget: $%.4f of $%.2f spent by %d calls from 3 replicas, %d refused with 402; the ledger at the "
                + "refusal: %s%n", spend, budget, answered.get(), paymentRequired.get(), ledgerAtRefusal);
    }

    @Test
    void healthReportsTheRedisLink() throws Exception {
        for (int r = 0; r < 3; r++) {
            HttpResponse<String> h = gw.get(r, "/health");
            assertEquals(200, h.statusCode());
            JsonNode body = ClusterGateways.JSON.readTree(h.body());
            assertEquals("ok", body.get("status").asText());
            assertEquals("up", body.get("checks").get("redis").get("status").asText(), h.body());
            assertEquals("r" + r, body.get("checks").get("redis").get("replica").asText());
        }
    }

    @Test
    void aCacheMissOnOneReplicaIsAHitOnAnother() throws Exception {
        String key = gw.admin(0, "/key/generate", "{\"key_alias\":\"cached\"}").get("key").asText();
        Thread.sleep(300);
        String content = "cached across replicas " + System.nanoTime();
        HttpResponse<String> first = gw.chat(0, key, content);
        assertEquals(200, first.statusCode(), first.body());
        assertEquals("miss", first.headers().firstValue("x-nemo-cache").orElse(null));
        HttpResponse<String> second = null;
        for (int i = 0; i < 20; i++) { // the answer is stored from the writer thread, a moment after it was sent
            second = gw.chat(1, key, content);
            if ("hit".equals(second.headers().firstValue("x-nemo-cache").orElse(null))) {
                break;
            }
            Thread.sleep(50);
        }
        assertEquals("hit", second.headers().firstValue("x-nemo-cache").orElse(null), "replica 1 answers from replica 0's miss");
        assertEquals(ClusterGateways.JSON.readTree(first.body()).get("choices"), ClusterGateways.JSON.readTree(second.body()).get("choices"));
        assertEquals("hit", gw.chat(2, key, content).headers().firstValue("x-nemo-cache").orElse(null));
    }
}
