package io.nemorouter.filters.export;

import io.prometheus.client.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One exporter's queue and thread: records wait here (bounded by count and bytes; a full queue drops
 * the record and counts it, the log's writer never waits), leave in batches of {@code batch_size},
 * after {@code flush_interval} or when they hold half of {@code max_queue_bytes}, and a batch the
 * receiver could not take is sent again after an exponential backoff with jitter (or its
 * {@code Retry-After}), up to {@code max_retries} times. At shutdown what is queued is sent before a
 * deadline.
 */
final class ExportQueue implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(ExportQueue.class);

    /** The common settings of an entry, read by {@link ExportExtension}. */
    record Settings(String name, int batchSize, Duration flushInterval, int capacity, long maxBytes, int maxRetries,
                    Duration backoff, Duration maxBackoff) {
    }

    /** The counters one queue reports under its exporter's name. */
    record Meters(Counter.Child delivered, Counter.Child droppedFull, Counter.Child refused, Counter.Child failed,
                  Counter.Child retries) {
    }

    private final Exporter exporter;
    private final Settings s;
    private final Meters meters;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private final ArrayDeque<ExportRecord> queue = new ArrayDeque<>();
    private final Thread thread;
    private long queuedBytes;
    private long firstQueuedNanos;
    private boolean closing;
    /** Set with {@link #closing}: when the shutdown's sending must end (System.nanoTime). */
    private long deadlineNanos;

    ExportQueue(Exporter exporter, Settings settings, Meters meters) {
        this.exporter = exporter;
        this.s = settings;
        this.meters = meters;
        this.thread = new Thread(this, "nemo-export-" + settings.name());
        this.thread.setDaemon(true);
    }

    String name() {
        return s.name();
    }

    void start() {
        thread.start();
    }

    /** From the log's writer thread; never waits. False (and counted) when the queue is full or closed. */
    boolean offer(ExportRecord r) {
        lock.lock();
        try {
            if (closing || queue.size() >= s.capacity() || queuedBytes + r.bytes().length > s.maxBytes()) {
                meters.droppedFull().inc();
                return false;
            }
            boolean wasEmpty = queue.isEmpty();
            if (wasEmpty) {
                firstQueuedNanos = System.nanoTime();
            }
            queue.add(r);
            queuedBytes += r.bytes().length;
            if (wasEmpty || queue.size() >= s.batchSize() || halfFull()) {
                ready.signal(); // the first record starts the flush interval's clock; a full batch goes now
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The queued records hold half the byte cap: a batch goes now, not at the flush interval. Large
     * records (bodies included) would otherwise reach the cap, and be dropped, long before a large
     * batch_size fills (an object store's 5,000 records of 10 KB are 50 MB, over the 16 MiB default).
     */
    private boolean halfFull() {
        return queuedBytes >= s.maxBytes() / 2;
    }

    /** Counts a record the fan-out did not offer because no queue had room. */
    void dropped() {
        meters.droppedFull().inc();
    }

    /** Whether a record would be taken now: when no queue has room, the fan-out skips building records it would drop. */
    boolean hasRoom() {
        lock.lock();
        try {
            return !closing && queue.size() < s.capacity() && queuedBytes < s.maxBytes();
        } finally {
            lock.unlock();
        }
    }

    int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void run() {
        while (true) {
            List<ExportRecord> batch = nextBatch();
            if (batch == null) {
                break;
            }
            deliver(batch);
        }
        try {
            exporter.close();
        } catch (Exception e) {
            LOG.warn("exporter {}: close failed: {}", s.name(), e.toString());
        }
    }

    /** Waits for a full batch, the flush interval, or shutdown; null when closing and nothing is left. */
    private List<ExportRecord> nextBatch() {
        lock.lock();
        try {
            while (true) {
                if (!queue.isEmpty()) {
                    long waited = System.nanoTime() - firstQueuedNanos;
                    if (queue.size() >= s.batchSize() || halfFull() || closing || waited >= s.flushInterval().toNanos()) {
                        List<ExportRecord> batch = new ArrayList<>(Math.min(queue.size(), s.batchSize()));
                        while (batch.size() < s.batchSize() && !queue.isEmpty()) {
                            ExportRecord r = queue.poll();
                            queuedBytes -= r.bytes().length;
                            batch.add(r);
                        }
                        firstQueuedNanos = System.nanoTime(); // what is left starts a new wait
                        return batch;
                    }
                    ready.awaitNanos(s.flushInterval().toNanos() - waited);
                } else if (closing) {
                    return null;
                } else {
                    ready.await();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Sends one batch until it is delivered, refused, out of retries, or the shutdown deadline passes. */
    private void deliver(List<ExportRecord> batch) {
        for (int attempt = 0; ; attempt++) {
            Delivery d;
            try {
                d = exporter.send(batch);
            } catch (Exception e) {
                d = Delivery.retry(e.toString(), null);
            }
            switch (d.outcome()) {
                case DELIVERED -> {
                    meters.delivered().inc(batch.size());
                    return;
                }
                case REFUSED -> {
                    meters.refused().inc(batch.size());
                    LOG.warn("exporter {}: {} records refused ({}); not retried", s.name(), batch.size(), d.detail());
                    return;
                }
                case RETRY -> {
                    if (attempt >= s.maxRetries()) {
                        meters.failed().inc(batch.size());
                        LOG.warn("exporter {}: {} records dropped after {} tries ({})", s.name(), batch.size(), attempt + 1, d.detail());
                        return;
                    }
                    meters.retries().inc();
                    Duration wait = backoff(attempt, d.retryAfter());
                    if (attempt == 0) {
                        LOG.warn("exporter {}: sending {} records failed ({}); retrying in {} ms", s.name(), batch.size(), d.detail(), wait.toMillis());
                    }
                    if (!sleep(wait)) {
                        meters.failed().inc(batch.size());
                        LOG.warn("exporter {}: {} records not sent before the shutdown deadline ({})", s.name(), batch.size(), d.detail());
                        return;
                    }
                }
            }
        }
    }

    /** The wait before try {@code attempt + 2}: the receiver's Retry-After (capped), else exponential with full jitter. */
    Duration backoff(int attempt, Duration retryAfter) {
        if (retryAfter != null) {
            return retryAfter.compareTo(s.maxBackoff()) > 0 ? s.maxBackoff() : retryAfter;
        }
        long cap = Math.min(s.maxBackoff().toMillis(), s.backoff().toMillis() << Math.min(attempt, 20));
        return Duration.ofMillis(cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1));
    }

    /** Sleeps unless that would pass the shutdown deadline (then false). */
    private boolean sleep(Duration d) {
        lock.lock();
        try {
            long until = System.nanoTime() + d.toNanos();
            long left;
            while ((left = until - System.nanoTime()) > 0) {
                if (closing && until - deadlineNanos > 0) {
                    return false; // the wait would end past the shutdown deadline
                }
                ready.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Takes no more records; sends what is queued, stopping at {@code deadlineNanos} (System.nanoTime). */
    void beginClose(long deadlineNanos) {
        lock.lock();
        try {
            closing = true;
            this.deadlineNanos = deadlineNanos;
            ready.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits for the thread to finish sending, at most until the deadline; then interrupts it. */
    void awaitClosed(long deadlineNanos) throws InterruptedException {
        long left = deadlineNanos - System.nanoTime();
        thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        if (thread.isAlive()) {
            LOG.warn("exporter {}: still sending at the shutdown deadline; {} records not sent", s.name(), queued());
            thread.interrupt();
        }
    }
}
