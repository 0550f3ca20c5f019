package io.nemorouter.filters.export;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.filters.accounting.TraceIds;
import io.netty.util.AsciiString;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The request path's share of tracing, on only when an exporter sends traces: before routing, the
 * request's trace context (the client's {@code traceparent} continued, else a new trace) and its
 * span id; for each attempt, a span id of its own, sent upstream as {@code traceparent} in place of
 * the client's, so the provider's spans (if it traces) hang under the gateway's upstream call. The
 * client's {@code tracestate} goes upstream as it came. The spans themselves are built later, from
 * the request-log record, on the exporter's thread.
 */
final class Tracing {
    /** Before the request log's capture and auth: a refused request is traced too. */
    static final int BEFORE_ROUTING_ORDER = 10;
    /** After the other filters of the attempt (a budget reservation may still refuse it). */
    static final int DEPLOYMENT_CHOSEN_ORDER = 900;
    static final AsciiString TRACEPARENT = AsciiString.cached("traceparent");
    /** Sampled: a trace this gateway starts is exported. */
    private static final int SAMPLED = 1;

    private Tracing() {
    }

    static Verdict beforeRouting(Exchange ex) {
        if (!ex.endpoint().proxied) {
            return Verdict.CONTINUE; // /v1/models: not in the request log, so never exported
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long span = nonZero(random);
        String header = ex.requestHeaders().get(TRACEPARENT);
        TraceIds ids = header == null ? null : Traceparent.parse(header, span);
        if (ids == null) {
            ids = new TraceIds(random.nextLong(), nonZero(random), span, 0, SAMPLED);
        }
        ex.set(TraceIds.KEY, ids);
        return Verdict.CONTINUE;
    }

    static Verdict deploymentChosen(Exchange ex) {
        TraceIds ids = ex.get(TraceIds.KEY);
        if (ids != null) {
            long span = nonZero(ThreadLocalRandom.current());
            ids.attemptSpan(ex.attemptNumber(), span);
            ex.upstreamHeader(TRACEPARENT, ids.traceparent(span));
        }
        return Verdict.CONTINUE;
    }

    private static long nonZero(ThreadLocalRandom random) {
        long v;
        do {
            v = random.nextLong();
        } while (v == 0);
        return v;
    }
}
