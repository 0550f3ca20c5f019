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
}
