package io.nemorouter.filters.accounting;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AttemptRecord;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.openai.Usage;
import io.nemorouter.core.provider.DroppedParams;
import io.nemorouter.filters.cache.CacheHit;
import io.nemorouter.filters.routing.AbVariant;
import io.nemorouter.filters.keys.BudgetAlert;
import io.nemorouter.filters.keys.Principal;
import io.nemorouter.filters.keys.store.KeyRecord;
import io.nemorouter.filters.keys.store.TeamRecord;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of the request log: what a call was, who made it, what it cost. Built on the event loop
 * from a {@link Completion} (field reads and a few small objects, nothing parsed), written and
 * rolled up on the writer thread; read back from the log for replays and {@code /spend/logs}.
 * Never holds a secret: a key appears as its id, alias and the first 8 hex digits of its hash (the admin API's token).
 *
 * @param time          when it finished, epoch milliseconds
 * @param savedCost     on a cache hit, what the stored answer cost when it was generated; else 0
 * @param metadataJson  the request's {@code metadata} as sent (valid JSON), or null
 * @param prompt        the request body when {@code nemo.log.bodies} is on (capped), else null
 * @param completion    the answer's text (body or events) when bodies are logged (capped), else null
 * @param droppedParams request members the provider could not honour and left out, or null
 * @param budgetAlerts  the alert thresholds this call's spend crossed, or null
 * @param trace         the call's trace context when tracing is on, else null
 */
record CallRecord(String id, long time, String endpoint, String model, String deployment, String provider,
                  String keyId, String keyAlias, String keyHash, String teamId, String orgId,
                  int status, String error, boolean stream,
                  double totalMs, double upstreamMs, double ttftMs, double overheadMs,
                  long inputTokens, long outputTokens, long cachedTokens, boolean usageEstimated,
                  double cost, boolean unpriced, String cache, double savedCost, int fallbacks, List<Attempt> attempts,
                  String metadataJson, List<String> tags, String prompt, String completion, String variant,
                  List<String> droppedParams, List<BudgetAlert> budgetAlerts, TraceIds trace) {

    /**
     * One try on one deployment.
     *
     * @param startMs when it began, after the request's arrival (written when the call is traced)
     * @param spanId  its span, whose id went upstream in {@code traceparent}; 0 when not traced
     */
    record Attempt(String deployment, int status, double ms, String error, double startMs, long spanId) {
    }

    static CallRecord of(Completion c, Captured captured, long nowMillis) {
        Deployment d = c.deployment();
        Principal p = c.get(Principal.KEY);
        KeyRecord k = p == null ? null : p.keyRecord();
        TeamRecord t = p == null ? null : p.teamRecord();
        Usage u = c.usage();
        List<AttemptRecord> tries = c.attempts();
        List<Attempt> attempts = tries.isEmpty() ? List.of() : new ArrayList<>(tries.size());
        long received = c.receivedNanos();
        TraceIds trace = c.get(TraceIds.KEY);
        for (AttemptRecord a : tries) {
            attempts.add(new Attempt(a.deployment().id(), a.upstreamStatus(),
                    a.endedNanos() == 0 ? 0 : ms(a.endedNanos() - a.startedNanos()), a.error(),
                    ms(a.startedNanos() - received), trace == null ? 0 : trace.attemptSpan(a.number())));
        }
        CacheHit hit = c.get(CacheHit.KEY);
        AbVariant variant = c.get(AbVariant.KEY);
        return new CallRecord(c.requestId(), nowMillis, c.endpoint().path, c.requestedModel(),
                d == null ? null : d.id(), d == null ? null : d.provider(),
                k != null ? k.id() : p != null && p.master() ? "master" : null, k == null ? null : k.alias(),
                k == null ? null : k.hashPrefix(), k == null ? null : k.teamId(), t == null ? null : t.orgId(),
                c.status(), c.failure(), c.streamed(),
                ms(c.finishedNanos() - received),
                c.upstreamSentNanos() == 0 ? 0 : ms(c.finishedNanos() - c.upstreamSentNanos()),
                c.headSentNanos() == 0 ? 0 : ms(c.headSentNanos() - received),
                ms(c.overheadNanos()),
                u == null ? 0 : u.promptTokens(), u == null ? 0 : u.completionTokens(), u == null ? 0 : u.cachedTokens(),
                u != null && u.estimated(), Math.max(0, c.cost()), d != null && !d.pricing().known(),
                c.cacheDecision(), hit == null ? 0 : hit.savedCost(), c.fallbacks(), attempts,
                captured == null ? null : captured.metadataJson, captured == null ? List.of() : captured.tags,
                captured == null ? null : captured.prompt, captured == null ? null : captured.completion(),
                variant == null ? null : variant.variant(), c.get(DroppedParams.KEY), c.get(BudgetAlert.KEY), trace);
    }

    private static double ms(long nanos) {
        return Math.round(nanos / 1_000.0) / 1_000.0; // microsecond resolution
    }

    boolean failed() {
        return status >= 400;
    }

    /** What the report groups a key by: its id, {@code master}, or {@code anonymous} in open mode. */
    String keyGroup() {
        return keyId == null ? "anonymous" : keyId;
    }
}
