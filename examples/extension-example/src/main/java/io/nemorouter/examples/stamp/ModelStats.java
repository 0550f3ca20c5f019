package io.nemorouter.examples.stamp;

import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.CompletionObserver;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.Usage;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Requests and tokens per model, from every finished exchange: counted for Prometheus
 * ({@code nemo_stamp_requests_total}, {@code nemo_stamp_tokens_total}) and kept for
 * {@code GET /stamp/stats}. The usage of a streamed answer comes from its usage event, which the
 * gateway asks the upstream for even when the client did not. Thread-safe: observers run on every
 * event loop; counting is a few adds, quick enough for the request's own thread.
 */
final class ModelStats implements CompletionObserver {
    private record Counts(LongAdder requests, LongAdder promptTokens, LongAdder completionTokens) {
        Counts() {
            this(new LongAdder(), new LongAdder(), new LongAdder());
        }
    }

    private final Map<String, Counts> byModel = new ConcurrentHashMap<>();
    private final Counter requests;
    private final Counter tokens;

    ModelStats(CollectorRegistry registry) {
        requests = Counter.build("nemo_stamp_requests_total", "Requests finished, by the model asked for (example extension)")
                .labelNames("model").register(registry);
        tokens = Counter.build("nemo_stamp_tokens_total", "Tokens used, by model and kind (example extension)")
                .labelNames("model", "kind").register(registry);
    }

    @Override
    public void onComplete(Completion c) {
        String model = c.requestedModel();
        if (model == null) {
            return; // health, metrics, routes: not a model's request
        }
        Counts counts = byModel.computeIfAbsent(model, m -> new Counts());
        counts.requests.increment();
        requests.labels(model).inc();
        Usage u = c.usage();
        if (u != null) {
            counts.promptTokens.add(u.promptTokens());
            counts.completionTokens.add(u.completionTokens());
            tokens.labels(model, "prompt").inc(u.promptTokens());
            tokens.labels(model, "completion").inc(u.completionTokens());
        }
    }

    /** The route handler: {@code {"models":{"gpt":{"requests":3,"prompt_tokens":30,"completion_tokens":15}}}}. */
    void answer(Exchange exchange) {
        StringBuilder json = new StringBuilder("{\"models\":{");
        boolean first = true;
        for (var e : new TreeMap<>(byModel).entrySet()) {
            Counts n = e.getValue();
            json.append(first ? "" : ",").append('"').append(e.getKey().replace("\\", "\\\\").replace("\"", "\\\""))
                    .append("\":{\"requests\":").append(n.requests.sum())
                    .append(",\"prompt_tokens\":").append(n.promptTokens.sum())
                    .append(",\"completion_tokens\":").append(n.completionTokens.sum()).append('}');
            first = false;
        }
        byte[] body = json.append("}}").toString().getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                exchange.alloc().buffer(body.length).writeBytes(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        exchange.respond(r);
    }
}
