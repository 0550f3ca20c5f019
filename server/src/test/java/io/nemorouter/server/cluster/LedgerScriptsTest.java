package io.nemorouter.server.cluster;

import io.lettuce.core.ScriptOutputType;
import io.nemorouter.filters.cluster.RedisLink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ledger scripts' rules, run directly against a real Redis: a budget period an admin change records, and the janitor. */
class LedgerScriptsTest {
    RedisLink link;

    @BeforeEach
    void connect() throws Exception {
        link = RedisLink.connect(RedisProcess.sharedUrl(), RedisProcess.prefix(), Duration.ofSeconds(2), Duration.ofSeconds(5), "me", true);
    }

    @AfterEach
    void close() {
        link.close();
    }

    private long period(String ledger, long start, long end) {
        return link.<Long>script("keys-period", ScriptOutputType.INTEGER, new String[] {ledger}, Long.toString(start), Long.toString(end))
                .toCompletableFuture().join();
    }

    @Test
    void anAdminChangeNeverStretchesAnEndedPeriodNorMovesARunningOnesStart() {
        String ledger = link.key("ledger:key:k1");
        assertEquals(1, period(ledger, 1000, 2000), "a new ledger takes the period");
        link.sync().hset(ledger, Map.of("spent", "700", "res:r1", "50"));
        assertEquals(0, period(ledger, 900, 1900), "a gateway whose view lags moves nothing");
        assertEquals("1000", link.sync().hget(ledger, "start"));
        assertEquals(3, period(ledger, 1000, 3000), "the same start: the duration changed, the end moves");
        assertEquals("3000", link.sync().hget(ledger, "end"));
        assertEquals("700", link.sync().hget(ledger, "spent"), "a running period keeps its spend");
        assertEquals(2, period(ledger, 3000, 5000), "the stored period ended: the next one starts afresh");
        assertEquals("3000", link.sync().hget(ledger, "start"));
        assertEquals("0", link.sync().hget(ledger, "spent"), "not last period's spend, stretched");
        assertFalse(link.sync().hexists(ledger, "res:r1"), "nor its reservations");
    }

    private long janitor() {
        return link.<Long>script("keys-janitor", ScriptOutputType.INTEGER, new String[] {link.key("replicas"), link.key("janitors")},
                "me", "0", "15000", "0", link.key("touched:")).toCompletableFuture().join();
    }

    private long redisMillis() {
        List<String> t = link.sync().time();
        return Long.parseLong(t.get(0)) * 1000 + Long.parseLong(t.get(1)) / 1000;
    }

    @Test
    void aReplicaSilentBecauseRedisWasAwayIsNotTakenForDeadButOneSilentSinceIs() {
        String ledger = link.key("ledger:key:k2");
        link.sync().hset(ledger, Map.of("start", "1", "end", "0", "spent", "0", "par:other", "2", "res:other", "500"));
        link.sync().sadd(link.key("touched:other"), ledger);
        long now = redisMillis();
        // no janitor has run for 60 s (Redis was away from every replica): other's last beat is as old
        link.sync().hset(link.key("replicas"), "other", Long.toString(now - 60_000));
        link.sync().hset(link.key("janitors"), Map.of("last", Long.toString(now - 60_000), "resumed", "0"));
        assertEquals(0, janitor(), "silence is counted from when the janitors resumed");
        assertTrue(link.sync().hexists(ledger, "par:other"));
        // the janitors resumed 20 s ago and other has not beaten since: dead
        link.sync().hset(link.key("janitors"), Map.of("last", Long.toString(now), "resumed", Long.toString(now - 20_000)));
        assertEquals(1, janitor());
        assertFalse(link.sync().hexists(ledger, "par:other"), "its places in flight are cleared");
        assertFalse(link.sync().hexists(ledger, "res:other"), "and its reservations");
        assertFalse(link.sync().hexists(link.key("replicas"), "other"));
    }

    /** keys-admit.lua at one level with a budget, rpm and parallel limit: needs and wants of requests, tokens, places, budget. */
    private List<Object> admit(String ledger, String admission, long need, long want) {
        String[] args = {"me", "1", "1000000", "1", "0", "600", "0", "10", Long.toString(need), Long.toString(want), "0", "0",
                Long.toString(need), Long.toString(want), Long.toString(need * 1000), Long.toString(want * 1000)};
        return link.<List<Object>>script("keys-admit", ScriptOutputType.MULTI, new String[] {ledger, link.key("touched:me"), admission}, args)
                .toCompletableFuture().join();
    }

    private long undo(String ledger, String admission) {
        return link.<Long>script("keys-undo", ScriptOutputType.INTEGER, new String[] {admission, ledger}, "me").toCompletableFuture().join();
    }

    @Test
    void anAdmissionTheGatewayStoppedWaitingForIsUndoneOnceAndOneNotRunYetNeverTakes() {
        String ledger = link.key("ledger:key:k3");
        List<Object> first = admit(ledger, link.key("adm:a1"), 1, 4);
        assertEquals(1L, first.get(0), "admitted: " + first);
        assertEquals(List.of(5L, 0L, 5L, 5000L), first.subList(9, 13), "granted what it needed and wanted: " + first);
        assertEquals("5", link.sync().hget(ledger, "par:me"));
        assertEquals("5000", link.sync().hget(ledger, "res:me"));
        long rpmAfterFirst = Long.parseLong(link.sync().hget(ledger, "rpm"));
        List<Object> second = admit(ledger, link.key("adm:a2"), 1, 0);
        assertEquals(1L, second.get(0));
        // the gateway stopped waiting for the second: undone, and only once
        assertEquals(1, undo(ledger, link.key("adm:a2")));
        assertEquals(0, undo(ledger, link.key("adm:a2")), "an undo run twice gives back once");
        assertEquals("5", link.sync().hget(ledger, "par:me"), "its place is free again");
        assertEquals("5000", link.sync().hget(ledger, "res:me"), "its reservation is gone");
        assertEquals(rpmAfterFirst, Long.parseLong(link.sync().hget(ledger, "rpm")), 1, "its request is back in the rate limit");
        // an undo that arrives before its admission (another connection) leaves a tombstone: the admission takes nothing
        assertEquals(0, undo(ledger, link.key("adm:a3")));
        List<Object> late = admit(ledger, link.key("adm:a3"), 1, 0);
        assertEquals(0L, late.get(0), "refused: " + late);
        assertEquals("5", link.sync().hget(ledger, "par:me"));
        assertEquals("5000", link.sync().hget(ledger, "res:me"));
    }

    /** keys-admit.lua at one level with only a budget of 1,000,000 nano-USD: what it says to a request that needs {@code need}. */
    private List<Object> admitBudget(String ledger, String admission, long need) {
        String[] args = {"me", "1", "1000000", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", Long.toString(need), "0"};
        return link.<List<Object>>script("keys-admit", ScriptOutputType.MULTI, new String[] {ledger, link.key("touched:me"), admission}, args)
                .toCompletableFuture().join();
    }

    @Test
    void aBudgetRefusalSaysWhetherOnlyReservationsStandInTheWay() {
        String ledger = link.key("ledger:key:k4");
        link.sync().hset(ledger, Map.of("start", "1", "end", "0", "spent", "600000", "res:other", "300000"));
        List<Object> held = admitBudget(ledger, link.key("adm:b1"), 200_000);
        assertEquals(List.of(0L, 1L, "budget_held"), held.subList(0, 3), "fits what is left once another replica's reservation settles: " + held);
        List<Object> over = admitBudget(ledger, link.key("adm:b2"), 500_000);
        assertEquals(List.of(0L, 1L, "budget"), over.subList(0, 3), "more than is left even with nothing reserved: " + over);
        link.sync().hdel(ledger, "res:other"); // the other request settled (at no cost, say)
        assertEquals(1L, admitBudget(ledger, link.key("adm:b3"), 200_000).get(0), "asked again, it fits");
    }
}
