package io.nemorouter.filters.routing;

import java.util.concurrent.ThreadLocalRandom;

/**
 * How a group chooses among its available deployments. Each walks the group's array once, skips
 * what {@link Group#usable} refuses, and allocates nothing.
 */
enum Balance {
    /** Fewest requests in flight; ties go round-robin, so an idle group spreads its load. */
    LEAST_BUSY("least-busy"),
    /** Lowest recent latency (time to first token for streams); a deployment without a recent sample is tried first. */
    LATENCY("latency"),
    /** At random, in proportion to each deployment's {@code weight} (a weight of 0: only when nothing else is left). */
    WEIGHTED("weighted"),
    /** Cheapest by the price table (input plus output per million tokens); ties by fewest in flight. */
    COST("cost");

    final String configName;

    Balance(String configName) {
        this.configName = configName;
    }

    static Balance of(String name) {
        for (Balance b : values()) {
            if (b.configName.equals(name)) {
                return b;
            }
        }
        return null;
    }

    static String names() {
        StringBuilder s = new StringBuilder();
        for (Balance b : values()) {
            s.append(s.length() == 0 ? "" : ", ").append(b.configName);
        }
        return s.toString();
    }

    /**
     * The index of the deployment to use in {@code g}, or -1 when none is usable: not in
     * {@code excluded} (bit i: deployment i), carrying every tag in {@code tags}, and neither cooling
     * down, at its quota nor at its {@code max_parallel}.
     */
    int pick(Group g, long excluded, long tags, long nowMillis) {
        DeploymentState[] ds = g.members;
        int n = ds.length;
        int start = n == 1 ? 0 : (g.turn() & 0x7fffffff) % n;
        switch (this) {
            case LATENCY -> {
                int best = -1;
                int firstUsable = -1;
                double bestLatency = Double.MAX_VALUE;
                for (int k = 0; k < n; k++) {
                    int i = (start + k) % n;
                    if (!g.usable(i, excluded, tags, nowMillis)) {
                        continue;
                    }
                    if (ds[i].explore(nowMillis)) {
                        return i; // no recent figure: find one out (one request a second)
                    }
                    if (firstUsable < 0) {
                        firstUsable = i;
                    }
                    double l = ds[i].latencyEwmaMillis();
                    if (l > 0 && l < bestLatency) { // no figure yet is not "fastest"
                        bestLatency = l;
                        best = i;
                    }
                }
                return best >= 0 ? best : firstUsable;
            }
            case WEIGHTED -> {
                long total = 0;
                for (int i = 0; i < n; i++) {
                    if (g.usable(i, excluded, tags, nowMillis)) {
                        total += ds[i].weight;
                    }
                }
                if (total == 0) {
                    // only weight-0 deployments left: never chosen first, but there for a retry
                    for (int k = 0; k < n; k++) {
                        int i = (start + k) % n;
                        if (g.usable(i, excluded, tags, nowMillis)) {
                            return i;
                        }
                    }
                    return -1;
                }
                long r = ThreadLocalRandom.current().nextLong(total);
                for (int i = 0; i < n; i++) {
                    if (g.usable(i, excluded, tags, nowMillis)) {
                        r -= ds[i].weight;
                        if (r < 0) {
                            return i;
                        }
                    }
                }
                return -1;
            }
            default -> {
                // least-busy and cost: the first in the order each sets, ties going round-robin
                int best = -1;
                for (int k = 0; k < n; k++) {
                    int i = (start + k) % n;
                    if (g.usable(i, excluded, tags, nowMillis) && (best < 0 || before(ds[i], ds[best]))) {
                        best = i;
                    }
                }
                return best;
            }
        }
    }

    /** Whether {@code a} goes before {@code b}: by price first for cost, then by fewest in flight. */
    private boolean before(DeploymentState a, DeploymentState b) {
        if (this == COST && a.price != b.price) {
            return a.price < b.price;
        }
        return a.inFlight() < b.inFlight();
    }
}
