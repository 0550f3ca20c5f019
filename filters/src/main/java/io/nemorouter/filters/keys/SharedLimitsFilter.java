package io.nemorouter.filters.keys;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.ModelCatalog;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.keys.cluster.RedisLedgers;
import io.nemorouter.filters.keys.state.Budget;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.RateLimit;
import io.nemorouter.filters.keys.state.Registry;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.prometheus.client.Counter;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Cluster mode: a keyed request's limits and budget at every level, held in Redis (see
 * {@link RedisLedgers}) so that every replica holds the same limits, and taken from this replica's
 * {@link Leases} of them where they cover the request: a busy key's requests ask Redis nothing.
 *
 * <p>{@link #admission} runs before routing, where the gateway alone checks its limits (so a cache
 * hit counts toward RPM, as there): it takes a place in flight, one request of each RPM limit, the
 * token estimate of each TPM limit, and reserves the worst-case cost of the request on the dearest
 * deployment of the model asked for; from the leases, or what they lack (with the leases topped up)
 * in one script call. {@link #topUp} runs once a deployment is chosen: when that deployment (a
 * fallback to another model, say) may cost more than was reserved, it reserves the difference the
 * same way. The reservation covers every attempt of the request and is settled with the real cost
 * when it ends. Refusals are the 429s and 402s of the gateway alone. Where requests were admitted
 * is counted in {@code nemo_cluster_admissions_total{by="lease"|"redis"}}.
 *
 * <p>When Redis does not answer within the cluster timeout: {@code fail_open} decides here, with the
 * limits of this gateway alone ({@link LimitsFilter}, {@link BudgetFilter}) and the spend it last saw;
 * {@code fail_closed} answers 503. Either is counted in {@code nemo_cluster_fallbacks_total}.
 */
final class SharedLimitsFilter {
    private final Registry registry;
    private final RedisLedgers ledgers;
    private final Counter refusals;
    private final BudgetAlerts alerts;
    private final long defaultMaxOutput;
    private final ModelCatalog catalog;
    private final LimitsFilter alone;
    private final BudgetFilter aloneBudget;
    private final Leases leases;
    private final Counter.Child byLease;
    private final Counter.Child byRedis;

    SharedLimitsFilter(Registry registry, RedisLedgers ledgers, Counter refusals, Counter admissions, BudgetAlerts alerts,
                       long defaultMaxOutput, ModelCatalog catalog) {
        this.byLease = admissions.labels("lease");
        this.byRedis = admissions.labels("redis");
        this.registry = registry;
        this.ledgers = ledgers;
        this.refusals = refusals;
        this.alerts = alerts;
        this.defaultMaxOutput = defaultMaxOutput;
        this.catalog = catalog;
        this.alone = new LimitsFilter(registry, refusals, alerts, ledgers);
        this.aloneBudget = new BudgetFilter(registry, defaultMaxOutput, refusals);
        this.leases = new Leases(ledgers);
    }

    /** After the drain, before the ledgers' last flush: the leases give back what they hold. */
    void close() {
        leases.close();
    }

    /** Before routing: the whole admission, from the leases here or in one round trip. */
    final RequestFilter admission = this::admit;

    /** Once the deployment is chosen: more reserved only when it may cost more than was. */
    final RequestFilter topUp = this::topUp;

    /**
     * Pauses before asking again, after Redis said a request would fit its budget but for
     * reservations (in milliseconds, 254 in all): a settlement reaches Redis a few milliseconds
     * after its answer (more on a loaded machine), so a client that sends its next request the
     * moment the last is answered, to another replica, would otherwise be refused for its own last
     * request's reservation. A request kept out by one still in flight is refused after them.
     */
    static final int[] HELD_BACK_PAUSES_MS = {2, 4, 8, 16, 32, 64, 128};

    private Verdict admit(Exchange exchange) {
        return admit(exchange, 0);
    }

    /** {@code tries}: how many times Redis has said so far that reservations keep this request out. */
    private Verdict admit(Exchange exchange, int tries) {
        Principal p = exchange.get(Principal.KEY);
        if (p == null || p.key() == null) {
            return Verdict.CONTINUE;
        }
        Entity<?>[] levels = LimitsFilter.levels(p);
        long prompt = LimitsFilter.promptEstimate(exchange);
        long maxOut = Math.max(0, exchange.body().maxOutputTokens());
        long worst = dearest(exchange);
        long now = registry.clock().millis();
        Leases.Share[] shares = new Leases.Share[levels.length];
        boolean covered = true;
        for (int i = 0; i < levels.length; i++) {
            Entity<?> e = levels[i];
            RateLimit rpm = e.rpm();
            RateLimit tpm = e.tpm();
            long budget = e.budget.limit();
            long tpmLimit = tpm == null ? 0 : tpm.limit();
            long[] need = new long[RedisLedgers.AdmitLevel.KINDS];
            need[RedisLedgers.AdmitLevel.REQUESTS] = rpm == null ? 0 : 1;
            need[RedisLedgers.AdmitLevel.TOKENS] = Math.min(prompt + maxOut, tpmLimit);
            need[RedisLedgers.AdmitLevel.PLACES] = e.maxParallel() > 0 ? 1 : 0;
            need[RedisLedgers.AdmitLevel.BUDGET] = budget >= 0 ? Math.max(1, worst) : 0; // an exhausted budget refuses even a free request
            Budget.Period period = e.budget.current(now);
            shares[i] = leases.take(e.ledger, budget, period.start, period.end, rpm == null ? 0 : rpm.limit(), tpmLimit,
                    e.maxParallel(), need, now);
            covered &= shares[i].covered();
        }
        if (covered) { // this replica's leases hold all the request needs: no round trip
            byLease.inc();
            admitted(exchange, levels, shares, worst);
            refillLow(levels, shares);
            return Verdict.CONTINUE;
        }
        askRedis(exchange, levels, shares, (ask, answer) -> {
            if (answer == null) {
                fallBack(exchange, true);
            } else if (answer.heldBack() && tries < HELD_BACK_PAUSES_MS.length) {
                askAgain(exchange, tries, () -> admit(exchange, tries + 1));
            } else if (!answer.ok()) {
                refuse(exchange, levels, ask, answer, worst, shares[answer.level()].need[RedisLedgers.AdmitLevel.TOKENS]);
            } else {
                byRedis.inc();
                admitted(exchange, levels, shares, worst);
                exchange.proceed();
            }
        });
        return Verdict.PENDING;
    }

    /**
     * Asks Redis, in one script call, for what {@code shares} lack (and tops their leases up). Back on
     * the exchange's event loop the leases hold what was granted, or have back what the shares took
     * from them, and {@code then} gets the asks and the answer (null when Redis did not answer). A
     * request gone meanwhile gives back what was granted; {@code then} is not called for it.
     */
    private void askRedis(Exchange exchange, Entity<?>[] levels, Leases.Share[] shares,
                          BiConsumer<List<RedisLedgers.AdmitLevel>, RedisLedgers.Admitted> then) {
        List<RedisLedgers.AdmitLevel> ask = new ArrayList<>(shares.length);
        for (Leases.Share s : shares) {
            ask.add(s.ask());
        }
        ledgers.admit(ask).whenComplete((answer, error) -> exchange.eventLoop().execute(() -> {
            boolean granted = answer != null && answer.ok();
            for (int i = 0; i < shares.length; i++) {
                if (granted) {
                    leases.granted(shares[i], answer, i);
                } else {
                    leases.untake(shares[i]);
                }
            }
            if (granted) {
                observe(levels, answer);
            }
            if (exchange.finished()) { // the client left while Redis decided: what was granted goes back with the lease
                if (granted) {
                    List<RedisLedgers.SettleLevel> back = new ArrayList<>(shares.length);
                    for (Leases.Share s : shares) {
                        back.add(leases.settle(s, 0, 0, false, true, null));
                    }
                    ledgers.settle(back, null);
                }
                return;
            }
            then.accept(ask, error != null ? null : answer);
        }));
    }

    /** After a pause (see {@link #HELD_BACK_PAUSES_MS}), {@code again} decides once more; a request it admits at once goes on. */
    private static void askAgain(Exchange exchange, int tries, java.util.function.Supplier<Verdict> again) {
        exchange.eventLoop().schedule(() -> {
            if (!exchange.finished() && again.get() == Verdict.CONTINUE) {
                exchange.proceed();
            }
        }, HELD_BACK_PAUSES_MS[tries], java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Tops up, off the request path, the leases this request left below half. */
    private void refillLow(Entity<?>[] levels, Leases.Share[] shares) {
        for (int i = 0; i < shares.length; i++) {
            if (leases.low(shares[i])) {
                Entity<?> e = levels[i];
                leases.refill(shares[i], state -> e.budget.observe(state[0], state[1], state[2], state[3]));
            }
        }
    }

    /** The ledgers' state in Redis's answer, for the local view of each level's budget. */
    private static void observe(Entity<?>[] levels, RedisLedgers.Admitted answer) {
        long[] s = answer.state();
        for (int i = 0; i < levels.length; i++) {
            int o = i * RedisLedgers.Admitted.PER_LEVEL;
            levels[i].budget.observe(s[o], s[o + 1], s[o + 2], s[o + 3]);
        }
    }

    /** The request's worst-case cost on the dearest deployment of the model it names; 0 when the name is not a model here. */
    private long dearest(Exchange exchange) {
        String model = exchange.body().model();
        long worst = 0;
        if (model != null) {
            for (Deployment d : catalog.deployments(model)) {
                worst = Math.max(worst, BudgetFilter.worstCost(exchange, d, defaultMaxOutput));
            }
        }
        return worst;
    }

    private Verdict topUp(Exchange exchange) {
        return topUp(exchange, 0);
    }

    private Verdict topUp(Exchange exchange, int tries) {
        Admission a = exchange.get(KeysExtension.ADMISSION);
        if (a == null) {
            return Verdict.CONTINUE;
        }
        if (a.share == null) {
            return aloneBudget.filter(exchange); // admitted here while Redis was away: so is the budget
        }
        long worst = BudgetFilter.worstCost(exchange, defaultMaxOutput);
        long more = worst - a.share.worst;
        if (more <= 0) {
            return Verdict.CONTINUE;
        }
        long now = registry.clock().millis();
        Leases.Share[] shares = a.share.levels;
        Leases.Share[] extra = new Leases.Share[shares.length];
        boolean covered = true;
        boolean anyBudget = false;
        for (int i = 0; i < shares.length; i++) {
            Leases.Share s = shares[i];
            long[] need = new long[RedisLedgers.AdmitLevel.KINDS];
            need[RedisLedgers.AdmitLevel.BUDGET] = s.budgetLimit >= 0 ? more : 0;
            anyBudget |= s.budgetLimit >= 0;
            extra[i] = leases.take(s.ledger, s.budgetLimit, s.start, s.end, s.rpmLimit, s.tpmLimit, s.parallel, need, now);
            covered &= extra[i].covered();
        }
        if (!anyBudget) {
            a.share.worst = worst;
            return Verdict.CONTINUE;
        }
        if (covered) {
            a.share.add(extra, worst);
            return Verdict.CONTINUE;
        }
        askRedis(exchange, a.levels, extra, (ask, answer) -> {
            if (answer == null) {
                ledgers.link().fellBack("limits");
                if (!ledgers.link().failOpen()) {
                    exchange.respond(unavailable());
                    return;
                }
                a.share.worst = worst; // the spend still settles in Redis; this attempt goes on unreserved
                exchange.proceed();
            } else if (answer.heldBack() && tries < HELD_BACK_PAUSES_MS.length) {
                askAgain(exchange, tries, () -> topUp(exchange, tries + 1));
            } else if (!answer.ok()) {
                refuse(exchange, a.levels, ask, answer, worst, 0);
            } else {
                a.share.add(extra, worst);
                exchange.proceed();
            }
        });
        return Verdict.PENDING;
    }

    /** Records the request's shares on its admission, and OpenAI's rate-limit headers from the leases' view of Redis. */
    private void admitted(Exchange exchange, Entity<?>[] levels, Leases.Share[] shares, long worst) {
        Admission a = new Admission(levels, LimitsFilter.promptEstimate(exchange), registry, exchange, alerts, ledgers);
        a.share = new Admission.SharedShare(shares, worst);
        for (int i = 0; i < levels.length; i++) {
            levels[i].inFlight.incrementAndGet();
            a.tokensTaken[i] = shares[i].need[RedisLedgers.AdmitLevel.TOKENS];
        }
        rateHeaders(exchange, shares);
        exchange.set(KeysExtension.ADMISSION, a);
        exchange.listen(a);
    }

    /**
     * OpenAI's rate-limit headers: the RPM and the TPM limit with the fewest left among the levels,
     * as Redis last said at the lease's grant plus what the lease still holds.
     */
    private static void rateHeaders(Exchange exchange, Leases.Share[] shares) {
        Fewest requests = new Fewest();
        Fewest tokens = new Fewest();
        for (Leases.Share s : shares) {
            Lease l = s.lease;
            synchronized (l) {
                requests.offer(s.rpmLimit, l.rpmRemaining, l.held[RedisLedgers.AdmitLevel.REQUESTS], l.rpmResetMs);
                tokens.offer(s.tpmLimit, l.tpmRemaining, l.held[RedisLedgers.AdmitLevel.TOKENS], l.tpmResetMs);
            }
        }
        requests.header(exchange, LimitsFilter.LIMIT_REQUESTS, LimitsFilter.REMAINING_REQUESTS, LimitsFilter.RESET_REQUESTS);
        tokens.header(exchange, LimitsFilter.LIMIT_TOKENS, LimitsFilter.REMAINING_TOKENS, LimitsFilter.RESET_TOKENS);
    }

    /** Of one kind of rate limit (requests or tokens), the level's with the fewest left. */
    private static final class Fewest {
        long left = Long.MAX_VALUE;
        long limit;
        long resetMs;

        void offer(long limit, long remaining, long held, long resetMs) {
            if (limit <= 0 || remaining < 0) {
                return; // no such limit, or no grant seen yet
            }
            long l = Math.min(limit, remaining + Math.max(0, held));
            if (l < left) {
                left = l;
                this.limit = limit;
                this.resetMs = resetMs;
            }
        }

        void header(Exchange exchange, CharSequence limitName, CharSequence remainingName, CharSequence resetName) {
            if (limit > 0) {
                exchange.responseHeader(limitName, Long.toString(limit));
                exchange.responseHeader(remainingName, Long.toString(left));
                exchange.responseHeader(resetName, LimitsFilter.duration(resetMs * 1_000_000));
            }
        }
    }

    private void refuse(Exchange exchange, Entity<?>[] levels, List<RedisLedgers.AdmitLevel> ask, RedisLedgers.Admitted no, long worst,
                        long tokens) {
        Entity<?> e = levels[no.level()];
        RedisLedgers.AdmitLevel l = ask.get(no.level());
        boolean budget = no.what().startsWith("budget"); // budget_held, after its pauses: refused as any budget is
        refusals.labels(e.level, budget ? "budget" : no.what()).inc();
        if (budget) {
            exchange.respond(BudgetFilter.exceeded(e, l.budgetLimit(), no.spent(), no.periodEnd(), worst));
            return;
        }
        boolean requests = !no.what().equals("tpm");
        long value = switch (no.what()) {
            case "parallel" -> l.parallel();
            case "rpm" -> l.rpmLimit();
            default -> l.tpmLimit();
        };
        if (!no.what().equals("parallel")) {
            exchange.responseHeader(requests ? LimitsFilter.LIMIT_REQUESTS : LimitsFilter.LIMIT_TOKENS, Long.toString(value));
            exchange.responseHeader(requests ? LimitsFilter.REMAINING_REQUESTS : LimitsFilter.REMAINING_TOKENS, "0");
            exchange.responseHeader(requests ? LimitsFilter.RESET_REQUESTS : LimitsFilter.RESET_TOKENS,
                    LimitsFilter.duration(no.waitMillis() * 1_000_000));
        }
        exchange.responseHeader(LimitsFilter.RETRY_AFTER, Long.toString(Math.max(1, (no.waitMillis() + 999) / 1000)));
        exchange.respond(new OpenAiError(HttpResponseStatus.TOO_MANY_REQUESTS, requests ? "requests" : "tokens", "rate_limit_exceeded",
                null, LimitsFilter.refusal(e, no.what(), value, tokens)));
    }

    /** Redis did not answer in time: decide here ({@code fail_open}) or refuse with 503 ({@code fail_closed}). */
    private void fallBack(Exchange exchange, boolean first) {
        ledgers.link().fellBack("limits");
        if (!ledgers.link().failOpen()) {
            exchange.respond(unavailable());
            return;
        }
        if (first && alone.filter(exchange) == Verdict.ANSWERED) {
            return;
        }
        exchange.proceed(); // the budget is checked here once the deployment is chosen (topUp → BudgetFilter)
    }

    private static OpenAiError unavailable() {
        return new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "limits_unavailable", null,
                "The gateway cannot check this key's limits and budget right now (its shared store does not answer); "
                        + "try again shortly.");
    }
}
