package io.nemorouter.filters.keys;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Where budget alerts go when a call's spend crosses a threshold: the log line and the metric here,
 * then every subscriber (the export extension's alert targets). Published by the keys extension as
 * a service; called on an event loop, so a subscriber only hands the alert on.
 */
public final class BudgetAlerts {
    private static final Logger LOG = LoggerFactory.getLogger(BudgetAlerts.class);
    private final List<Consumer<BudgetAlert>> subscribers = new CopyOnWriteArrayList<>();
    private final Counter sent;

    BudgetAlerts(CollectorRegistry metrics) {
        sent = Counter.build("nemo_budget_alerts_total", "Budget alert thresholds crossed, once per threshold and budget period")
                .labelNames("level", "threshold").register(metrics);
    }

    /** Gets every alert from now on, on the event loop of the call that set it off (in cluster mode, a Redis reply thread): hand it on, never block. */
    public void subscribe(Consumer<BudgetAlert> subscriber) {
        subscribers.add(subscriber);
    }

    /**
     * Sends the thresholds of {@code at} that Redis handed to one settlement of {@code level}: its
     * {@link io.nemorouter.filters.keys.cluster.RedisLedgers.Settled} numbers from {@code o} (period
     * start, end, spent, total, then the crossed thresholds as [from, to)).
     */
    void publishCrossed(io.nemorouter.filters.keys.state.Entity<?> level, io.nemorouter.filters.keys.state.Budget.Alerts at,
                        long[] settled, int o, String requestId, long nowMillis) {
        for (int t = (int) settled[o + 4]; t < (int) settled[o + 5] && t < at.percents().length; t++) {
            publish(BudgetAlert.crossed(level, at, t, settled[o + 2], settled[o + 1], requestId, nowMillis));
        }
    }

    void publish(BudgetAlert a) {
        sent.labels(a.level(), Integer.toString(a.threshold())).inc();
        LOG.info("budget alert: {} {} crossed {}% of its {} (${}): ${} spent this period", a.level(),
                a.alias() != null ? a.alias() : a.id(), a.threshold(), a.soft() ? "soft budget" : "budget", a.base(), a.spend());
        for (Consumer<BudgetAlert> s : subscribers) {
            try {
                s.accept(a);
            } catch (RuntimeException e) {
                LOG.warn("budget alert subscriber failed: {}", e.toString());
            }
        }
    }
}
