package io.nemorouter.core.engine;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.extension.RoutingStrategy;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.RequestBody;
import io.nemorouter.core.provider.EndpointBridge;
import io.nemorouter.core.provider.Provider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * The dispatch loop: asks the routing strategy for the first deployment, runs an attempt on it,
 * and asks for the next each time one fails before its head with a retryable cause (after that
 * attempt has ended, and the strategy's delay), until one answers or the strategy has none left.
 * Between the choice of a deployment and its provider, the {@code DEPLOYMENT_CHOSEN} filters run
 * (again for each attempt). A provider only reports; whether to go on is decided here. The
 * strategy hears when each attempt starts and ends. Stateless and shared; an exchange's progress
 * lives on the exchange.
 */
final class Dispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    private final GatewayRuntime runtime;
    private final RoutingStrategy strategy;

    Dispatcher(GatewayRuntime runtime, RoutingStrategy strategy) {
        this.runtime = runtime;
        this.strategy = strategy;
    }

    /** A 429 or 5xx from an upstream: another deployment might do better. */
    static boolean retryableStatus(int status) {
        return status == 429 || status >= 500;
    }

    /** After the {@code BEFORE_ROUTING} filters: the first deployment, and its attempt. */
    void route(ServerExchange ex) {
        Deployment first;
        try {
            first = strategy.next(ex, null);
        } catch (InvalidBodyException e) {
            ex.respond(e.error());
            return;
        } catch (RuntimeException e) {
            LOG.error("routing failed on request {}", ex.requestId(), e);
            ex.respond(OpenAiError.internal("The gateway failed to route the request (" + ex.requestId() + ")."));
            return;
        }
        if (ex.finished() || ex.headSent()) {
            return;
        }
        if (first == null) {
            ex.respond(OpenAiError.modelNotFound(ex.body().model()));
            return;
        }
        ex.markRouted();
        startAttempt(ex, first);
    }

    /** Starts an attempt on {@code d}: its filters, then its provider. */
    private void startAttempt(ServerExchange ex, Deployment d) {
        Provider provider = runtime.provider(d);
        if (provider == null) {
            throw new IllegalStateException("the routing strategy chose " + d.id() + ", which is not in the catalog");
        }
        if (ex.attemptNumber() > 0) {
            ex.rewindToRouted(); // what the last attempt's filters did was for its deployment only
        }
        boolean speaks = provider.speaks(ex.endpoint());
        EndpointBridge bridge = speaks ? null : runtime.bridge(ex.endpoint(), provider);
        ex.attemptStarted(new LiveAttempt(ex, d, ex.attemptNumber() + 1, provider.translator(ex), bridge, this));
        if (!speaks && bridge == null) {
            ex.attempt.failed(AttemptFailure.fatal(OpenAiError.badRequest("unsupported_endpoint", "model",
                    "The model `" + d.name() + "` (" + d.id() + ") does not serve " + ex.endpoint().path + ".")));
            return;
        }
        runtime.deploymentChosen.run(ex, 0);
    }

    /** After the {@code DEPLOYMENT_CHOSEN} filters: the provider gets the attempt. */
    void send(ServerExchange ex) {
        LiveAttempt attempt = ex.attempt;
        attempt.started();
        try {
            strategy.attemptStarted(ex, attempt);
        } catch (RuntimeException e) {
            LOG.warn("the routing strategy failed on the start of {}", attempt, e);
        }
        if (attempt.bridge != null) {
            try {
                attempt.bridgedBody(RequestBody.read(attempt.bridge.request(ex)));
            } catch (InvalidBodyException e) {
                attempt.failed(AttemptFailure.fatal(e.error()));
                return;
            }
        }
        try {
            runtime.provider(attempt.deployment()).send(ex, attempt);
            attempt.armBackstop(runtime.config.firstByteTimeout.toNanos(), runtime.config.totalTimeout.toNanos());
        } catch (RuntimeException e) {
            LOG.error("provider of {} failed on request {}", attempt.deployment().id(), ex.requestId(), e);
            attempt.failed(AttemptFailure.fatal(OpenAiError.internal(
                    "The gateway failed to send the request upstream (" + ex.requestId() + ").")));
        }
    }

    /** An attempt that began has ended (once): the strategy learns how. */
    void attemptEnded(ServerExchange ex, LiveAttempt attempt) {
        try {
            strategy.attemptEnded(ex, attempt);
        } catch (RuntimeException e) {
            LOG.warn("the routing strategy failed on the end of {}", attempt, e);
        }
    }

    /** Whether another attempt may follow {@code failed}, which is deciding whether to refuse its upstream's answer. */
    boolean mayRetry(ServerExchange ex, LiveAttempt failed) {
        try {
            return strategy.mayRetry(ex, failed);
        } catch (RuntimeException e) {
            LOG.error("the routing strategy failed on request {}", ex.requestId(), e);
            return false;
        }
    }

    /** An attempt failed (and ended) before any of its answer reached the client. */
    void attemptFailed(ServerExchange ex, LiveAttempt attempt, AttemptFailure failure) {
        if (ex.finished() || ex.attempt != attempt) {
            return;
        }
        if (!failure.retryable()) {
            ex.respond(failure.error());
            return;
        }
        long delay = 0;
        try {
            delay = strategy.delayMillis(ex, attempt);
        } catch (RuntimeException e) {
            LOG.warn("the routing strategy failed on the delay after {}", attempt, e);
        }
        if (delay > 0) {
            ex.eventLoop().schedule(() -> retry(ex, attempt, failure), delay, TimeUnit.MILLISECONDS);
        } else {
            retry(ex, attempt, failure);
        }
    }

    /** After a failure (and its delay): the strategy's next deployment, or the failure for the client. */
    private void retry(ServerExchange ex, LiveAttempt failed, AttemptFailure failure) {
        if (ex.finished() || ex.attempt != failed) {
            return; // the client left while the retry waited
        }
        Deployment next;
        try {
            next = strategy.next(ex, failed);
        } catch (RuntimeException e) {
            LOG.error("routing the next attempt of request {} failed", ex.requestId(), e);
            next = null;
        }
        if (ex.finished()) {
            return;
        }
        if (next == null) {
            ex.respond(failure.error());
            return;
        }
        try {
            startAttempt(ex, next);
        } catch (RuntimeException e) {
            LOG.error("the next attempt of request {} failed to start", ex.requestId(), e);
            ex.respond(OpenAiError.internal("The gateway failed to route the request (" + ex.requestId() + ")."));
        }
    }
}
