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
    /** {@code auto}'s groups: every chat deployment, in groups of at most 64; every embedding deployment. */
    private final Group[] autoChat;
    private final Group[] autoEmbeddings;
    private final Capabilities capabilities;
    private final Map<Deployment, DeploymentState> states = new IdentityHashMap<>();
    private final LongSupplier clock;

    Router(Map<String, Group> groups, Map<String, Experiment> experiments, Group[] autoChat, Group[] autoEmbeddings,
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
        markTried(st, g, failed);
        if (st.retriesLeft > 0) {
            int pick = choose(st, g, st.tried, now);
            if (pick < 0) {
                pick = choose(st, g, st.noRetry, now); // every deployment tried: one again, after the backoff
            }
            if (pick >= 0) {
                st.retriesLeft--;
                return g.members[pick].deployment;
            }
        }
        st.link++;
        return advance(ex, st, now, false);
    }

    /** Notes that {@code failed}'s deployment was tried; and not to try it again when its upstream asked for a wait longer than a retry may take. */
    private static void markTried(RouteState st, Group g, AttemptRecord failed) {
        int i = indexOf(g, failed.deployment());
        if (i >= 0) {
            st.tried |= 1L << i;
            if (failed.retryAfterMillis() > g.settings.maxRetryAfterMillis()) {
                st.noRetry |= 1L << i;
            }
        }
    }

    @Override
    public boolean mayRetry(Exchange ex, AttemptRecord failed) {
        RouteState st = ex.get(RouteState.KEY);
        if (st == null || st.link >= st.chain.length) {
            return false;
        }
        if (st.retriesLeft > 0) {
            return true;
        }
        for (int l = st.link + 1; l < st.chain.length; l++) {
            if (st.chain[l].hasTags(st.tags)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Before the next attempt: nothing when the group has an untried deployment free to take it,
     * or the request moves on to a fallback; a backoff (at least the upstream's hint) when a
     * retry will go to a deployment already tried.
     */
    @Override
    public long delayMillis(Exchange ex, AttemptRecord failed) {
        RouteState st = ex.get(RouteState.KEY);
        if (st == null || st.link >= st.chain.length || st.retriesLeft <= 0) {
            return 0;
        }
        Group g = st.chain[st.link];
        int i = indexOf(g, failed.deployment());
        long tried = i < 0 ? st.tried : st.tried | 1L << i; // next() notes it
        if (g.anyUsable(tried, st.tags, clock.getAsLong())) {
            return 0; // another deployment: at once
        }
        long base = g.settings.retryBackoffMillis();
        if (base <= 0) {
            return Math.max(0, Math.min(failed.retryAfterMillis(), g.settings.maxRetryAfterMillis()));
        }
        int retry = Math.max(1, g.settings.numRetries() - st.retriesLeft + 1);
        long backoff = Math.min(base << Math.min(retry - 1, 10), 10_000);
        long jittered = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1); // half to all of it
        return Math.max(jittered, Math.min(failed.retryAfterMillis(), g.settings.maxRetryAfterMillis()));
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
                st.noRetry = 0;
                st.retriesLeft = g.settings.numRetries();
            }
            if (!g.hasTags(st.tags)) {
                continue; // a fallback without the capabilities: never a wrong model
            }
            int pick = choose(st, g, st.tried, now);
            if (pick >= 0) {
                return g.members[pick].deployment;
            }
        }
        return null;
    }

    /**
     * Picks and claims a deployment of {@code g} (one whose cooldown just ended takes one probe at a
     * time: the request holds it until its attempt there ends, or it ends itself).
     */
    private static int choose(RouteState st, Group g, long excluded, long now) {
        for (int tries = 0; tries < g.members.length; tries++) {
            int i = g.settings.balance().pick(g, excluded, st.tags, now);
            if (i < 0) {
                return -1;
            }
            DeploymentState d = g.members[i];
            if (d.claim(st, now)) {
                if (d.probing(st)) {
                    st.probe = d;
                }
                return i;
            }
            excluded |= 1L << i; // another request took the probe
        }
        return -1;
    }

    /** The request's tags and groups; null when it was answered (a capability mismatch) or its model is unknown. */
    private RouteState begin(Exchange ex) {
        String model = ex.body().model();
        long tags = capabilities.required(ex);
        Group g;
        if (AUTO.equals(model) && !groups.containsKey(AUTO)) {
            // every deployment with the tags: the embedding models for embeddings, the others for chat
            Group[] chain = ex.endpoint() == Endpoint.EMBEDDINGS ? autoEmbeddings : autoChat;
            if (!anyHasTags(chain, tags)) {
                ex.respond(mismatch(model, tags, chain));
                return null;
            }
            return new RouteState(tags, chain);
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
        Group[] chain = g.chain;
        if (g.contextWindowChain.length > 0 && !g.fits(promptTokens(ex))) {
            chain = g.contextWindowChain; // too long for it: to the long-context groups instead of failing upstream
        }
        if (!g.hasTags(tags) || !anyHasTags(chain, tags)) {
            ex.respond(mismatch(model, tags, g.hasTags(tags) ? chain : new Group[]{g}));
            return null;
        }
        return new RouteState(tags, chain);
    }

    private static boolean anyHasTags(Group[] chain, long tags) {
        for (Group g : chain) {
            if (g.members.length > 0 && g.hasTags(tags)) {
                return true;
            }
        }
        return false;
    }

    /** About how many tokens the prompt is: a byte in four (the body's JSON around it included: it errs long). */
    private static long promptTokens(Exchange ex) {
        return ex.content() == null ? 0 : ex.content().readableBytes() / 4;
    }

    /** A 400 naming the required tags that the best-equipped deployment of {@code groups} lacks. */
    private OpenAiError mismatch(String model, long tags, Group[] groups) {
        long best = 0;
        for (Group g : groups) {
            for (DeploymentState d : g.members) {
                if (Long.bitCount(d.tags & tags) > Long.bitCount(best & tags)) {
                    best = d.tags;
                }
            }
        }
        List<String> missing = capabilities.names(tags & ~best);
        String which = AUTO.equals(model) ? "No model in the catalog has" : "The model `" + model + "` (and where it falls back for a request this long) lacks";
        return OpenAiError.badRequest("model_capability_mismatch", "tags", which + " capabilities this request requires: "
                + String.join(", ", missing) + (AUTO.equals(model) ? "." : ". Choose a model that has them, or model `auto` to let the gateway pick one."));
    }

    /**
     * No deployment of any group may take the request now: 429 when quotas or parallel limits are
     * the reason, else 503 (all cooling down); both say when to come back.
     */
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
                } else if (d.full()) {
                    quotaWait = Math.min(quotaWait, 1000); // at max_parallel: a request in flight ends soon
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
                "Every deployment of `" + ex.body().model() + "` is at its provider quota or parallel limit; try again after the Retry-After.")
                : new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "no_healthy_deployment", null,
                "Every deployment of `" + ex.body().model() + "` is cooling down; try again after the Retry-After."));
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
            d.ended(ex.get(RouteState.KEY), attempt, ex.body().stream(), clock.getAsLong());
        }
    }

    /**
     * The tokens an answer used count against its deployment's TPM quota; a half-open probe the
     * request claimed and never used (a filter answered it first) is given back.
     */
    @Override
    public void onComplete(Completion c) {
        RouteState st = c.get(RouteState.KEY);
        if (st != null && st.probe != null) {
            st.probe.releaseProbe(st);
        }
        if (c.deployment() != null && c.usage() != null) {
            DeploymentState d = states.get(c.deployment());
            if (d != null) {
                d.tokens(c.usage().totalTokens(), clock.getAsLong());
            }
        }
    }
}
