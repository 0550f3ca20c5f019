package io.nemorouter.core.engine;

import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The filters of one {@link Phase}, run in order inside the connection's handler (as Zuul's filter
 * chain runs in one handler, not as Netty handlers of their own): a filter passes the exchange on,
 * answers it, or suspends it until it calls {@code proceed()}. When the last one passes, what comes
 * after the phase runs. A filter that throws answers 500, a body it finds unreadable 400, and a
 * suspended exchange is answered 503 when no decision comes within {@code nemo.server.filter_timeout},
 * so the chain is never left hanging. Shared by all connections; the run state lives on the exchange.
 */
final class FilterChain {
    private static final Logger LOG = LoggerFactory.getLogger(FilterChain.class);

    /** One registered filter: its extension's name (for messages) and the filter. */
    record Entry(String extension, int order, int sequence, RequestFilter filter) {
    }

    private final Phase phase;
    private final RequestFilter[] filters;
    private final String[] names;
    private final Consumer<ServerExchange> then;
    private final long timeoutNanos;

    FilterChain(Phase phase, List<Entry> entries, Consumer<ServerExchange> then, long timeoutNanos) {
        this.phase = phase;
        List<Entry> sorted = entries.stream()
                .sorted((a, b) -> a.order != b.order ? Integer.compare(a.order, b.order) : Integer.compare(a.sequence, b.sequence))
                .toList();
        this.filters = sorted.stream().map(Entry::filter).toArray(RequestFilter[]::new);
        this.names = sorted.stream().map(Entry::extension).toArray(String[]::new);
        this.then = then;
        this.timeoutNanos = timeoutNanos;
    }

    /** Runs the filters from {@code from} on, then what follows the phase. */
    void run(ServerExchange ex, int from) {
        ex.chain = this;
        for (int i = from; i < filters.length; i++) {
            Verdict verdict;
            ex.inFilter = true;
            ex.proceededEarly = false;
            try {
                verdict = filters[i].filter(ex);
            } catch (InvalidBodyException e) {
                ex.respond(e.error());
                return;
            } catch (RuntimeException e) {
                LOG.error("filter of {} failed on request {}", names[i], ex.requestId(), e);
                ex.respond(OpenAiError.internal("The gateway failed to process the request (" + ex.requestId() + ")."));
                return;
            } finally {
                ex.inFilter = false;
            }
            if (ex.finished() || ex.headSent()) {
                return;
            }
            if (verdict == Verdict.PENDING) {
                if (ex.proceededEarly) {
                    ex.proceededEarly = false; // it decided before it returned
                    continue;
                }
                suspend(ex, i);
                return;
            }
            if (verdict != Verdict.CONTINUE) {
                LOG.error("filter of {} returned {} on request {} without answering it", names[i], verdict, ex.requestId());
                ex.respond(OpenAiError.internal("The gateway failed to process the request (" + ex.requestId() + ")."));
                return;
            }
        }
        try {
            then.accept(ex);
        } catch (InvalidBodyException e) {
            ex.respond(e.error());
        } catch (RuntimeException e) {
            LOG.error("request {} failed after the {} filters", ex.requestId(), phase, e);
            ex.respond(OpenAiError.internal("The gateway failed to process the request (" + ex.requestId() + ")."));
        }
    }

    private void suspend(ServerExchange ex, int at) {
        ex.resumeAt = at + 1;
        int generation = ++ex.suspensions;
        ScheduledFuture<?> timeout = ex.eventLoop().schedule(() -> {
            if (ex.resumeAt >= 0 && ex.suspensions == generation && !ex.finished()) {
                LOG.warn("filter of {} did not decide on request {} within {} ms", names[at], ex.requestId(),
                        TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
                ex.resumeAt = -1;
                ex.respond(new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", "filter_timeout", null,
                        "The gateway could not decide on the request in time (" + ex.requestId() + ")."));
            }
        }, timeoutNanos, TimeUnit.NANOSECONDS);
        ex.suspendedTimeout = timeout;
    }

    Phase phase() {
        return phase;
    }

    boolean isEmpty() {
        return filters.length == 0;
    }
}
