package io.nemorouter.filters.accounting;

import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.nemorouter.filters.cluster.RedisLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Cluster mode's spend sums: each replica shares its own {@link Rollups} through Redis, and a report
 * on any replica adds the others' to its own, so any replica answers for all.
 *
 * <p><b>Writing.</b> The rollups note each cell a call changes; every 250 ms this class's own thread
 * takes the changed cells and writes their sums, absolute (not increments), to hashes per replica,
 * UTC day and grouping ({@code {prefix}:spend:<replica>:<day>:<grouping>}, fields
 * {@code <epoch hour>|<group>}), in batches run by {@code spend-put.lua}, each expiring with the day
 * after the report retention. Absolute sums make a write idempotent: a batch whose answer was lost is
 * sent again without counting twice. While Redis is down nothing is sent and nothing is lost: the
 * changed cells stay noted (at most every cell the rollups hold) and go out when it answers. Each
 * batch carries a sequence number Redis keeps per replica, so a batch re-sent late cannot overwrite
 * newer sums, and a Redis that lost batches it acknowledged (restarted without its data) is noticed.
 * The number also says until when the replica's changes were all written; after such a loss, and at
 * each start (the rollups come back from the snapshot and the log), the replica sends again every
 * cell of the hours from shortly before then, or all of them when Redis has nothing of it.
 *
 * <p><b>Reading.</b> A report reads this replica's sums from memory (current to the last call) and
 * the other replicas' from Redis (at most about a second behind), and merges them; latency sketches
 * merge exactly (the same logarithmic buckets everywhere), so the percentiles of a cluster report are
 * as exact as a single gateway's. When Redis does not answer, the report is this replica's alone and
 * says so.
 */
final class ClusterSpend implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterSpend.class);
    private static final long HOUR_MS = 3_600_000L;
    /** How often the changed sums are sent. */
    static final long SHARE_EVERY_MS = 250;
    /** How often a replica with nothing to send checks that Redis still has what it sent. */
    private static final long CHECK_EVERY_MS = 5_000;
    /**
     * How much older than the time its change reached the rollups a call's record may be: it is stamped
     * when the call ends and goes through the log's queue (late by milliseconds, by at most a minute
     * across event loops), so this is generous.
     */
    private static final long RESEND_SLACK_MS = 10 * 60_000L;
    /** A batch's bounds: each is one script run, which must stay short (other replicas' limits wait behind it). */
    private static final int BATCH_FIELDS = 500;
    private static final int BATCH_CHARS = 64 * 1024;
    /** Reads sent at once: each must be answered within the link's timeout, so not too many queue behind each other. */
    private static final int READ_WAVE = 32;

    private final RedisLink link;
    private final Rollups rollups;
    private final long retentionHours;
    private final Clock clock;
    private final String replica;
    private final String seqKey;
    private final String replicasKey;
    private final String aliasesKey;
    private final long waitMillis;
    private final ScheduledExecutorService thread;

    /** Redis may lack sums it once had, or never had them (at start): send those before the changes. */
    private boolean sendAll = true;
    /**
     * The sequence number of this replica's last batch Redis acknowledged, and of its last batch sent. A
     * batch's is at least {@link #sentBefore} in epoch microseconds, so the one Redis holds also says from
     * when on changes may be missing there: {@link #sendAll} resends the hours from then.
     */
    private long acked;
    private long seq;
    /** Every change the rollups noted before this time (epoch ms) is in Redis. */
    private long sentBefore;
    /** After a failed batch, rounds wait (doubling up to 5 s) rather than take and encode every changed cell again each time. */
    private int failures;
    private long nextTry;
    /** The link came back: Redis may have restarted without what it had. */
    private volatile boolean check;
    private long lastCheck;
    /** Reports read this replica's sums alone since the last failure (to log a fallback once, not per report). */
    private volatile boolean readingAlone;

    ClusterSpend(RedisLink link, Rollups rollups, long retentionHours, Clock clock) {
        this.link = link;
        this.rollups = rollups;
        this.retentionHours = retentionHours;
        this.clock = clock;
        this.replica = link.replica();
        this.seqKey = link.key("spend:seq");
        this.replicasKey = link.key("spend:replicas");
        this.aliasesKey = link.key("spend:aliases");
        this.waitMillis = link.timeout().toMillis() * 4 + 1000; // the link's own timeout fails a command first
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "nemo-spend-share");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts noting changes and sending them. */
    void start() {
        rollups.track();
        link.onReconnect(() -> check = true);
        thread.scheduleWithFixedDelay(this::share, 0, SHARE_EVERY_MS, TimeUnit.MILLISECONDS);
    }

    String replica() {
        return replica;
    }

    // ---- writing -------------------------------------------------------------------------------

    private void share() {
        long start = clock.millis();
        try {
            if (!link.up() || System.nanoTime() < nextTry) {
                return; // the link's ping notices when it answers again; until then the changes stay noted
            }
            if (!sendAll && (check || System.nanoTime() - lastCheck > CHECK_EVERY_MS * 1_000_000)) {
                checkStored();
            }
            if (sendAll && !sendAll()) {
                return;
            }
            if (sendChanged()) {
                sentBefore = start; // what was noted before this round was taken in it, and all of it is written
            }
        } catch (RuntimeException e) {
            LOG.warn("cluster: sharing the spend sums failed; trying again", e);
        }
    }

    /**
     * Whether Redis still has the last batch it acknowledged: a replica that sends nothing new would not
     * otherwise notice that Redis restarted without its data.
     */
    private void checkStored() {
        check = false;
        lastCheck = System.nanoTime();
        try {
            String stored = await(link.async().hget(seqKey, replica));
            if ((stored == null ? 0 : Long.parseLong(stored)) < acked) {
                lost();
            }
        } catch (Unavailable e) {
            check = true; // again next round
        }
    }

    /**
     * The cells Redis may lack (at start, or when it lost some), and every key alias: the hours from
     * shortly before the time the last batch Redis has of this replica says its changes were all sent
     * (the calls changed since are in them), or every hour when it has none.
     */
    private boolean sendAll() {
        String stored;
        try {
            stored = await(link.async().hget(seqKey, replica));
        } catch (Unavailable e) {
            return false;
        }
        acked = stored == null ? 0 : Long.parseLong(stored);
        seq = acked; // not above: the next batches' numbers must not claim more than Redis has
        sentBefore = acked / 1000;
        long fromHour = acked == 0 ? Long.MIN_VALUE : Math.floorDiv(sentBefore - RESEND_SLACK_MS, HOUR_MS);
        Batch b = new Batch();
        int cells = 0;
        // on a failure sendAll stays set: the next round starts over
        for (long hour : rollups.hourList()) {
            if (hour < fromHour) {
                continue;
            }
            for (Rollups.Shared s : rollups.takeHour(hour)) {
                b.cell(s);
                cells++;
                if (b.full() && !sendAndClear(b)) {
                    return false;
                }
            }
        }
        rollups.takeUnsharedAliases(); // all of them go now
        for (Map.Entry<String, String> a : rollups.keyAliases().entrySet()) {
            b.alias(a.getKey(), a.getValue());
            if (b.full() && !sendAndClear(b)) {
                return false;
            }
        }
        if (!sendAndClear(b)) { // even empty: it sets the sequence the next batches build on
            return false;
        }
        sendAll = false;
        LOG.info("cluster: replica {} shared its spend sums{} ({} cells in {} batches)", replica,
                fromHour == Long.MIN_VALUE ? "" : " from " + java.time.Instant.ofEpochMilli(fromHour * HOUR_MS), cells, b.sent);
        return true;
    }

    private boolean sendAndClear(Batch b) {
        if (send(b) != Outcome.WRITTEN) {
            return false;
        }
        b.clear();
        return true;
    }

    /** The cells and aliases changed since the last round; what cannot be sent is noted again. True: all written. */
    private boolean sendChanged() {
        List<Rollups.Shared> cells = rollups.takeUnshared();
        Map<String, String> aliases = rollups.takeUnsharedAliases();
        if (cells.isEmpty() && aliases.isEmpty()) {
            return true;
        }
        List<Batch> batches = new ArrayList<>();
        Batch b = new Batch();
        for (Rollups.Shared s : cells) {
            if (b.full()) {
                batches.add(b);
                b = new Batch();
            }
            b.cell(s);
        }
        for (Map.Entry<String, String> a : aliases.entrySet()) {
            if (b.full()) {
                batches.add(b);
                b = new Batch();
            }
            b.alias(a.getKey(), a.getValue());
        }
        batches.add(b);
        for (int i = 0; i < batches.size(); i++) {
            Outcome o = send(batches.get(i));
            if (o == Outcome.FAILED) {
                for (Batch unsent : batches.subList(i, batches.size())) {
                    rollups.untake(unsent.cells, unsent.aliases);
                }
                return false;
            }
            if (o != Outcome.WRITTEN) {
                sendAll = true; // the sums Redis may lack go again, these with them
                return false;
            }
        }
        return true;
    }

    private enum Outcome { WRITTEN, FAILED, LOST, STALE }

    private void lost() {
        LOG.warn("cluster: Redis no longer has spend sums it acknowledged (restarted without its data?); "
                + "replica {} sends again what it may lack", replica);
        sendAll = true;
    }

    private Outcome send(Batch b) {
        long next = Math.max(seq + 1, sentBefore * 1000);
        seq = next;
        List<String> keys = new ArrayList<>(2 + b.hashes.size());
        keys.add(seqKey);
        keys.add(replicasKey);
        long now = clock.millis();
        List<String> args = new ArrayList<>(5 + 2 * b.hashes.size() + 2 * b.fields);
        args.add(replica);
        args.add(Long.toString(acked));
        args.add(Long.toString(next));
        args.add(Long.toString(now));
        args.add(Long.toString(now - retentionHours * HOUR_MS));
        for (Map.Entry<String, List<String>> h : b.hashes.entrySet()) {
            keys.add(h.getKey());
            args.add(Long.toString(b.expiries.getOrDefault(h.getKey(), 0L)));
            args.add(Integer.toString(h.getValue().size() / 2));
            args.addAll(h.getValue());
        }
        Long r;
        try {
            r = await(link.<Long>script("spend-put", ScriptOutputType.INTEGER, keys.toArray(new String[0]),
                    args.toArray(new String[0])));
        } catch (Unavailable e) {
            LOG.debug("cluster: a batch of spend sums was not written ({}); it goes again", e.getMessage());
            failures = Math.min(failures + 1, 5);
            nextTry = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(5_000, SHARE_EVERY_MS << failures));
            return Outcome.FAILED;
        }
        failures = 0;
        if (r != null && r == 1) {
            acked = next;
            return Outcome.WRITTEN;
        }
        if (r != null && r == -1) {
            lost();
            return Outcome.LOST;
        }
        LOG.warn("cluster: Redis holds newer spend sums of replica {} than it sends (does another gateway use the same "
                + "nemo.cluster.replica_id?); sending again what Redis may lack", replica);
        return Outcome.STALE;
    }

    /** One script run's worth of sums: hash key -> field, value, field, value... */
    private final class Batch {
        final Map<String, List<String>> hashes = new LinkedHashMap<>();
        final Map<String, Long> expiries = new HashMap<>();
        final List<Rollups.Shared> cells = new ArrayList<>();
        final Map<String, String> aliases = new HashMap<>();
        int fields;
        int chars;
        /** Batches written before this one (it is cleared and reused after each). */
        int sent;

        void clear() {
            sent++;
            hashes.clear();
            expiries.clear();
            cells.clear();
            aliases.clear();
            fields = 0;
            chars = 0;
        }

        void cell(Rollups.Shared s) {
            long day = Math.floorDiv(s.hour(), 24);
            String key = dayKey(replica, day, s.dim());
            expiries.computeIfAbsent(key, k -> ((day + 1) * 24 + retentionHours) * 3600);
            put(key, s.hour() + "|" + s.value(), s.encoded());
            cells.add(s);
        }

        void alias(String keyId, String alias) {
            put(aliasesKey, keyId, alias);
            aliases.put(keyId, alias);
        }

        private void put(String key, String field, String value) {
            List<String> h = hashes.computeIfAbsent(key, k -> new ArrayList<>());
            h.add(field);
            h.add(value);
            fields++;
            chars += field.length() + value.length();
        }

        boolean full() {
            return fields >= BATCH_FIELDS || chars >= BATCH_CHARS;
        }
    }

    private String dayKey(String replica, long day, String dim) {
        return link.key("spend:" + replica + ":" + day + ":" + dim);
    }

    // ---- reading -------------------------------------------------------------------------------

    /** Redis did not answer (or the link is down). */
    static final class Unavailable extends Exception {
        Unavailable(String message) {
            super(message);
        }
    }

    /** The other replicas' sums of some groupings, and how many replicas a report covers (this one included). */
    record Others(Rollups sums, int replicas) {
    }

    /**
     * The other replicas' sums of {@code dims} (as kept: pair dimensions for narrowed reports) in the hours
     * from {@code fromHour} to {@code toHour}, within the report retention. Blocks (at most a few timeouts):
     * never call it on an event loop.
     */
    Others others(Collection<String> dims, long fromHour, long toHour) throws Unavailable {
        if (!link.up()) {
            throw new Unavailable("Redis does not answer");
        }
        long now = clock.millis();
        long nowHour = Math.floorDiv(now, HOUR_MS);
        long from = Math.max(fromHour, nowHour - retentionHours);
        long to = Math.min(toHour, nowHour + 48); // another replica's clock may be a little ahead
        List<String> replicas = new ArrayList<>(await(link.async().zrangebyscore(replicasKey,
                Long.toString(now - retentionHours * HOUR_MS), "+inf")));
        replicas.remove(replica); // this one's own sums are read from memory
        Rollups sums = new Rollups(Integer.MAX_VALUE);
        if (from >= to || replicas.isEmpty()) {
            return new Others(sums, replicas.size() + 1);
        }
        List<String[]> reads = new ArrayList<>(); // key, dim
        for (String r : replicas) {
            for (long day = Math.floorDiv(from, 24); day <= Math.floorDiv(to - 1, 24); day++) {
                for (String dim : dims) {
                    reads.add(new String[]{dayKey(r, day, dim), dim});
                }
            }
        }
        int damaged = 0;
        for (int i = 0; i < reads.size(); i += READ_WAVE) {
            List<String[]> wave = reads.subList(i, Math.min(reads.size(), i + READ_WAVE));
            List<RedisFuture<Map<String, String>>> answers = new ArrayList<>(wave.size());
            for (String[] read : wave) {
                answers.add(link.async().hgetall(read[0]));
            }
            for (int j = 0; j < wave.size(); j++) {
                for (Map.Entry<String, String> f : await(answers.get(j)).entrySet()) {
                    try {
                        String field = f.getKey();
                        int bar = field.indexOf('|');
                        long hour = Long.parseLong(field, 0, bar, 10);
                        if (hour >= from && hour < to) {
                            sums.put(hour, wave.get(j)[1], field.substring(bar + 1), Cell.decode(f.getValue()));
                        }
                    } catch (RuntimeException e) {
                        damaged++;
                    }
                }
            }
        }
        if (damaged > 0) {
            LOG.warn("cluster: {} shared spend sums could not be read and were left out of a report", damaged);
        }
        return new Others(sums, replicas.size() + 1);
    }

    /** The aliases of those of {@code keyIds} some replica has seen; empty when Redis does not answer (they are a nicety). */
    Map<String, String> aliases(Collection<String> keyIds) {
        Map<String, String> out = new HashMap<>();
        if (keyIds.isEmpty() || !link.up()) {
            return out;
        }
        try {
            for (KeyValue<String, String> kv : await(link.async().hmget(aliasesKey, keyIds.toArray(new String[0])))) {
                if (kv.hasValue()) {
                    out.put(kv.getKey(), kv.getValue());
                }
            }
        } catch (Unavailable e) {
            LOG.debug("cluster: key aliases not read: {}", e.getMessage());
        }
        return out;
    }

    /** A report that went out with this replica's sums alone because Redis did not answer: counted, and logged once. */
    void readAlone(Unavailable why) {
        link.fellBack("spend");
        if (!readingAlone) {
            readingAlone = true;
            LOG.warn("cluster: spend reports cover this replica alone until Redis answers ({})", why.getMessage());
        }
    }

    /** A report covered every replica again. */
    void readAll() {
        if (readingAlone) {
            readingAlone = false;
            LOG.info("cluster: spend reports cover every replica again");
        }
    }

    private <T> T await(CompletionStage<T> f) throws Unavailable {
        try {
            return f.toCompletableFuture().get(waitMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted");
        } catch (ExecutionException e) {
            throw new Unavailable(String.valueOf(e.getCause()));
        } catch (TimeoutException e) {
            throw new Unavailable("no answer within " + waitMillis + " ms");
        }
    }

    /** One last round for what the log's writer added before it stopped (bounded by the link's timeouts). */
    @Override
    public void close() throws InterruptedException {
        thread.shutdown();
        if (thread.awaitTermination(5, TimeUnit.SECONDS)) {
            nextTry = 0;
            share();
        } else {
            thread.shutdownNow();
        }
    }
}
