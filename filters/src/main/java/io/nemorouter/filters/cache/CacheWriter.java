package io.nemorouter.filters.cache;

import io.prometheus.client.Counter;
import io.nemorouter.filters.support.Doze;
import org.jctools.queues.MpscArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.locks.LockSupport;

/**
 * The cache's one writer thread: stores, evictions and flushes, handed over from the event loops
 * through a bounded lock-free queue that the thread polls every 20 ms while work comes (stores waiting
 * are answered from {@link WriteBehindStore}'s pending map meanwhile), so a miss neither waits for
 * the store nor wakes another thread; after a second without work it sleeps until the next store
 * wakes it ({@link Doze}). A full queue drops the store and counts it.
 */
final class CacheWriter implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(CacheWriter.class);

    private final MpscArrayQueue<Runnable> queue;
    private final Counter dropped;
    private final Thread thread;
    private final Doze doze = new Doze(20, 1_000, 1_000);
    private volatile boolean closing;

    CacheWriter(int capacity, Counter dropped) {
        this.queue = new MpscArrayQueue<>(capacity);
        this.dropped = dropped;
        this.thread = new Thread(this, "nemo-cache-writer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** From any thread, never blocking; false (and counted) when the queue is full. */
    boolean submit(Runnable task) {
        if (queue.offer(task)) {
            doze.added();
            return true;
        }
        dropped.inc();
        return false;
    }

    @Override
    public void run() {
        while (true) {
            if (queue.drain(this::run, 256) > 0) {
                doze.worked();
                continue;
            }
            if (closing) {
                return;
            }
            doze.rest(queue::isEmpty);
        }
    }

    private void run(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException | StackOverflowError | LinkageError | InternalError e) {
            // one bad entry must not stop the writer: every later store and flush would wait on it for good. InternalError:
            // what the JVM throws for a fault in a mapped file (the disk full under the cache's sparse ring file)
            LOG.warn("cache: a store or flush failed: {}", e.toString());
        }
    }

    /** Finishes what is queued (for up to {@code waitMillis}), then stops. */
    void close(long waitMillis) throws InterruptedException {
        closing = true;
        LockSupport.unpark(thread);
        thread.join(waitMillis);
    }
}
