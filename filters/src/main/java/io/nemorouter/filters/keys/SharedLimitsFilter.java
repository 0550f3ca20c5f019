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

/**
 * Cluster mode: a keyed request's limits and budget at every level, checked and taken in Redis by
 * one script call (see {@link RedisLedgers}), so every replica holds the same limits.
 *
 * <p>{@link #admission} runs before routing, where the gateway alone checks its limits (so a cache
 * hit counts toward RPM, as there): it takes a place in flight, one request of each RPM limit, the
 * token estimate of each TPM limit, and reserves the worst-case cost of the request on the dearest
 * deployment of the model asked for. {@link #topUp} runs once a deployment is chosen: when that
 * deployment (a fallback to another model, say) may cost more than was reserved, it reserves the
 * difference, a second round trip only then. The reservation covers every attempt of the request
 * and is settled with the real cost when it ends. Refusals are the 429s and 402s of the gateway alone.
 * A level with no limit and no budget asks Redis nothing (its spend is settled there after the answer).
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

    SharedLimitsFilter(Registry registry, RedisLedgers ledgers, Counter refusals, BudgetAlerts alerts, long defaultMaxOutput,
                       ModelCatalog catalog) {
        this.registry = registry;
        this.ledgers = ledgers;
        this.refusals = refusals;
        this.alerts = alerts;
        this.defaultMaxOutput = defaultMaxOutput;
        this.catalog = catalog;
        this.alone = new LimitsFilter(registry, refusals, alerts, ledgers);
        this.aloneBudget = new BudgetFilter(registry, defaultMaxOutput, refusals);
    }

    /** Before routing: the whole admission in one round trip. */
    final RequestFilter admission = this::admit;

    /** Once the deployment is chosen: more reserved only when it may cost more than was. */
    final RequestFilter topUp = this::topUp;

    private Verdict admit(Exchange exchange) {
        Principal p = exchange.get(Principal.KEY);
        if (p == null || p.key() == null) {
            return Verdict.CONTINUE;
        }
        Entity<?>[] levels = LimitsFilter.levels(p);
        long prompt = LimitsFilter.promptEstimate(exchange);
        long maxOut = Math.max(0, exchange.body().maxOutputTokens());
        long worst = dearest(exchange);
        long now = registry.clock().millis();
        List<RedisLedgers.AdmitLevel> ask = new ArrayList<>(levels.length);
        boolean anything = false;
        for (Entity<?> e : levels) {
            Budget.Period period = e.budget.current(now);
            long limit = e.budget.limit();
            RateLimit rpm = e.rpm();
            RateLimit tpm = e.tpm();
            long tpmLimit = tpm == null ? 0 : tpm.limit();
            ask.add(new RedisLedgers.AdmitLevel(e.ledger, limit, period.start, period.end, limit >= 0 ? worst : 0,
                    rpm == null ? 0 : rpm.limit(), tpmLimit, Math.min(prompt + maxOut, tpmLimit), e.maxParallel(), true));
            anything |= limit >= 0 || rpm != null || tpm != null || e.maxParallel() > 0;
        }
        if (!anything) {
            admitted(exchange, levels, ask, worst, null);
            return Verdict.CONTINUE;
        }
        ledgers.admit(ask).whenComplete((answer, error) -> exchange.eventLoop().execute(() -> {
            if (exchange.finished()) { // the client left while Redis decided: give back whatever was taken
                if (answer != null && answer.ok()) {
                    giveBack(ask, answer);
                }
                return;
            }
            if (error != null) {
                fallBack(exchange, true);
            } else if (!answer.ok()) {
                refuse(exchange, levels, ask, answer, worst);
            } else {
                admitted(exchange, levels, ask, worst, answer);
                exchange.proceed();
            }
        }));
        return Verdict.PENDING;
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
        List<RedisLedgers.AdmitLevel> ask = new ArrayList<>(a.levels.length);
        boolean anyBudget = false;
        for (int i = 0; i < a.levels.length; i++) {
            Entity<?> e = a.levels[i];
            long limit = e.budget.limit();
            anyBudget |= limit >= 0;
            ask.add(new RedisLedgers.AdmitLevel(e.ledger, limit, a.share.start[i], a.share.end[i], limit >= 0 ? more : 0,
                    0, 0, 0, 0, false));
        }
        if (!anyBudget) {
            a.share.worst = worst;
            return Verdict.CONTINUE;
        }
        ledgers.admit(ask).whenComplete((answer, error) -> exchange.eventLoop().execute(() -> {
            if (exchange.finished()) { // settled already (without this top-up): give it back on its own
                if (answer != null && answer.ok()) {
                    giveBack(ask, answer);
                }
                return;
            }
            if (answer != null && answer.ok()) {
                for (int i = 0; i < a.levels.length; i++) {
                    a.share.reserved[i] += ask.get(i).amount();
                }
            }
            if (error != null) {
                ledgers.link().fellBack("limits");
                if (!ledgers.link().failOpen()) {
                    exchange.respond(unavailable());
                    return;
                }
                a.share.worst = worst; // the spend still settles in Redis; this attempt goes on unreserved
                exchange.proceed();
            } else if (!answer.ok()) {
                refuse(exchange, a.levels, ask, answer, worst);
            } else {
                a.share.worst = worst;
                exchange.proceed();
            }
        }));
        return Verdict.PENDING;
    }

    /** Records what Redis took (all of it, or nothing when no level has a limit) on the request's admission. */
    private void admitted(Exchange exchange, Entity<?>[] levels, List<RedisLedgers.AdmitLevel> ask, long worst,
                          RedisLedgers.Admitted answer) {
        Admission a = new Admission(levels, LimitsFilter.promptEstimate(exchange), registry, exchange, alerts, ledgers);
        a.share = new Admission.SharedShare(levels.length);
        long[] reserved = new long[levels.length];
        long[] start = new long[levels.length];
        long[] end = new long[levels.length];
        for (int i = 0; i < levels.length; i++) {
            RedisLedgers.AdmitLevel l = ask.get(i);
            levels[i].inFlight.incrementAndGet();
            a.share.rpm[i] = l.rpmLimit() > 0;
            a.share.rpmLimit[i] = l.rpmLimit();
            a.share.tpmLimit[i] = l.tpmLimit();
            a.share.place[i] = l.parallel() > 0;
            a.tokensTaken[i] = l.tpmLimit() > 0 ? l.tokens() : 0;
            reserved[i] = l.amount();
            start[i] = l.periodStart();
            end[i] = l.periodEnd();
        }
        if (answer != null) {
            long[] s = answer.state();
            for (int i = 0; i < levels.length; i++) {
                int o = i * RedisLedgers.Admitted.PER_LEVEL;
                start[i] = s[o]; // the stored period, should another replica have begun a newer one
                end[i] = s[o + 1];
                levels[i].budget.observe(s[o], s[o + 1], s[o + 2], s[o + 3]);
            }
            rateHeaders(exchange, ask, s);
        }
        a.share.attempt(worst, reserved, start, end);
        exchange.set(KeysExtension.ADMISSION, a);
        exchange.listen(a);
    }

    /** OpenAI's rate-limit headers from Redis's answer: the RPM and the TPM limit with the fewest left among the levels. */
    private static void rateHeaders(Exchange exchange, List<RedisLedgers.AdmitLevel> ask, long[] s) {
        int requests = -1;
        int tokens = -1;
        for (int i = 0; i < ask.size(); i++) {
            int o = i * RedisLedgers.Admitted.PER_LEVEL;
            if (ask.get(i).rpmLimit() > 0 && (requests < 0 || s[o + 4] < s[requests * RedisLedgers.Admitted.PER_LEVEL + 4])) {
                requests = i;
            }
            if (ask.get(i).tpmLimit() > 0 && (tokens < 0 || s[o + 6] < s[tokens * RedisLedgers.Admitted.PER_LEVEL + 6])) {
                tokens = i;
            }
        }
        if (requests >= 0) {
            int o = requests * RedisLedgers.Admitted.PER_LEVEL;
            exchange.responseHeader(LimitsFilter.LIMIT_REQUESTS, Long.toString(ask.get(requests).rpmLimit()));
            exchange.responseHeader(LimitsFilter.REMAINING_REQUESTS, Long.toString(s[o + 4]));
            exchange.responseHeader(LimitsFilter.RESET_REQUESTS, LimitsFilter.duration(s[o + 5] * 1_000_000));
        }
        if (tokens >= 0) {
            int o = tokens * RedisLedgers.Admitted.PER_LEVEL;
            exchange.responseHeader(LimitsFilter.LIMIT_TOKENS, Long.toString(ask.get(tokens).tpmLimit()));
            exchange.responseHeader(LimitsFilter.REMAINING_TOKENS, Long.toString(s[o + 6]));
            exchange.responseHeader(LimitsFilter.RESET_TOKENS, LimitsFilter.duration(s[o + 7] * 1_000_000));
        }
    }

    private void refuse(Exchange exchange, Entity<?>[] levels, List<RedisLedgers.AdmitLevel> ask, RedisLedgers.Admitted no, long worst) {
        Entity<?> e = levels[no.level()];
        RedisLedgers.AdmitLevel l = ask.get(no.level());
        refusals.labels(e.level, no.what()).inc();
        if (no.what().equals("budget")) {
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
                null, LimitsFilter.refusal(e, no.what(), value, l.tokens())));
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

    /** Gives back everything an admission (or a top-up) took, in the period Redis took it in, for a request that is gone. */
    private void giveBack(List<RedisLedgers.AdmitLevel> ask, RedisLedgers.Admitted taken) {
        List<RedisLedgers.SettleLevel> back = new ArrayList<>(ask.size());
        for (int i = 0; i < ask.size(); i++) {
            RedisLedgers.AdmitLevel l = ask.get(i);
            int o = i * RedisLedgers.Admitted.PER_LEVEL;
            boolean take = l.take();
            back.add(new RedisLedgers.SettleLevel(l.ledger(), taken.state()[o], taken.state()[o + 1], l.amount(), 0,
                    take && l.tpmLimit() > 0 ? -l.tokens() : 0, l.tpmLimit(), take && l.rpmLimit() > 0, l.rpmLimit(),
                    take && l.parallel() > 0, null));
        }
        ledgers.settle(back, null);
    }
}
