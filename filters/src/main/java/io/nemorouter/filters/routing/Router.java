package io.nemorouter.filters.routing;

import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.exchange.AttemptRecord;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.CompletionObserver;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RoutingStrategy;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.openai.OpenAiError;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * The gateway's routing strategy: a request for a model name goes to a deployment of its group,
 * chosen by the group's {@link Balance} among those that are healthy, under their quotas and
 * carrying every capability tag the request needs; after a retryable failure, to another
 * deployment of the group ({@code num_retries}), then down the group's {@code fallbacks}. A
 * request too long for the group's context window starts at its {@code context_window_fallbacks};
 * {@code auto} picks among every deployment with the tags; an experiment splits a model name's
 * traffic between groups. Attempts' outcomes feed each deployment's {@link DeploymentState}.
 */
final class Router implements RoutingStrategy, CompletionObserver {
    static final String AUTO = "auto";
    static final String VARIANT_HEADER = "x-nemo-variant";

    private final Map<String, Group> groups;
    private final Map<String, Experiment> experiments;
    private final Group autoChat;
    private final Group autoEmbeddings;
    private final Capabilities capabilities;
    private final Map<Deployment, DeploymentState> states = new IdentityHashMap<>();
    private final LongSupplier clock;

    Router(Map<String, Group> groups, Map<String, Experiment> experiments, Group autoChat, Group autoEmbeddings,
           Capabilities capabilities, LongSupplier clock) {
        this.groups = groups;
        this.experiments = experiments;
        this.autoChat = autoChat;
        this.autoEmbeddings = autoEmbeddings;
        this.capabilities = capabilities;
        this.clock = clock;
        for (Group g : groups.values()) {
            for (DeploymentState d : g.members) {
                states.put(d.deployment, d);
            }
        }
    }

    // ---- choosing ------------------------------------------------------------------------------

    @Override
    public Deployment next(Exchange ex, AttemptRecord failed) {
        long now = clock.getAsLong();
        if (failed == null) {
            RouteState st = begin(ex);
            if (st == null) {
                return null;
            }
            ex.set(RouteState.KEY, st);
            Deployment first = advance(ex, st, now, true);
            if (first == null && !ex.finished()) {
                refuseUnavailable(ex, st, now);
            }
            return first;
        }
        RouteState st = ex.get(RouteState.KEY);
        if (st == null || st.link >= st.chain.length) {
            return null;
        }
        Group g = st.chain[st.link];
        int i = indexOf(g, failed.deployment());
        if (i >= 0) {
            st.tried |= 1L << i;
        }
        if (st.retriesLeft > 0) {
            int pick = choose(ex, g, st.tried, st.tags, now);
            if (pick < 0 && i >= 0 && sameAgainAllowed(g, failed)) {
                pick = choose(ex, g, 0, st.tags, now); // every deployment tried: the same again, after a backoff
            }
            if (pick >= 0) {
                st.retriesLeft--;
                return g.members[pick].deployment;
            }
        }
        st.link++;
        return advance(ex, st, now, false);
    }

    /**
     * From the current link on: the first group with a usable deployment, or null. On the first
     * call the link's retries are already set.
     */
    private Deployment advance(Exchange ex, RouteState st, long now, boolean first) {
        for (; st.link < st.chain.length; st.link++) {
            Group g = st.chain[st.link];
            if (!first || st.link > 0) {
                st.tried = 0;
                st.retriesLeft = g.settings.numRetries();
            }
            if (!g.hasTags(st.tags)) {
                continue; // a fallback without the capabilities: never a wrong model
            }
            int pick = choose(ex, g, st.tried, st.tags, now);
            if (pick >= 0) {
                return g.members[pick].deployment;
            }
        }
        return null;
    }

    /** Picks and claims a deployment of {@code g} (one whose cooldown just ended takes one probe at a time). */
    private static int choose(Exchange ex, Group g, long excluded, long tags, long now) {
        for (int tries = 0; tries < g.members.length; tries++) {
            int i = g.settings.balance().pick(g, excluded, tags, now);
            if (i < 0 || g.members[i].claim(ex, now)) {
                return i;
            }
            excluded |= 1L << i; // another request took the probe
        }
        return -1;
    }

    /** The same deployment again only when its upstream did not ask for a longer wait than a retry may take. */
    private static boolean sameAgainAllowed(Group g, AttemptRecord failed) {
        return failed.retryAfterMillis() <= g.settings.maxRetryAfterMillis();
    }

    @Override
    public long delayMillis(Exchange ex, AttemptRecord failed, Deployment next) {
        if (next != failed.deployment()) {
            return 0; // another deployment: at once
        }
        RouteState st = ex.get(RouteState.KEY);
        Group g = st == null ? null : st.chain[Math.min(st.link, st.chain.length - 1)];
        long base = g == null ? 100 : g.settings.retryBackoffMillis();
        int retry = g == null ? 1 : Math.max(1, g.settings.numRetries() - st.retriesLeft);
        long backoff = Math.min(base << Math.min(retry - 1, 10), 10_000);
        long jittered = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1); // half to all of it
        return Math.max(jittered, failed.retryAfterMillis());
    }

    /** The request's tags and groups; null when it was answered (a capability mismatch) or its model is unknown. */
    private RouteState begin(Exchange ex) {
        String model = ex.body().model();
        long tags = capabilities.required(ex);
        Group g;
        if (AUTO.equals(model) && !groups.containsKey(AUTO)) {
            // every deployment with the tags: the embedding models for embeddings, the others for chat
            g = ex.endpoint() == Endpoint.EMBEDDINGS ? autoEmbeddings : autoChat;
            if (g.members.length == 0 || !g.hasTags(tags)) {
                ex.respond(mismatch(model, tags, g));
                return null;
            }
            return new RouteState(tags, g.chain);
        }
        Experiment e = experiments.get(model);
        if (e != null) {
            String variant = e.variant(ex);
            ex.responseHeader(VARIANT_HEADER, variant);
            ex.set(AbVariant.KEY, new AbVariant(e.name(), variant));
            g = groups.get(variant);
        } else {
            g = groups.get(model);
        }
        if (g == null) {
            return null;
        }
        if (!g.hasTags(tags)) {
            ex.respond(mismatch(model, tags, g));
            return null;
        }
        Group[] chain = g.chain;
        if (g.contextWindowChain.length > 0 && !g.fits(promptTokens(ex))) {
            chain = g.contextWindowChain; // too long for it: to the long-context groups instead of failing upstream
        }
        return new RouteState(tags, chain);
    }

    /** About how many tokens the prompt is: a byte in four (the body's JSON around it included: it errs long). */
    private static long promptTokens(Exchange ex) {
        return ex.content() == null ? 0 : ex.content().readableBytes() / 4;
    }

    private OpenAiError mismatch(String model, long tags, Group g) {
        long best = 0;
        for (DeploymentState d : g.members) {
            if (Long.bitCount(d.tags & tags) > Long.bitCount(best & tags)) {
                best = d.tags;
            }
        }
        List<String> missing = capabilities.names(tags & ~best);
        return OpenAiError.badRequest("model_capability_mismatch", "tags", "The model `" + model
                + "` lacks capabilities this request requires: " + String.join(", ", missing)
                + ". Choose a model that has them, or model `auto` to let the gateway pick one.");
    }

    /** No deployment of any group may take the request now: 429 when quotas are the reason, else 503; both say when to come back. */
    private void refuseUnavailable(Exchange ex, RouteState st, long now) {
        long quotaWait = Long.MAX_VALUE;
        long coolWait = Long.MAX_VALUE;
        for (Group g : st.chain) {
            for (DeploymentState d : g.members) {
                if ((d.tags & st.tags) != st.tags) {
                    continue;
                }
                long q = d.quotaResetMillis(now);
                if (q > 0) {
                    quotaWait = Math.min(quotaWait, q);
                }
                long c = d.cooldownMillis(now);
                if (c > 0) {
                    coolWait = Math.min(coolWait, c);
                }
            }
        }
        boolean quota = quotaWait != Long.MAX_VALUE;
        long wait = quota ? quotaWait : coolWait == Long.MAX_VALUE ? 1000 : coolWait;
        ex.responseHeader("retry-after", Long.toString(Math.max(1, (wait + 999) / 1000)));
        ex.respond(quota
                ? new OpenAiError(HttpResponseStatus.TOO_MANY_REQUESTS, "rate_limit_error", "deployment_quota_exceeded", null,
                "Every deployment of `" + ex.body().model() + "` is at its provider quota; try again after the Retry-After.")
                : new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "no_healthy_deployment", null,
                "Every deployment of `" + ex.body().model() + "` is cooling down or busy; try again after the Retry-After."));
    }

    private static int indexOf(Group g, Deployment d) {
        DeploymentState[] m = g.members;
        for (int i = 0; i < m.length; i++) {
            if (m[i].deployment == d) {
                return i;
            }
        }
        return -1;
    }

    // ---- learning ------------------------------------------------------------------------------

    @Override
    public void attemptStarted(Exchange ex, AttemptRecord attempt) {
        DeploymentState d = states.get(attempt.deployment());
        if (d != null) {
            d.started(clock.getAsLong());
        }
    }

    @Override
    public void attemptEnded(Exchange ex, AttemptRecord attempt) {
        DeploymentState d = states.get(attempt.deployment());
        if (d != null) {
            d.ended(ex, attempt, ex.body().stream(), clock.getAsLong());
        }
    }

    /** The tokens an answer used count against its deployment's TPM quota. */
    @Override
    public void onComplete(Completion c) {
        if (c.deployment() != null && c.usage() != null) {
            DeploymentState d = states.get(c.deployment());
            if (d != null) {
                d.tokens(c.usage().totalTokens(), clock.getAsLong());
            }
        }
    }

    Iterable<Group> groups() {
        return groups.values();
    }
}
