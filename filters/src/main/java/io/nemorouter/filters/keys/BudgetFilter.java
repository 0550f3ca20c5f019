package io.nemorouter.filters.keys;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.config.Pricing;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.keys.state.Budget;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.Registry;
import io.nemorouter.filters.keys.store.SpendRecord;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.prometheus.client.Counter;

import java.time.Instant;
import java.util.Locale;

/**
 * Once a deployment is chosen (its prices known): reserves the attempt's worst-case cost at every
 * level with a budget: the body's size in bytes as prompt tokens (a text token is at least one
 * byte in a byte-level BPE, so this bounds a text prompt; an image sent by URL is the exception)
 * at the input price, plus {@code n} times {@code max_tokens} (or the deployment's maximum output)
 * at the output price, or answers 402 naming the level
 * that cannot afford it. The reservation is settled with the real cost when the answer ends, or
 * given back when the attempt fails (see {@link Admission}).
 */
final class BudgetFilter implements RequestFilter {
    private final Registry registry;
    private final long defaultMaxOutput;
    private final Counter refusals;

    BudgetFilter(Registry registry, long defaultMaxOutput, Counter refusals) {
        this.registry = registry;
        this.defaultMaxOutput = defaultMaxOutput;
        this.refusals = refusals;
    }

    @Override
    public Verdict filter(Exchange exchange) {
        Admission a = exchange.get(KeysExtension.ADMISSION);
        if (a == null) {
            return Verdict.CONTINUE;
        }
        long worst = worstCost(exchange, defaultMaxOutput);
        long now = registry.clock().millis();
        Budget.Reservation[] taken = new Budget.Reservation[a.levels.length];
        for (int i = 0; i < a.levels.length; i++) {
            Entity<?> e = a.levels[i];
            Budget.Reservation r = e.budget.reserve(worst, now);
            if (r == null) {
                for (int j = 0; j < i; j++) {
                    Budget.release(taken[j]);
                }
                refusals.labels(e.level, "budget").inc();
                exchange.respond(exceeded(e, worst, now));
                return Verdict.ANSWERED;
            }
            taken[i] = r;
        }
        a.reserved(taken);
        return Verdict.CONTINUE;
    }

    /**
     * The attempt's worst-case cost in nano-USD on the chosen deployment: the body's size in bytes as
     * prompt tokens, plus {@code n} times the most it may write, at the highest rates it may be billed at.
     */
    static long worstCost(Exchange exchange, long defaultMaxOutput) {
        return worstCost(exchange, exchange.deployment(), defaultMaxOutput);
    }

    /** {@link #worstCost(Exchange, long)} were the request sent to {@code d}. */
    static long worstCost(Exchange exchange, Deployment d, long defaultMaxOutput) {
        long maxOut = exchange.body().maxOutputTokens();
        Pricing price = d.pricing();
        long stated = price.maxOutputTokens(); // its catalog entry's max_output_tokens, or the price table's
        if (maxOut < 0) {
            maxOut = stated > 0 ? stated : defaultMaxOutput;
        } else if (stated > 0 && maxOut > stated) {
            maxOut = stated; // a deployment that states its maximum writes no more, whatever the request says
        }
        long promptBound = exchange.content().readableBytes();
        if (price.contextWindow() > 0 && exchange.endpoint() == Endpoint.CHAT_COMPLETIONS) {
            // a longer prompt is refused upstream; not for embeddings, whose window is per input of a batch
            promptBound = Math.min(promptBound, price.contextWindow());
        }
        // at the highest rates the call may be billed at (a long prompt moves Gemini Pro to its long-context rates)
        double usd = (promptBound * price.maxInput() + (double) maxOut * exchange.body().choices() * price.maxOutput()) / 1_000_000d;
        // capped far below Long.MAX_VALUE: sums of reservations must not wrap round
        return (long) Math.min(Math.ceil(usd * SpendRecord.NANOS_PER_USD), (double) (Long.MAX_VALUE >> 8));
    }

    private static OpenAiError exceeded(Entity<?> e, long worst, long now) {
        Budget.Period p = e.budget.current(now);
        return exceeded(e, e.budget.limit(), p.spent(), p.end, worst);
    }

    /** The 402 for a level whose budget ({@code limit}, nano-USD) cannot take {@code worst} more, with its period's spend and end. */
    static OpenAiError exceeded(Entity<?> e, long limit, long spent, long periodEnd, long worst) {
        String code = switch (e.level) {
            case "key" -> "key_budget_exceeded";
            case "team" -> "team_budget_exceeded";
            default -> "org_budget_exceeded";
        };
        String resets = periodEnd == 0 ? "it does not reset" : "it resets at " + Instant.ofEpochMilli(periodEnd);
        String message = "Budget exceeded for this " + e.level + ": spend " + usd(spent) + " of its " + usd(limit)
                + " budget" + (worst > 0 && spent < limit ? " (this request may cost up to " + usd(worst) + ")" : "")
                + "; " + resets + ".";
        return new OpenAiError(HttpResponseStatus.PAYMENT_REQUIRED, "budget_exceeded", code, null, message);
    }

    private static String usd(long nanoUsd) {
        return String.format(Locale.ROOT, "$%.6f", nanoUsd / 1e9).replaceAll("(\\.\\d\\d\\d*?)0+$", "$1");
    }
}
