package io.nemorouter.filters.accounting;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Histogram;

import java.util.HashSet;
import java.util.Set;

/**
 * Per key, team and model counters of calls, tokens and spend, cache decisions, and the time to the
 * first byte of an answer. Updated on the request log's writer thread from each record, so the
 * event loop pays nothing for them. Keys are named by alias (or the 8-character token); past
 * {@code maxKeys} distinct names the rest count as {@code other}, so a scrape stays bounded.
 */
final class SpendMetrics {
    private static final String OTHER = "other";
    private final Counter requests;
    private final Counter tokens;
    private final Counter spend;
    private final Counter cache;
    private final Histogram firstByte;
    private final Set<String> keys = new HashSet<>();
    private final int maxKeys;

    SpendMetrics(CollectorRegistry registry, int maxKeys) {
        this.maxKeys = maxKeys;
        requests = Counter.build("nemo_key_requests_total", "Calls by key, team, model and status")
                .labelNames("key", "team", "model", "status").register(registry);
        tokens = Counter.build("nemo_key_tokens_total", "Tokens by key, team, model and type (input, output, cached)")
                .labelNames("key", "team", "model", "type").register(registry);
        spend = Counter.build("nemo_key_spend_usd_total", "Cost in USD by key, team and model")
                .labelNames("key", "team", "model").register(registry);
        cache = Counter.build("nemo_cache_decisions_total", "Calls by cache decision (hit, miss, bypass)")
                .labelNames("decision").register(registry);
        firstByte = Histogram.build("nemo_time_to_first_byte_seconds",
                        "From request received to the answer's first byte sent to the client (a stream's first token)")
                .labelNames("stream").buckets(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
                .register(registry);
    }

    /** On the writer thread. */
    void record(CallRecord r) {
        String key = key(r);
        String team = r.teamId() == null ? "" : r.teamId();
        // the catalog's name when the call was routed; what a client typed for an unknown model is not a label
        String model = r.deployment() == null ? "" : r.model();
        requests.labels(key, team, model, Integer.toString(r.status())).inc();
        if (r.inputTokens() > 0) {
            tokens.labels(key, team, model, "input").inc(r.inputTokens());
        }
        if (r.outputTokens() > 0) {
            tokens.labels(key, team, model, "output").inc(r.outputTokens());
        }
        if (r.cachedTokens() > 0) {
            tokens.labels(key, team, model, "cached").inc(r.cachedTokens());
        }
        if (r.cost() > 0) {
            spend.labels(key, team, model).inc(r.cost());
        }
        if (r.cache() != null) {
            cache.labels(r.cache()).inc();
        }
        if (r.ttftMs() > 0) {
            firstByte.labels(Boolean.toString(r.stream())).observe(r.ttftMs() / 1000);
        }
    }

    private String key(CallRecord r) {
        String name = r.keyAlias() != null ? r.keyAlias() : r.keyHash() != null ? r.keyHash()
                : r.keyId() != null ? r.keyId() : "anonymous";
        if (keys.contains(name)) {
            return name;
        }
        if (keys.size() >= maxKeys) {
            return OTHER;
        }
        keys.add(name);
        return name;
    }
}
