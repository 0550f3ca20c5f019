package io.nemorouter.filters.support;

import org.jctools.queues.MpscArrayQueue;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DozeTest {

    /** A consumer thread as the writers run one: drain, note work, rest. Counts its passes. */
    private static final class Consumer implements AutoCloseable {
        final MpscArrayQueue<Long> queue = new MpscArrayQueue<>(1 << 16);
        final Doze doze;
        final AtomicInteger passes = new AtomicInteger();
        final AtomicInteger taken = new AtomicInteger();
        final AtomicLong worstDelayNanos = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        final Thread thread;

        Consumer(Doze doze) {
            this.doze = doze;
            this.thread = new Thread(() -> {
                while (!stop.get()) {
                    passes.incrementAndGet();
                    int n = queue.drain(offeredAt -> {
                        taken.incrementAndGet();
                        worstDelayNanos.accumulateAndGet(System.nanoTime() - offeredAt, Math::max);
                    });
                    if (n > 0) {
                        doze.worked();
                        continue;
                    }
                    doze.rest(queue::isEmpty);
                }
            }, "doze-test-consumer");
            thread.start();
        }

        void offer() {
            assertTrue(queue.offer(System.nanoTime()));
            doze.added();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            java.util.concurrent.locks.LockSupport.unpark(thread);
            thread.join(5_000);
        }
    }

    @Test
    void anIdleConsumerStopsPollingAndTheNextItemWakesItAtOnce() throws Exception {
        try (Consumer c = new Consumer(new Doze(2, 50, 60_000))) {
            c.offer();
            Thread.sleep(300); // 50 ms of polling, then asleep
            int before = c.passes.get();
            Thread.sleep(500);
            // polling every 2 ms would make some 250 passes in 500 ms; asleep, none (or one spurious wake-up)
            assertTrue(c.passes.get() - before <= 2, "passes while idle: " + (c.passes.get() - before));

            c.offer();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (c.taken.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(2, c.taken.get());
            // woken by the offer, not by its 60 s timer
            assertTrue(c.worstDelayNanos.get() < TimeUnit.MILLISECONDS.toNanos(500), "delay " + c.worstDelayNanos.get() / 1_000_000 + " ms");
        }
    }

    @Test
    void noItemWaitsForTheTimerWhenAnOfferRacesTheConsumerFallingAsleep() throws Exception {
        // idle after 0 ms: the consumer goes to sleep after every empty pass. Each round offers one item at a
        // random moment of the consumer's way to sleep and waits for it: a lost wake-up leaves it waiting for
        // the 30 s timer, with no later offer to rescue it
        try (Consumer c = new Consumer(new Doze(1, 0, 30_000))) {
            java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
            for (int round = 1; round <= 3_000; round++) {
                long spin = System.nanoTime() + r.nextInt(30_000);
                while (System.nanoTime() < spin) {
                    Thread.onSpinWait();
                }
                c.offer();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (c.taken.get() < round && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                assertEquals(round, c.taken.get(), "round " + round + ": the item was not taken within 2 s");
            }
        }
    }
}
