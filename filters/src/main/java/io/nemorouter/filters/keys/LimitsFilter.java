package io.nemorouter.filters.keys;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.keys.cluster.RedisLedgers;
import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.RateLimit;
import io.nemorouter.filters.keys.state.Registry;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AsciiString;
import io.prometheus.client.Counter;

/**
 * Before routing, after auth: a keyed request takes a place in flight, one request of each RPM
 * limit and its token estimate of each TPM limit, at its key, team and organization, or gets a 429
 * with {@code Retry-After} naming the level and limit that refused it (and gives back what the
 * levels before took). Every answer to it carries OpenAI's {@code x-ratelimit-*} headers for the
 * tightest limit. The master key and open-mode requests pass untouched.
 */
final class LimitsFilter implements RequestFilter {
    static final AsciiString LIMIT_REQUESTS = AsciiString.cached("x-ratelimit-limit-requests");
    static final AsciiString REMAINING_REQUESTS = AsciiString.cached("x-ratelimit-remaining-requests");
    static final AsciiString RESET_REQUESTS = AsciiString.cached("x-ratelimit-reset-requests");
    static final AsciiString LIMIT_TOKENS = AsciiString.cached("x-ratelimit-limit-tokens");
    static final AsciiString REMAINING_TOKENS = AsciiString.cached("x-ratelimit-remaining-tokens");
    static final AsciiString RESET_TOKENS = AsciiString.cached("x-ratelimit-reset-tokens");
    static final AsciiString RETRY_AFTER = AsciiString.cached("retry-after");

    private final Registry registry;
    private final Counter refusals;
    private final BudgetAlerts alerts;

    /** Cluster mode's shared ledgers, where even a request decided here (Redis away) settles its spend; else null. */
    private final RedisLedgers ledgers;

    LimitsFilter(Registry registry, Counter refusals, BudgetAlerts alerts) {
        this(registry, refusals, alerts, null);
    }

    LimitsFilter(Registry registry, Counter refusals, BudgetAlerts alerts, RedisLedgers ledgers) {
        this.ledgers = ledgers;
        this.alerts = alerts;
        this.registry = registry;
        this.refusals = refusals;
    }

    @Override
    public Verdict filter(Exchange exchange) {
        Principal p = exchange.get(Principal.KEY);
        if (p == null || p.key() == null) {
            return Verdict.CONTINUE;
        }
        Entity<?>[] levels = levels(p);
        long prompt = promptEstimate(exchange);
        long maxOut = Math.max(0, exchange.body().maxOutputTokens());
        Admission a = new Admission(levels, prompt, registry, exchange, alerts, ledgers);
        long now = registry.clock().nanos();
        for (int i = 0; i < levels.length; i++) {
            Entity<?> e = levels[i];
            int max = e.maxParallel();
            // each refusal gives back what this level and those before it took
            if (e.inFlight.incrementAndGet() > max && max > 0) {
                a.rollBack(i + 1, now);
                return refuse(exchange, e, "parallel", "requests", 1_000_000_000L, refusal(e, "parallel", max, 0));
            }
            RateLimit rpm = e.rpm();
            a.rpm[i] = rpm;
            if (rpm != null) {
                long wait = rpm.tryTake(1, now);
                if (wait > 0) {
                    a.rollBack(i + 1, now);
                    return refuse(exchange, e, "rpm", "requests", wait, refusal(e, "rpm", rpm.limit(), 0));
                }
                a.rpmTaken[i] = true;
            }
            RateLimit tpm = e.tpm();
            a.tpm[i] = tpm;
            if (tpm != null) {
                long tokens = Math.min(prompt + maxOut, tpm.limit());
                long wait = tpm.tryTake(tokens, now);
                if (wait > 0) {
                    a.rollBack(i + 1, now);
                    return refuse(exchange, e, "tpm", "tokens", wait, refusal(e, "tpm", tpm.limit(), tokens));
                }
                a.tokensTaken[i] = tokens;
            }
        }
        rateHeaders(exchange, levels, now);
        exchange.set(KeysExtension.ADMISSION, a);
        exchange.listen(a);
        return Verdict.CONTINUE;
    }

    /** The levels a keyed request is held to: its key, and its team and organization when it has them. */
    static Entity<?>[] levels(Principal p) {
        return p.team() == null ? new Entity<?>[] {p.key()}
                : p.org() == null ? new Entity<?>[] {p.key(), p.team()} : new Entity<?>[] {p.key(), p.team(), p.org()};
    }

    /**
     * Prompt tokens as a TPM limit counts them before the answer: a token is about 4 bytes of English
     * text; the JSON around it makes this an over-estimate, which the settlement gives back.
     */
    static long promptEstimate(Exchange exchange) {
        return (exchange.content().readableBytes() + 3) / 4;
    }

    /** The 429 message for a level's limit, as the gateway alone and cluster mode word it. */
    static String refusal(Entity<?> e, String limit, long value, long tokens) {
        return switch (limit) {
            case "parallel" -> "Too many requests in flight for this " + e.level + ": its limit is " + value + " at once.";
            case "rpm" -> "Rate limit reached for this " + e.level + ": " + value + " requests per minute.";
            default -> "Rate limit reached for this " + e.level + ": " + value + " tokens per minute (this request needs about "
                    + tokens + ").";
        };
    }

    private Verdict refuse(Exchange exchange, Entity<?> e, String limit, String type, long waitNanos, String message) {
        refusals.labels(e.level, limit).inc();
        rateHeaders(exchange, new Entity<?>[] {e}, registry.clock().nanos());
        exchange.responseHeader(RETRY_AFTER, Long.toString(Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L)));
        exchange.respond(new OpenAiError(HttpResponseStatus.TOO_MANY_REQUESTS, type, "rate_limit_exceeded", null, message));
        return Verdict.ANSWERED;
    }

    /** OpenAI's headers, for the RPM and the TPM limit with the fewest left among the levels. */
    private static void rateHeaders(Exchange exchange, Entity<?>[] levels, long now) {
        RateLimit requests = null;
        RateLimit tokens = null;
        for (Entity<?> e : levels) {
            requests = tighter(requests, e.rpm(), now);
            tokens = tighter(tokens, e.tpm(), now);
        }
        if (requests != null) {
            exchange.responseHeader(LIMIT_REQUESTS, Long.toString(requests.limit()));
            exchange.responseHeader(REMAINING_REQUESTS, Long.toString(requests.remaining(now)));
            exchange.responseHeader(RESET_REQUESTS, duration(requests.resetNanos(now)));
        }
        if (tokens != null) {
            exchange.responseHeader(LIMIT_TOKENS, Long.toString(tokens.limit()));
            exchange.responseHeader(REMAINING_TOKENS, Long.toString(tokens.remaining(now)));
            exchange.responseHeader(RESET_TOKENS, duration(tokens.resetNanos(now)));
        }
    }

    private static RateLimit tighter(RateLimit a, RateLimit b, long now) {
        return a == null ? b : b == null ? a : b.remaining(now) < a.remaining(now) ? b : a;
    }

    /** As OpenAI writes it: {@code 1s}, {@code 6m0s}, {@code 20ms}. */
    static String duration(long nanos) {
        long ms = (nanos + 999_999) / 1_000_000;
        if (ms < 1000) {
            return ms + "ms";
        }
        long s = (ms + 999) / 1000;
        return s < 60 ? s + "s" : (s / 60) + "m" + (s % 60) + "s";
    }
}
