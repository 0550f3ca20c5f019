package io.nemorouter.filters.accounting;

import com.fasterxml.jackson.databind.JsonNode;
import io.prometheus.client.Counter;
import io.nemorouter.filters.support.Doze;
import org.jctools.queues.MpscArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.LocalDate;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The request log's one writer: event loops {@link #offer} records into a bounded lock-free queue
 * (a full queue drops the record and counts it: a request is never slowed by its log line); this
 * thread appends them as JSON Lines, adds them to the {@link Rollups}, rotates files by UTC day and
 * size, deletes files past the retention, and saves the rollups with the log position they cover.
 */
final class LogWriter implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(LogWriter.class);
    private static final byte[] NEWLINE = {'\n'};

    private final MpscArrayQueue<CallRecord> queue;
    private final Path dir;
    private final long maxFileBytes;
    private final int retentionDays;
    private final long reportRetentionHours;
    private final Rollups rollups;
    private final Path snapshot;
    private final long snapshotEveryNanos;
    private final Counter dropped;
    private final Counter failed;
    private SpendMetrics metrics;
    /** The exporters' listener, or null: it gets each line as written. */
    private RecordListener listener;
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(2048);
    private final Clock clock;
    private final Thread thread;
    /** Polls every 20 ms while records come (a wakeup is a futex round trip; a record waits at most that long to be written); asleep after a second without, woken by the next (or for the snapshot). */
    private final Doze doze;
    private volatile boolean closing;

    private OutputStream out;
    private String fileName;
    private LocalDate fileDay;
    private int fileSeq;
    private long fileBytes;
    private long unflushed;
    private long lastSnapshot = System.nanoTime();
    private boolean dirty;

    LogWriter(Path dir, long maxFileBytes, int retentionDays, long reportRetentionHours, int capacity, Rollups rollups,
              Path snapshot, long snapshotEveryNanos, Counter dropped, Counter failed, Clock clock) {
        this.reportRetentionHours = reportRetentionHours;
        this.queue = new MpscArrayQueue<>(capacity);
        this.dir = dir;
        this.maxFileBytes = maxFileBytes;
        this.retentionDays = retentionDays;
        this.rollups = rollups;
        this.snapshot = snapshot;
        this.snapshotEveryNanos = snapshotEveryNanos;
        this.dropped = dropped;
        this.failed = failed;
        this.clock = clock;
        this.thread = new Thread(this, "nemo-request-log");
        this.thread.setDaemon(true);
        this.doze = new Doze(20, 1_000, Math.max(1, TimeUnit.NANOSECONDS.toMillis(snapshotEveryNanos)));
    }

    /** Counts each record into these metrics too. */
    void metrics(SpendMetrics m) {
        this.metrics = m;
    }

    /** Hands each written record's line to {@code l} too (on this thread). */
    void listener(RecordListener l) {
        this.listener = l;
    }

    void start() {
        thread.start();
    }

    /** From any thread, never blocking: false (and counted) when the queue is full. */
    boolean offer(CallRecord r) {
        if (queue.offer(r)) {
            doze.added();
            return true;
        }
        dropped.inc();
        return false;
    }

    @Override
    public void run() {
        while (true) {
            int n = queue.drain(this::write, 4096);
            if (n > 0) {
                doze.worked();
                if (System.nanoTime() - lastSnapshot > snapshotEveryNanos) {
                    flush(); // a queue that never empties must not starve the snapshot (a restart replays what it misses)
                    saveSnapshot();
                }
                continue;
            }
            flush();
            if (dirty && System.nanoTime() - lastSnapshot > snapshotEveryNanos) {
                saveSnapshot();
            }
            if (closing && queue.isEmpty()) {
                break;
            }
            doze.rest(queue::isEmpty);
        }
        flush();
        saveSnapshot();
        closeFile();
    }

    private void write(CallRecord r) {
        JsonNode metadata = null;
        if (r.metadataJson() != null) {
            try {
                metadata = RecordJson.MAPPER.readTree(r.metadataJson());
            } catch (IOException e) {
                metadata = null; // validated by the gateway's first pass; cannot happen
            }
        }
        byte[] json;
        try {
            rollOver(r.time());
            line.reset();
            RecordJson.write(r, metadata, line);
            json = listener == null ? null : line.toByteArray();
            line.write(NEWLINE);
            line.writeTo(out);
            fileBytes += line.size();
            unflushed += line.size();
        } catch (IOException | RuntimeException e) {
            failed.inc();
            LOG.warn("request log: cannot write the record of {}: {}", r.id(), e.toString());
            closeFile(); // a new file next time
            return; // the report sums what the log holds
        }
        rollups.add(r, metadata);
        if (json != null) {
            try {
                listener.onRecord(json);
            } catch (RuntimeException e) {
                LOG.warn("request log: the record listener failed on {}: {}", r.id(), e.toString());
            }
        }
        if (metrics != null) {
            metrics.record(r);
        }
        dirty = true;
    }

    private void rollOver(long time) throws IOException {
        LocalDate day = LogFiles.day(time);
        if (fileDay != null && day.isBefore(fileDay)) {
            // a record a little late across midnight (two event loops, a clock step) joins the newer day's file:
            // files never go back in time, so a replay from a position reads each record once
            day = fileDay;
        }
        if (out != null && day.equals(fileDay) && fileBytes < maxFileBytes) {
            return;
        }
        closeFile();
        if (!day.equals(fileDay)) {
            fileDay = day;
            fileSeq = nextSeq(day);
            deleteExpired(day);
        } else {
            fileSeq++;
        }
        Files.createDirectories(dir);
        fileName = LogFiles.name(day, fileSeq);
        out = new BufferedOutputStream(Files.newOutputStream(dir.resolve(fileName), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.APPEND), 1 << 16);
        fileBytes = Files.size(dir.resolve(fileName));
    }

    /** A file of its own per start: never appended to one a crash may have cut mid-line. */
    private int nextSeq(LocalDate day) throws IOException {
        int seq = 0;
        for (Path p : LogFiles.list(dir)) {
            String name = p.getFileName().toString();
            if (day.equals(LogFiles.dayOf(name))) {
                seq = Math.max(seq, LogFiles.seqOf(name) + 1);
            }
        }
        return seq;
    }

    private void deleteExpired(LocalDate today) {
        LocalDate oldest = today.minusDays(retentionDays);
        try {
            for (Path p : LogFiles.list(dir)) {
                if (LogFiles.dayOf(p.getFileName().toString()).isBefore(oldest)) {
                    Files.deleteIfExists(p);
                    LOG.info("request log: deleted {} (older than the retention of {} days)", p.getFileName(), retentionDays);
                }
            }
        } catch (IOException e) {
            LOG.warn("request log: cannot delete expired files: {}", e.toString());
        }
    }

    private void flush() {
        if (out != null && unflushed > 0) {
            try {
                out.flush();
            } catch (IOException e) {
                failed.inc();
                LOG.warn("request log: cannot flush {}: {}", fileName, e.toString());
                closeFile();
            }
            unflushed = 0;
        }
    }

    private void saveSnapshot() {
        lastSnapshot = System.nanoTime();
        if (!dirty) {
            return;
        }
        rollups.dropBefore(Math.floorDiv(clock.millis(), 3_600_000L) - reportRetentionHours);
        try {
            rollups.save(snapshot, fileName == null ? null : new Rollups.Position(fileName, fileBytes));
            dirty = false;
        } catch (IOException e) {
            LOG.warn("request log: cannot save the spend rollups to {}: {}", snapshot, e.toString());
        }
    }

    private void closeFile() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.warn("request log: closing {}: {}", fileName, e.toString());
            }
            out = null;
        }
    }

    /** Stops after writing what is queued (for up to {@code waitMillis}). */
    void close(long waitMillis) throws InterruptedException {
        closing = true;
        LockSupport.unpark(thread);
        thread.join(waitMillis);
        if (thread.isAlive()) {
            LOG.warn("request log: the writer did not finish within {} ms; {} records unwritten", waitMillis, queue.size());
        }
    }

    /** Records waiting (for tests and metrics). */
    int queued() {
        return queue.size();
    }
}
