package io.nemorouter.core.extension;

/** When a {@link RequestFilter} runs. */
public enum Phase {
    /**
     * Once per request, before a deployment is chosen: who is asking (auth), whether they may
     * (limits), whether it is answered already (cache). {@code exchange.deployment()} is null.
     */
    BEFORE_ROUTING,
    /**
     * Once per attempt, after the routing strategy chose its deployment and before the provider
     * gets it: what needs the deployment's price or name (a budget reservation, a per-deployment
     * body edit). A fallback to another deployment runs these filters again.
     */
    DEPLOYMENT_CHOSEN
}
