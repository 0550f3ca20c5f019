package io.nemorouter.core.engine;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AttemptFailure;
import io.nemorouter.core.extension.RoutingStrategy;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.provider.Provider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The dispatch loop: asks the routing strategy for the candidates, then runs attempts, one
 * deployment at a time, until one answers or the candidates run out. Between the choice of a
 * deployment and its provider, the {@code DEPLOYMENT_CHOSEN} filters run (again for each
 * attempt). A provider only reports; whether to go on is decided here: an attempt that failed
 * before its head with a retryable cause moves to the next candidate, anything else answers the
 * client. Stateless and shared; an exchange's progress lives on the exchange.
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

    /** After the {@code BEFORE_ROUTING} filters: the candidates, then the first attempt. */
    void route(ServerExchange ex) {
        List<Deployment> candidates;
        try {
            candidates = strategy.route(ex);
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
        if (candidates == null || candidates.isEmpty()) {
            ex.respond(OpenAiError.modelNotFound(ex.body().model()));
            return;
        }
        ex.candidates = candidates;
        ex.nextCandidate = 0;
        ex.markRouted();
        nextAttempt(ex);
    }

    /** Starts an attempt on the next candidate: its filters, then its provider. */
    private void nextAttempt(ServerExchange ex) {
        Deployment d = ex.candidates.get(ex.nextCandidate++);
        Provider provider = runtime.provider(d);
        if (provider == null) {
            throw new IllegalStateException("the routing strategy chose " + d.id() + ", which is not in the catalog");
        }
        if (ex.attemptNumber() > 0) {
            ex.rewindToRouted(); // what the last attempt's filters did was for its deployment only
        }
        ex.attemptStarted(new LiveAttempt(ex, d, ex.attemptNumber() + 1, provider.translator(ex), this));
        runtime.deploymentChosen.run(ex, 0);
    }

    /** After the {@code DEPLOYMENT_CHOSEN} filters: the provider gets the attempt. */
    void send(ServerExchange ex) {
        LiveAttempt attempt = ex.attempt;
        try {
            runtime.provider(attempt.deployment()).send(ex, attempt);
            attempt.armBackstop(runtime.config.firstByteTimeout.toNanos(), runtime.config.totalTimeout.toNanos());
        } catch (RuntimeException e) {
            LOG.error("provider of {} failed on request {}", attempt.deployment().id(), ex.requestId(), e);
            attempt.failed(AttemptFailure.fatal(OpenAiError.internal(
                    "The gateway failed to send the request upstream (" + ex.requestId() + ").")));
        }
    }

    /** An attempt failed before any of its answer reached the client. */
    void attemptFailed(ServerExchange ex, LiveAttempt attempt, AttemptFailure failure) {
        if (ex.finished() || ex.attempt != attempt) {
            return;
        }
        if (failure.retryable() && ex.hasMoreCandidates()) {
            try {
                nextAttempt(ex);
            } catch (RuntimeException e) {
                LOG.error("the next attempt of request {} failed to start", ex.requestId(), e);
                ex.respond(OpenAiError.internal("The gateway failed to route the request (" + ex.requestId() + ")."));
            }
            return;
        }
        ex.respond(failure.error());
    }
}
