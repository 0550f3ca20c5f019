package io.nemorouter.filters.keys.cluster;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * Settlements Redis did not take (it was down, or slower than the timeout), kept in order in
 * memory and appended to {@code cluster-spend.journal} in the data directory, so neither an outage
 * nor a restart during one loses spend. Replayed in order once Redis answers, each under an id the
 * settle script applies once ({@code {p}:op:<id>}), so a replay cut short and redone counts nothing
 * twice; the file is emptied when the queue is. Entries read back at start are replayed as spend
 * only: this replica's reservations and places in flight were cleared when it started.
 */
final class SpendJournal implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SpendJournal.class);
    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build(); // an older line's fields

    record Entry(String id, List<RedisLedgers.SettleLevel> levels) {
    }

    private final Path file;
    private final ConcurrentLinkedQueue<Entry> queue = new ConcurrentLinkedQueue<>();
    private FileChannel out;

    private SpendJournal(Path file) {
        this.file = file;
    }

    static SpendJournal open(Path file) {
        SpendJournal j = new SpendJournal(file);
        try {
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) {
                        continue;
                    }
                    try {
                        Entry e = JSON.readValue(line, new TypeReference<Entry>() { });
                        j.queue.add(new Entry(e.id(), e.levels().stream().map(RedisLedgers.SettleLevel::spendOnly).toList()));
                    } catch (IOException bad) { // a line cut short by a crash mid-write: the rest still counts
                        LOG.warn("cluster: an unreadable line in {} is skipped: {}", file, bad.getMessage());
                    }
                }
                if (!j.queue.isEmpty()) {
                    LOG.warn("cluster: {} settlements journaled while Redis was away will be replayed", j.queue.size());
                }
            }
            j.out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the spend journal " + file, e);
        }
        return j;
    }

    int pending() {
        return queue.size();
    }

    /**
     * Keeps a settlement for replay under {@code id} (the id it was first sent with, if it was: Redis
     * may have applied it without answering, and a replay under the same id is then skipped): on
     * disk first (a crash of the process after this loses nothing), then queued.
     */
    synchronized void add(String id, List<RedisLedgers.SettleLevel> levels) {
        Entry e = new Entry(id, levels);
        try {
            byte[] line = (JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8);
            out.write(java.nio.ByteBuffer.wrap(line));
        } catch (IOException io) {
            LOG.error("cluster: the spend journal {} cannot be written; the settlement is kept in memory only", file, io);
        }
        queue.add(e);
    }

    /**
     * Sends what waits, in order, up to 256 at a time pipelined on one connection (one round trip,
     * each under its own once-only id), and drops from the queue the leading run Redis took; stops
     * at the first failure (the next beat tries again from there).
     */
    void replay(BiFunction<List<RedisLedgers.SettleLevel>, String, CompletionStage<?>> send) throws Exception {
        int sent = 0;
        while (!queue.isEmpty()) {
            List<Entry> batch = new ArrayList<>();
            for (Entry e : queue) {
                if (batch.size() == 256) {
                    break;
                }
                batch.add(e);
            }
            List<java.util.concurrent.CompletableFuture<?>> answers = new ArrayList<>(batch.size());
            for (Entry e : batch) {
                answers.add(send.apply(e.levels(), e.id()).toCompletableFuture());
            }
            for (java.util.concurrent.CompletableFuture<?> a : answers) {
                a.get(10, TimeUnit.SECONDS); // in order: a failure leaves it and those after it queued
                queue.poll();
                sent++;
            }
        }
        if (sent > 0) {
            synchronized (this) {
                if (queue.isEmpty()) {
                    out.truncate(0);
                }
            }
            LOG.warn("cluster: {} journaled settlements replayed into Redis", sent);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            LOG.warn("cluster: closing the spend journal failed", e);
        }
    }
}
