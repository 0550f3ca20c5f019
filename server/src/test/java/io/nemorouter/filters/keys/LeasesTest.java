package io.nemorouter.filters.keys;

import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.filters.keys.cluster.RedisLedgers;
import io.nemorouter.filters.keys.cluster.RedisLedgers.AdmitLevel;
import io.nemorouter.server.cluster.RedisProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A replica's {@link Leases} against a real Redis, driven as {@link SharedLimitsFilter} and
 * {@link Admission} drive them: take, ask Redis for what is not covered, settle, and give back.
 */
class LeasesTest {
    RedisLink link;
    RedisLedgers ledgers;
    Leases leases;
    Path dir;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("nemo-leases");
        link = RedisLink.connect(RedisProcess.sharedUrl(), RedisProcess.prefix(), Duration.ofSeconds(2), Duration.ofSeconds(5), "me", true);
        ledgers = RedisLedgers.start(link, dir);
        leases = new Leases(ledgers);
    }

    @AfterEach
    void stop() {
        leases.close();
        ledgers.close();
        link.close();
        io.nemorouter.testkit.TestGateway.deleteTree(dir);
    }

    private String ledger(String name, long start) {
        String key = link.key("ledger:" + name);
        link.sync().hset(key, Map.of("start", Long.toString(start), "end", "0", "spent", "0", "total", "0", "alerted", "0"));
        return key;
    }

    private static long[] need(long requests, long tokens, long places, long budget) {
        return new long[] {requests, tokens, places, budget};
    }

    /** What Redis holds for this replica in {@code field} ({@code res:me}, {@code par:me}) once settlements are sent. */
    private long held(String key, String field) throws InterruptedException {
        Thread.sleep(100); // the settlement batch goes out within 2 ms
        String v = link.sync().hget(key, field);
        return v == null ? 0 : Long.parseLong(v);
    }

    /** Asks Redis for what the share's lease did not cover, as the admission filter does, and records the grant. */
    private void askRedis(Leases.Share s) {
        RedisLedgers.Admitted answer = ledgers.admit(List.of(s.ask())).toCompletableFuture().join();
        assertTrue(answer.ok(), "admitted");
        leases.granted(s, answer, 0);
    }

    /**
     * The request path may wait for Redis longer than the sweeper's idle second (the cluster timeout
     * is configurable, 2 s in the cluster tests): a lease that held nothing while its request waited
     * is retired meanwhile. What Redis then grants it (the request's place and the lease's top-up)
     * must still go back when the request ends and the lease is idle, not be held for ever.
     */
    @Test
    void placesGrantedToARequestThatWaitedForRedisLongerThanTheIdleSecondGoBack() throws Exception {
        String key = ledger("key:slow", 0);
        long now = System.currentTimeMillis();
        Leases.Share s = leases.take("key:slow", -1, 0, 0, 0, 0, 200, need(0, 0, 1, 0), now);
        assertTrue(!s.covered(), "an empty lease covers nothing: the request asks Redis");
        Thread.sleep(Leases.IDLE_NANOS / 1_000_000 + 600); // Redis answers late: the sweeper has run meanwhile
        askRedis(s);
        assertEquals(3, held(key, "par:me"), "the request's place and the lease of 2");
        ledgers.settle(List.of(leases.settle(s, 0, 0, false, false, null)), null);
        long left = -1;
        for (int tries = 0; tries < 30 && left != 0; tries++) {
            left = held(key, "par:me");
        }
        assertEquals(0, left, "every place went back once the lease was idle");
    }

    /**
     * A dearer deployment than reserved for is topped up from the lease; the call then costs more than
     * the first reservation but within both. What the lease holds afterwards must be what Redis counts
     * as this replica's reservation: more held here than reserved there is budget another replica may
     * reserve too (the ceiling passed by it).
     */
    @Test
    void aTopUpsCostLeavesTheLeaseHoldingWhatRedisReserves() throws Exception {
        long start = System.currentTimeMillis() - 1000;
        String key = ledger("key:topup", start);
        long limit = 1_000_000_000L; // $1: a lease of a hundredth, 10,000,000 nano-USD
        long now = System.currentTimeMillis();
        Leases.Share first = leases.take("key:topup", limit, start, 0, 0, 0, 0, need(0, 0, 0, 3_000_000), now);
        askRedis(first);
        assertEquals(13_000_000, held(key, "res:me"), "the reservation and the lease");
        Leases.Share more = leases.take("key:topup", limit, first.start, first.end, 0, 0, 0, need(0, 0, 0, 10_000_000), now);
        assertTrue(more.covered(), "the top-up comes from the lease");
        // the request ends costing 12,000,000: its first reservation settles with the cost, then the top-up goes back (as Admission does)
        RedisLedgers.SettleLevel main = leases.settle(first, 12_000_000, 0, false, false, null);
        RedisLedgers.SettleLevel back = leases.settle(more, 0, 0, false, false, null);
        ledgers.settle(List.of(back), null);
        ledgers.settle(List.of(main), null);
        long lease;
        synchronized (first.lease) {
            lease = first.lease.held[AdmitLevel.BUDGET];
        }
        assertEquals(1_000_000, lease, "the lease holds what is left of the reservation");
        assertEquals(lease, held(key, "res:me"), "and Redis reserves exactly that for this replica");
        assertEquals("12000000", link.sync().hget(key, "spent"));
    }
}
