package io.nemorouter.filters.keys.cluster;

import io.lettuce.core.ScriptOutputType;
import io.nemorouter.filters.cluster.RedisLink;
import io.nemorouter.filters.keys.store.RedisKeyStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Limits and budgets kept in Redis (cluster mode), exact across replicas: each attempt of a keyed
 * request is admitted by one script call that checks and takes at every level at once
 * ({@code keys-admit.lua}: parallel places, RPM and TPM as GCRA on Redis's clock, the budget as
 * settled spend plus every replica's open reservations), and settled by another
 * ({@code keys-settle.lua}). So a limit of N admits N across all replicas, not N per replica, and
 * a budget raced from every replica passes its ceiling by at most what one request's real cost
 * exceeds its reservation (only possible for a prompt whose tokens the byte count does not bound).
 *
 * <p>Reservations and places in flight are kept per replica ({@code res:<replica>},
 * {@code par:<replica>}), so a replica that dies does not hold them for ever: each replica beats
 * once a second, and one silent for {@value #STALE_MS} ms has its shares cleared
 * ({@code keys-janitor.lua}); a replica clears its own when it starts. A settlement Redis did not
 * take (down, slow) goes to the {@link SpendJournal} and is replayed, once, when Redis answers.
 */
public final class RedisLedgers implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisLedgers.class);
    static final long STALE_MS = 15_000;

    private final RedisLink link;
    private final SpendJournal journal;
    private final String touched;
    private final String replicas;

    private RedisLedgers(RedisLink link, SpendJournal journal) {
        this.link = link;
        this.journal = journal;
        this.touched = link.key("touched:" + link.replica());
        this.replicas = link.key("replicas");
        this.admissionPrefix = link.key("adm:" + link.replica() + ":" + System.currentTimeMillis() + ":");
    }

    /**
     * Starts sharing: clears what this replica held before it (re)started, replays the spend it
     * journaled then, and beats every second.
     */
    public static RedisLedgers start(RedisLink link, Path dataDir) {
        RedisLedgers l = new RedisLedgers(link, SpendJournal.open(dataDir.resolve("cluster-spend.journal")));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) { // a cold start's first script calls may take longer than the request path's timeout
            try {
                l.janitor(true).toCompletableFuture().get(10, TimeUnit.SECONDS);
                break;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    l.journal.close();
                    throw new io.nemorouter.filters.store.StoreException("Redis: this replica's shares of the limits cannot be reset: " + e, e);
                }
            }
        }
        link.timer().scheduleWithFixedDelay(l::beat, 1, 1, TimeUnit.SECONDS);
        return l;
    }

    public RedisLink link() {
        return link;
    }

    /**
     * What admission asks at one level: the level's limits, and of each (requests, tokens, places in
     * flight, budget in nano-USD) what the request needs, refused if it does not fit, and what the
     * replica wants to hold ahead for later requests, granted as far as it fits.
     */
    public record AdmitLevel(String ledger, long budgetLimit, long periodStart, long periodEnd, long rpmLimit, long tpmLimit,
                             long parallel, long[] need, long[] want) {
        /** Indexes of {@link #need}, {@link #want} and {@link Admitted#granted}. */
        public static final int REQUESTS = 0, TOKENS = 1, PLACES = 2, BUDGET = 3, KINDS = 4;
    }

    /**
     * The answer: admitted (with, per level, the ledger's period and sums, the rate limits' state
     * after this request, and what was granted) or refused at {@code level} by {@code what}
     * ({@code parallel}, {@code rpm}, {@code tpm}, {@code budget}), with how long until it would pass.
     */
    public record Admitted(boolean ok, int level, String what, long waitMillis, long spent, long periodEnd, long[] state) {
        /**
         * Per level: period start, period end, spent, total, rpm remaining (-1: none), rpm reset ms,
         * tpm remaining, tpm reset ms, then what was granted of each kind (from {@link #GRANTED}).
         */
        public static final int PER_LEVEL = 12;
        public static final int GRANTED = 8;

        /** What level {@code i} was granted of one kind ({@link AdmitLevel#REQUESTS} ...). */
        public long granted(int i, int kind) {
            return state[i * PER_LEVEL + GRANTED + kind];
        }

        /** Refused for the budget, which the request would fit but for reservations that settle or go back soon. */
        public boolean heldBack() {
            return !ok && "budget_held".equals(what);
        }
    }

    /**
     * Takes what {@code levels} ask, at every level at once, atomically; completes on a Redis thread,
     * exceptionally when Redis did not answer in time. Such an admission may still have run in
     * Redis: it is undone there ({@code keys-undo.lua}), once Redis answers, so what it took is not
     * held until this replica restarts.
     */
    public CompletionStage<Admitted> admit(List<AdmitLevel> levels) {
        String[] keys = new String[levels.size() + 2];
        String[] args = new String[2 + levels.size() * 14];
        args[0] = link.replica();
        args[1] = Integer.toString(levels.size());
        int a = 2;
        for (int i = 0; i < levels.size(); i++) {
            AdmitLevel l = levels.get(i);
            keys[i] = RedisKeyStore.ledgerKey(link, l.ledger());
            args[a++] = Long.toString(l.budgetLimit());
            args[a++] = Long.toString(l.periodStart());
            args[a++] = Long.toString(l.periodEnd());
            args[a++] = Long.toString(l.rpmLimit());
            args[a++] = Long.toString(l.tpmLimit());
            args[a++] = Long.toString(l.parallel());
            for (int k = 0; k < AdmitLevel.KINDS; k++) {
                args[a++] = Long.toString(l.need()[k]);
                args[a++] = Long.toString(l.want()[k]);
            }
        }
        keys[levels.size()] = touched;
        keys[levels.size() + 1] = admissionPrefix + admissions.incrementAndGet();
        return link.<List<Object>>script("keys-admit", ScriptOutputType.MULTI, keys, args).whenComplete((r, e) -> {
            if (e != null) {
                undo(keys);
            }
        }).thenApply(RedisLedgers::admitted);
    }

    /** {@code {p}:adm:<replica>:<start>:}: an admission's key is this and its number. */
    private final String admissionPrefix;
    private final java.util.concurrent.atomic.AtomicLong admissions = new java.util.concurrent.atomic.AtomicLong();
    /** Admissions to undo, each as its keys (ledgers, the touched set, its own): tried at once and then every beat until Redis answers. */
    private final java.util.concurrent.ConcurrentLinkedQueue<String[]> undo = new java.util.concurrent.ConcurrentLinkedQueue<>();

    private void undo(String[] admitKeys) {
        // the admission's key, then its ledgers (not the touched set, which is no ledger)
        String[] keys = new String[admitKeys.length - 1];
        keys[0] = admitKeys[admitKeys.length - 1];
        System.arraycopy(admitKeys, 0, keys, 1, admitKeys.length - 2);
        undo.add(keys);
        undoPending();
    }

    private final java.util.concurrent.atomic.AtomicBoolean undoing = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Undoes the admissions waiting for it, one after another, without blocking a thread; stops at
     * the first Redis does not take (the next beat tries again).
     */
    private void undoPending() {
        if (!undoing.compareAndSet(false, true)) {
            return; // a chain is under way
        }
        String[] keys = undo.peek();
        if (keys == null) {
            undoing.set(false);
            if (!undo.isEmpty()) {
                undoPending(); // one added after the peek and before the flag went down
            }
            return;
        }
        link.<Long>scriptOffPath("keys-undo", ScriptOutputType.INTEGER, keys, link.replica()).whenComplete((r, e) -> {
            if (e == null) {
                undo.poll();
            } else {
                LOG.debug("cluster: undoing an admission failed, tried again in a second ({})", e.toString());
            }
            undoing.set(false);
            if (e == null) {
                undoPending();
            }
        });
    }

    private static Admitted admitted(List<Object> r) {
        if (((Long) r.get(0)) == 0) {
            return new Admitted(false, (int) (long) (Long) r.get(1) - 1, (String) r.get(2), (Long) r.get(3), (Long) r.get(4),
                    (Long) r.get(5), null);
        }
        long[] state = new long[r.size() - 1];
        for (int i = 1; i < r.size(); i++) {
            state[i - 1] = (Long) r.get(i);
        }
        return new Admitted(true, -1, null, 0, 0, 0, state);
    }

    /**
     * What a finished request settles at one level, or a lease gives back: {@code reserved} leaves
     * this replica's reservations, {@code cost} is spent, the TPM limit is charged
     * {@code tpmCorrection} tokens (given back when negative), {@code requestsBack} go back to the
     * RPM limit, {@code placesFreed} places in flight are freed.
     */
    public record SettleLevel(String ledger, long periodStart, long periodEnd, long reserved, long cost, long tpmCorrection,
                              long tpmLimit, long requestsBack, long rpmLimit, long placesFreed, long[] alertAt) {
        /** Only its spend: what a replay after a restart may still apply (this replica's shares were cleared). */
        SettleLevel spendOnly() {
            return new SettleLevel(ledger, periodStart, periodEnd, 0, cost, 0, tpmLimit, 0, rpmLimit, 0, alertAt);
        }

        /** Whether it changes anything in Redis. */
        public boolean empty() {
            return reserved == 0 && cost == 0 && tpmCorrection == 0 && requestsBack == 0 && placesFreed == 0;
        }
    }

    /** Per level: period start, period end, spent, total, and the alert thresholds crossed as [from, to). */
    public record Settled(long[] state) {
        public static final int PER_LEVEL = 6;
    }

    /**
     * Settles a finished request; {@code then} gets the ledgers' state on a Redis thread. Sent with
     * the others of the next 2 ms in one script call. Never fails: what Redis does not take is
     * journaled and replayed when it answers ({@code then} is not called for those).
     */
    public void settle(List<SettleLevel> levels, Consumer<Settled> then) {
        waiting.add(new Waiting(levels, then));
        if (queued.getAndIncrement() == 0) {
            link.timer().schedule(this::flush, SETTLE_BATCH_MICROS, TimeUnit.MICROSECONDS);
        }
    }

    /** A settlement waiting for the next batch. */
    private record Waiting(List<SettleLevel> levels, Consumer<Settled> then) {
    }

    /** Settlements of the last moments go in one script call: Redis runs one script, the link wakes once. */
    private static final long SETTLE_BATCH_MICROS = 2_000;
    private static final int SETTLE_BATCH_MAX = 64;
    private final java.util.concurrent.ConcurrentLinkedQueue<Waiting> waiting = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();

    /** On the link's timer: sends what waits, in batches, in order; what Redis does not take is journaled. */
    private void flush() {
        while (true) {
            List<Waiting> batch = new java.util.ArrayList<>();
            for (Waiting w; batch.size() < SETTLE_BATCH_MAX && (w = waiting.poll()) != null; ) {
                batch.add(w);
            }
            if (!batch.isEmpty()) {
                send(batch);
            }
            if (queued.addAndGet(-batch.size()) == 0) {
                return; // the next settle schedules the next flush
            }
        }
    }

    private void send(List<Waiting> batch) {
        Merged merged = Merged.of(batch);
        List<SettleLevel> all = merged.levels;
        // an id from the first send on: Redis may apply a batch and not answer in time, and its replay is then skipped
        String id = java.util.UUID.randomUUID().toString();
        if (journal.pending() > 0) { // keep the order: nothing overtakes what waits to be replayed
            journal.add(id, all);
            return;
        }
        String op = link.key("op:" + id);
        run(all, op, null).whenComplete((s, e) -> {
            if (e != null) {
                LOG.warn("cluster: {} settlements did not reach Redis ({}); journaled for replay", batch.size(), e.toString());
                journal.add(id, all);
                return;
            }
            // answered: it will not be replayed, so its once-only key (kept a week for a replay) can go now
            link.slowAsync().unlink(op);
            merged.answer(batch, s.state());
        });
    }

    /**
     * A batch's settlements summed per ledger and period (the requests of a busy key are one level
     * of one script call, not one each), and which merged level each settlement's levels went to.
     */
    private static final class Merged {
        final List<SettleLevel> levels = new java.util.ArrayList<>();
        final int[][] at;

        private Merged(int waiting) {
            at = new int[waiting][];
        }

        static Merged of(List<Waiting> batch) {
            Merged m = new Merged(batch.size());
            java.util.Map<String, Integer> index = new java.util.HashMap<>();
            for (int w = 0; w < batch.size(); w++) {
                List<SettleLevel> levels = batch.get(w).levels();
                m.at[w] = new int[levels.size()];
                for (int i = 0; i < levels.size(); i++) {
                    SettleLevel l = levels.get(i);
                    String same = l.ledger() + '\n' + l.periodStart() + '\n' + l.periodEnd() + '\n' + l.tpmLimit() + '\n' + l.rpmLimit()
                            + '\n' + java.util.Arrays.toString(l.alertAt());
                    Integer j = index.putIfAbsent(same, m.levels.size());
                    if (j == null) {
                        m.at[w][i] = m.levels.size();
                        m.levels.add(l);
                    } else {
                        m.at[w][i] = j;
                        SettleLevel o = m.levels.get(j);
                        m.levels.set(j, new SettleLevel(o.ledger(), o.periodStart(), o.periodEnd(), o.reserved() + l.reserved(),
                                o.cost() + l.cost(), o.tpmCorrection() + l.tpmCorrection(), o.tpmLimit(),
                                o.requestsBack() + l.requestsBack(), o.rpmLimit(), o.placesFreed() + l.placesFreed(), o.alertAt()));
                    }
                }
            }
            return m;
        }

        /** Hands each settlement its levels' state; a crossed alert threshold only to the first that had that level. */
        void answer(List<Waiting> batch, long[] state) {
            boolean[] told = new boolean[levels.size()];
            int per = Settled.PER_LEVEL;
            for (int w = 0; w < batch.size(); w++) {
                Waiting one = batch.get(w);
                if (one.then() == null) {
                    continue;
                }
                long[] mine = new long[at[w].length * per];
                boolean whole = true;
                for (int i = 0; i < at[w].length; i++) {
                    int j = at[w][i];
                    if ((j + 1) * per > state.length) {
                        whole = false;
                        break;
                    }
                    System.arraycopy(state, j * per, mine, i * per, per);
                    if (told[j]) {
                        mine[i * per + 4] = mine[i * per + 5]; // crossed thresholds: told once
                    }
                    told[j] = true;
                }
                if (!whole) {
                    continue;
                }
                try {
                    one.then().accept(new Settled(mine));
                } catch (RuntimeException ex) {
                    LOG.error("cluster: handling a settlement failed", ex);
                }
            }
        }
    }

    /**
     * Gets, for each level of a settlement replayed from the journal whose alerts Redis hands out
     * (a request admitted by the shared ledgers; one decided here while Redis was away sent its own),
     * the thresholds it crossed: {@code listener} gets the level and its 6 numbers of
     * {@link Settled}, on a Redis or timer thread. The request that crossed them is long answered.
     */
    public void onReplayed(java.util.function.BiConsumer<SettleLevel, long[]> listener) {
        this.replayedListener = listener;
    }

    private volatile java.util.function.BiConsumer<SettleLevel, long[]> replayedListener;

    private void replayed(List<SettleLevel> levels, Settled settled) {
        java.util.function.BiConsumer<SettleLevel, long[]> listener = replayedListener;
        long[] s = settled.state();
        for (int i = 0; listener != null && i < levels.size() && (i + 1) * Settled.PER_LEVEL <= s.length; i++) {
            int o = i * Settled.PER_LEVEL;
            long[] alertAt = levels.get(i).alertAt();
            if (alertAt != null && alertAt.length > 0 && s[o + 5] > s[o + 4]) {
                try {
                    listener.accept(levels.get(i), java.util.Arrays.copyOfRange(s, o, o + Settled.PER_LEVEL));
                } catch (RuntimeException e) {
                    LOG.error("cluster: handling a replayed settlement's alerts failed", e);
                }
            }
        }
    }

    private CompletionStage<Settled> run(List<SettleLevel> levels, String opId, Consumer<Settled> then) {
        String[] keys = new String[levels.size()];
        String[] args = new String[3 + levels.size() * 10];
        args[0] = link.replica();
        args[1] = Integer.toString(levels.size());
        args[2] = opId;
        int a = 3;
        for (int i = 0; i < levels.size(); i++) {
            SettleLevel l = levels.get(i);
            keys[i] = RedisKeyStore.ledgerKey(link, l.ledger());
            args[a++] = Long.toString(l.periodStart());
            args[a++] = Long.toString(l.periodEnd());
            args[a++] = Long.toString(l.reserved());
            args[a++] = Long.toString(l.cost());
            args[a++] = Long.toString(l.tpmCorrection());
            args[a++] = Long.toString(l.tpmLimit());
            args[a++] = Long.toString(l.requestsBack());
            args[a++] = Long.toString(l.rpmLimit());
            args[a++] = Long.toString(l.placesFreed());
            args[a++] = thresholds(l.alertAt());
        }
        CompletableFuture<Settled> out = new CompletableFuture<>();
        link.<List<Object>>scriptOffPath("keys-settle", ScriptOutputType.MULTI, keys, args).whenComplete((r, e) -> {
            if (e != null) {
                out.completeExceptionally(e);
                return;
            }
            long[] state = new long[r.size()];
            for (int i = 0; i < r.size(); i++) {
                state[i] = (Long) r.get(i);
            }
            Settled s = new Settled(state);
            out.complete(s);
            if (then != null) {
                try {
                    then.accept(s);
                } catch (RuntimeException ex) {
                    LOG.error("cluster: handling a settlement failed", ex);
                }
            }
        });
        return out;
    }

    private static String thresholds(long[] at) {
        if (at == null || at.length == 0) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (long v : at) {
            b.append(b.isEmpty() ? "" : ",").append(v);
        }
        return b.toString();
    }

    /** Once a second, on the link's timer: the heartbeat (with the janitor's rounds) and the journal's replay. */
    private void beat() {
        try {
            janitor(false).toCompletableFuture().get(5, TimeUnit.SECONDS);
            undoPending();
            journal.replay((levels, id) -> run(levels, link.key("op:" + id), settled -> replayed(levels, settled)));
        } catch (Exception e) {
            LOG.debug("cluster: heartbeat failed ({})", e.toString());
        }
    }

    private CompletionStage<Long> janitor(boolean clearOwn) {
        return link.script("keys-janitor", ScriptOutputType.INTEGER, new String[] {replicas, link.key("janitors")}, link.replica(),
                Long.toString(System.currentTimeMillis()), Long.toString(STALE_MS), clearOwn ? "1" : "0", link.key("touched:"));
    }

    @Override
    public void close() {
        // after the drain: what waits for its batch goes now, or to the journal (replayed at the next start)
        List<Waiting> rest = new java.util.ArrayList<>();
        for (Waiting w; (w = waiting.poll()) != null; ) {
            rest.add(w);
        }
        if (!rest.isEmpty()) {
            Merged merged = Merged.of(rest);
            List<SettleLevel> all = merged.levels;
            String id = java.util.UUID.randomUUID().toString();
            try { // longer than the slow connection's own timeout: its answer, or its failure, comes first
                run(all, link.key("op:" + id), settled -> merged.answer(rest, settled.state())).toCompletableFuture()
                        .get(link.slowTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                journal.add(id, all); // applied or not, its replay under the same id counts it once
            }
        }
        journal.close();
    }
}
