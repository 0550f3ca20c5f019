package io.nemorouter.filters.keys;

import io.nemorouter.filters.keys.state.Entity;
import io.nemorouter.filters.keys.state.Registry;
import io.nemorouter.filters.keys.store.KeyRecord;
import io.nemorouter.filters.keys.store.TeamRecord;
import io.prometheus.client.Collector;
import io.prometheus.client.GaugeMetricFamily;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code nemo_budget_remaining_usd{level,name}}: what each key and team with a budget may still
 * spend in its current period, read from the live ledgers at scrape time. At most {@link #MAX_SERIES}
 * of each level are exported (a scrape must stay small), the rest are left out.
 */
final class BudgetGauges extends Collector {
    static final int MAX_SERIES = 500;
    private final Registry registry;

    BudgetGauges(Registry registry) {
        this.registry = registry;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        GaugeMetricFamily g = new GaugeMetricFamily("nemo_budget_remaining_usd",
                "Budget left in the current period, per key (alias, or its 8-character token) and team with a budget",
                List.of("level", "name"));
        long now = registry.clock().millis();
        int n = 0;
        for (Entity<KeyRecord> k : registry.keys()) {
            if (k.budget.limit() >= 0 && n++ < MAX_SERIES) {
                KeyRecord r = k.record();
                g.addMetric(List.of("key", r.alias() != null ? r.alias() : r.hashPrefix()), remaining(k, now));
            }
        }
        n = 0;
        for (Entity<TeamRecord> t : registry.teams()) {
            if (t.budget.limit() >= 0 && n++ < MAX_SERIES) {
                g.addMetric(List.of("team", t.record().id()), remaining(t, now));
            }
        }
        List<MetricFamilySamples> out = new ArrayList<>(1);
        out.add(g);
        return out;
    }

    private static double remaining(Entity<?> e, long now) {
        return Math.max(0, e.budget.limit() - e.budget.spent(now)) / 1e9;
    }
}
