package io.nemorouter.core.metrics;

import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.CompletionObserver;
import io.nemorouter.core.openai.Endpoint;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import io.prometheus.client.Histogram;
import io.prometheus.client.exporter.common.TextFormat;
import io.prometheus.client.hotspot.DefaultExports;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Prometheus series the gateway exports. simpleclient's collectors are thread-safe
 * (striped adders), so every event loop records straight into them. Without exemplars: there is
 * no tracer to link to, and sampling for one is work on every request.
 */
public final class GatewayMetrics implements CompletionObserver {
    private static final double[] LATENCY_BUCKETS = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    private static final double[] OVERHEAD_BUCKETS = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
            0.0025, 0.005, 0.01, 0.05};

    private final CollectorRegistry registry = new CollectorRegistry(true);
    private final Counter requests = Counter.build("nemo_requests_total", "Requests answered, by route, model and status")
            .labelNames("route", "model", "status").withoutExemplars().register(registry);
    private final Gauge inFlight = Gauge.build("nemo_requests_in_flight", "Requests received and not yet answered")
            .register(registry);
    private final Histogram total = Histogram.build("nemo_request_duration_seconds",
                    "From request received to last byte written to the client").labelNames("route")
            .buckets(LATENCY_BUCKETS).withoutExemplars().register(registry);
    private final Histogram upstream = Histogram.build("nemo_upstream_duration_seconds",
                    "From request sent upstream to its last byte").labelNames("route")
            .buckets(LATENCY_BUCKETS).withoutExemplars().register(registry);
    private final Histogram firstByte = Histogram.build("nemo_upstream_first_byte_seconds",
                    "From request sent upstream to the first byte of its answer").labelNames("route")
            .buckets(LATENCY_BUCKETS).withoutExemplars().register(registry);
    private final Histogram overhead = Histogram.build("nemo_gateway_overhead_seconds",
                    "Time the gateway itself added: before the upstream call and relaying its first byte")
            .labelNames("route").buckets(OVERHEAD_BUCKETS).withoutExemplars().register(registry);

    public GatewayMetrics() {
        DefaultExports.register(registry);
    }

    public void requestStarted() {
        inFlight.inc();
    }

    /** Histogram children per route, resolved once: label lookups allocate, and routes are few. */
    private final Histogram.Child[][] byRoute = new Histogram.Child[Endpoint.values().length][];

    private Histogram.Child[] children(Endpoint e) {
        Histogram.Child[] c = byRoute[e.ordinal()];
        if (c == null) {
            c = new Histogram.Child[]{total.labels(e.label), upstream.labels(e.label), firstByte.labels(e.label),
                    overhead.labels(e.label)};
            byRoute[e.ordinal()] = c; // a racing duplicate resolves to the same children
        }
        return c;
    }

    /**
     * requests_total children by route, model and status, resolved once each: a label lookup builds a
     * list and a status string per request. Models come from the catalog and statuses are three
     * digits, so this stays small.
     */
    @SuppressWarnings("unchecked")
    private final ConcurrentHashMap<String, Counter.Child[]>[] requestsByRoute = new ConcurrentHashMap[Endpoint.values().length];

    {
        for (int i = 0; i < requestsByRoute.length; i++) {
            requestsByRoute[i] = new ConcurrentHashMap<>();
        }
    }

    private Counter.Child requests(Endpoint e, String model, int status) {
        Counter.Child[] byStatus = requestsByRoute[e.ordinal()].computeIfAbsent(model, m -> new Counter.Child[600]);
        if (status < 0 || status >= byStatus.length) {
            return requests.labels(e.label, model, Integer.toString(status));
        }
        Counter.Child c = byStatus[status];
        if (c == null) {
            c = requests.labels(e.label, model, Integer.toString(status));
            byStatus[status] = c; // a racing duplicate resolves to the same child
        }
        return c;
    }

    @Override
    public void onComplete(Completion ex) {
        inFlight.dec();
        String model = ex.requestedModel() != null && ex.deployment() != null ? ex.deployment().name() : "";
        requests(ex.endpoint(), model, ex.status()).inc();
        Histogram.Child[] h = children(ex.endpoint());
        h[0].observe((ex.finishedNanos() - ex.receivedNanos()) / 1e9);
        if (ex.upstreamSentNanos() != 0) {
            h[1].observe((ex.finishedNanos() - ex.upstreamSentNanos()) / 1e9);
            if (ex.upstreamFirstByteNanos() != 0) {
                h[2].observe((ex.upstreamFirstByteNanos() - ex.upstreamSentNanos()) / 1e9);
            }
        }
        h[3].observe(ex.overheadNanos() / 1e9);
    }

    /** The registry {@code /metrics} exports; extensions register their collectors here. */
    public CollectorRegistry registry() {
        return registry;
    }

    public double inFlight() {
        return inFlight.get();
    }

    /** The text exposition format, version 0.0.4. */
    public String scrape() {
        StringWriter w = new StringWriter(16 * 1024);
        try {
            TextFormat.write004(w, registry.metricFamilySamples());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }
}
