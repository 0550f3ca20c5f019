package io.nemorouter.filters.routing;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The catalog entries that share a model name: interchangeable deployments (other providers,
 * regions, API keys), chosen among by the group's {@link Balance}. At most 64, so a request's tried
 * deployments fit one {@code long}.
 */
final class Group {
    static final int MAX_MEMBERS = 64;

    final String name;
    final DeploymentState[] members;
    final GroupSettings settings;
    /** Every tag some member has. */
    final long tags;
    /**
     * Itself, then its fallbacks in order: the groups a request for it goes through; and the
     * groups for a request too long for its context window. Set once every group exists.
     */
    Group[] chain = {this};
    Group[] contextWindowChain = new Group[0];
    private final AtomicInteger turn = new AtomicInteger();

    Group(String name, DeploymentState[] members, GroupSettings settings) {
        this.name = name;
        this.members = members;
        this.settings = settings;
        long all = 0;
        for (DeploymentState d : members) {
            all |= d.tags;
        }
        this.tags = all;
    }

    /** A counter for round-robin starts: ties between equals go to each in turn. */
    int turn() {
        return turn.getAndIncrement();
    }

    /** Whether member {@code i} may take the request: not excluded, every required tag, available now. */
    boolean usable(int i, long excluded, long requiredTags, long nowMillis) {
        DeploymentState d = members[i];
        return (excluded & (1L << i)) == 0 && (d.tags & requiredTags) == requiredTags && d.available(nowMillis);
    }

    /** Whether some member may take the request now (as {@link #usable}), without choosing one. */
    boolean anyUsable(long excluded, long requiredTags, long nowMillis) {
        for (int i = 0; i < members.length; i++) {
            if (usable(i, excluded, requiredTags, nowMillis)) {
                return true;
            }
        }
        return false;
    }

    /** Whether some member carries every tag in {@code requiredTags} (available or not). */
    boolean hasTags(long requiredTags) {
        for (DeploymentState d : members) {
            if ((d.tags & requiredTags) == requiredTags) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a prompt of about {@code promptTokens} fits some member's context window (a member
     * whose window is unknown is assumed to take it).
     */
    boolean fits(long promptTokens) {
        for (DeploymentState d : members) {
            long window = d.deployment.pricing().contextWindow();
            if (window <= 0 || promptTokens <= window) {
                return true;
            }
        }
        return false;
    }
}
