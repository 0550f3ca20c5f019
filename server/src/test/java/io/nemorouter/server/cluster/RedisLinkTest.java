package io.nemorouter.server.cluster;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.nemorouter.filters.cluster.RedisLink;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The link's idea of whether Redis is there: one slow answer is not an outage (no replica should
 * re-read every record because one command took longer than the timeout), several in a row are.
 */
class RedisLinkTest {

    private static CompletableFuture<Long> call(RedisLink link, String ledger) {
        return link.<Long>script("keys-period", ScriptOutputType.INTEGER, new String[] {ledger}, "1000", "2000").toCompletableFuture();
    }

    @Test
    void oneSlowAnswerLeavesTheLinkUpAndSeveralInARowTakeItDown() throws Exception {
        try (RedisProcess redis = RedisProcess.start();
             RedisLink link = RedisLink.connect(redis.url(), RedisProcess.prefix(), Duration.ofMillis(50), Duration.ofSeconds(5), "me", true)) {
            AtomicInteger reconnects = new AtomicInteger();
            link.onReconnect(reconnects::incrementAndGet);
            String ledger = link.key("ledger:key:slow");
            call(link, ledger).get();
            RedisClient client = RedisClient.create(redis.url());
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                RedisProcess.clientPause(c, 300, "WRITE"); // scripts wait, pings do not
                assertThrows(Exception.class, () -> call(link, ledger).get(), "a script held past the timeout fails");
                assertTrue(link.up(), "one slow answer: still up");
                Thread.sleep(400);
                call(link, ledger).get();
                Thread.sleep(200);
                assertEquals(0, reconnects.get(), "nothing to re-read after one slow answer");

                RedisProcess.clientPause(c, 600, "ALL");
                List<CompletableFuture<Long>> calls = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    calls.add(call(link, ledger));
                }
                for (CompletableFuture<Long> f : calls) {
                    assertThrows(Exception.class, f::get);
                }
                assertFalse(link.up(), "three in a row: down");
                Thread.sleep(800);
                call(link, ledger).get();
                Thread.sleep(200);
                assertTrue(link.up(), "answering again: up");
                assertEquals(1, reconnects.get(), "and what may have been missed meanwhile is re-read once");
            } finally {
                client.shutdown();
            }
        }
    }
}
