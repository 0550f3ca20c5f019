package io.nemorouter.filters.export;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.filters.accounting.TraceIds;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A request-log record as spans, following the OpenTelemetry GenAI semantic conventions: a SERVER
 * span for the gateway's handling of the call ({@code chat gemini-2.5-flash}: operation, provider,
 * requested and answering model, token usage; the cost, cache decision, key, team, job and stage as
 * {@code nemo.*}), the client's span as its parent when it sent a {@code traceparent}, and a CLIENT
 * span under it for each attempt on an upstream (the id that went upstream in {@code traceparent}).
 * Timestamps come from the record: it ended at {@code ts} and took {@code total_ms}; each attempt
 * began {@code start_ms} after the request arrived and took {@code ms}.
 */
final class RecordSpans {
    static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("gen_ai.system");
    static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("gen_ai.provider.name");
    static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
    static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
    static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
    static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<Double> COST = AttributeKey.doubleKey("nemo.cost_usd");
    static final AttributeKey<String> CACHE = AttributeKey.stringKey("nemo.cache");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("nemo.request_id");
    static final AttributeKey<String> KEY_ALIAS = AttributeKey.stringKey("nemo.key_alias");
    static final AttributeKey<String> TEAM_ID = AttributeKey.stringKey("nemo.team_id");
    static final AttributeKey<String> JOB_ID = AttributeKey.stringKey("nemo.job_id");
    static final AttributeKey<String> STAGE = AttributeKey.stringKey("nemo.stage");
    static final AttributeKey<Long> FALLBACKS = AttributeKey.longKey("nemo.fallbacks");
    static final AttributeKey<Boolean> STREAM = AttributeKey.booleanKey("nemo.stream");
    static final AttributeKey<String> DEPLOYMENT = AttributeKey.stringKey("nemo.deployment");
    static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("nemo.attempt");

    private final Resource resource;
    private final InstrumentationScopeInfo scope = InstrumentationScopeInfo.create("io.nemorouter");

    RecordSpans(String serviceName, String hostname) {
        this.resource = Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), serviceName,
                AttributeKey.stringKey("host.name"), hostname));
    }

    /** The record's spans, server span first; none when the client's trace is not sampled. */
    void add(ExportRecord r, List<SpanData> out) {
        JsonNode j = r.json();
        if (j.has("trace_sampled") && !j.get("trace_sampled").asBoolean()) {
            return; // the client's trace is not sampled: neither is its call through the gateway
        }
        String traceId = r.text("trace_id");
        String spanId = r.text("span_id");
        if (traceId == null || spanId == null) { // refused before the tracing filter ran: a trace of its own
            ThreadLocalRandom random = ThreadLocalRandom.current();
            traceId = TraceIds.hex(random.nextLong()) + TraceIds.hex(random.nextLong() | 1);
            spanId = TraceIds.hex(random.nextLong() | 1);
        }
        SpanContext server = SpanContext.create(traceId, spanId, TraceFlags.getSampled(), TraceState.getDefault());
        String parentId = r.text("parent_span_id");
        SpanContext parent = parentId == null ? SpanContext.getInvalid()
                : SpanContext.createFromRemoteParent(traceId, parentId, TraceFlags.getSampled(), TraceState.getDefault());
        long end = r.timeMillis() * 1_000_000L;
        long start = end - nanos(j.path("total_ms").asDouble());
        String operation = operation(r.text("endpoint"));
        String model = r.text("model");
        int status = j.path("status").asInt();

        AttributesBuilder a = Attributes.builder();
        a.put(OPERATION, operation);
        put(a, SYSTEM, r.text("provider"));
        put(a, PROVIDER, r.text("provider"));
        put(a, REQUEST_MODEL, model);
        put(a, RESPONSE_MODEL, r.text("deployment"));
        a.put(INPUT_TOKENS, j.path("input_tokens").asLong());
        a.put(OUTPUT_TOKENS, j.path("output_tokens").asLong());
        a.put(COST, j.path("cost").asDouble());
        put(a, CACHE, r.text("cache"));
        put(a, REQUEST_ID, r.id());
        put(a, KEY_ALIAS, r.text("key_alias"));
        put(a, TEAM_ID, r.text("team_id"));
        put(a, JOB_ID, r.metadata("job_id"));
        put(a, STAGE, r.metadata("stage"));
        a.put(FALLBACKS, j.path("fallbacks").asLong());
        a.put(STREAM, j.path("stream").asBoolean());
        a.put(STATUS, status);
        StatusData spanStatus = StatusData.unset();
        if (status >= 400) {
            String error = r.text("error") != null ? r.text("error") : r.text("error_type");
            put(a, ERROR_TYPE, error != null ? error : String.valueOf(status));
            spanStatus = StatusData.create(StatusCode.ERROR, error);
        }
        out.add(new RecordSpan(model == null ? operation : operation + " " + model, SpanKind.SERVER, server, parent,
                spanStatus, start, end, a.build(), resource, scope));

        int number = 0;
        for (JsonNode attempt : j.path("attempts")) {
            number++;
            out.add(attemptSpan(attempt, number, operation, server, start, end));
        }
    }

    /** One attempt as a CLIENT span under the server span. */
    private RecordSpan attemptSpan(JsonNode attempt, int number, String operation, SpanContext server, long requestStart, long requestEnd) {
        String spanId = attempt.path("span_id").asText(null);
        if (spanId == null) { // it never reached its provider (a filter refused it): an id of its own, the same if sent again
            spanId = TraceIds.hex(Long.parseUnsignedLong(server.getSpanId(), 16) ^ 0x5bd1e9955bd1e995L * number | 1);
        }
        String deployment = attempt.path("deployment").asText(null);
        long start = requestStart + nanos(attempt.path("start_ms").asDouble());
        double ms = attempt.path("ms").asDouble();
        long end = ms > 0 ? start + nanos(ms) : requestEnd;
        int status = attempt.path("status").asInt();
        String error = attempt.path("error").asText(null);

        AttributesBuilder a = Attributes.builder();
        a.put(OPERATION, operation);
        put(a, DEPLOYMENT, deployment);
        put(a, REQUEST_MODEL, deployment);
        a.put(ATTEMPT, number);
        if (status > 0) {
            a.put(STATUS, status);
        }
        StatusData spanStatus = StatusData.unset();
        if (error != null || status >= 400) {
            String type = error != null ? error : String.valueOf(status);
            a.put(ERROR_TYPE, type);
            spanStatus = StatusData.create(StatusCode.ERROR, type);
        }
        SpanContext context = SpanContext.create(server.getTraceId(), spanId, TraceFlags.getSampled(), TraceState.getDefault());
        return new RecordSpan(deployment == null ? operation : operation + " " + deployment, SpanKind.CLIENT, context, server,
                spanStatus, start, Math.max(start, end), a.build(), resource, scope);
    }

    /** The GenAI operation of an endpoint: {@code chat}, {@code embeddings}, {@code responses}; else the path. */
    static String operation(String endpoint) {
        if (endpoint == null) {
            return "chat";
        }
        return switch (endpoint) {
            case "/v1/chat/completions" -> "chat";
            case "/v1/embeddings" -> "embeddings";
            case "/v1/responses" -> "responses";
            case "/v1/completions" -> "text_completion";
            default -> endpoint;
        };
    }

    private static void put(AttributesBuilder a, AttributeKey<String> key, String value) {
        if (value != null) {
            a.put(key, value);
        }
    }

    private static long nanos(double ms) {
        return Math.round(ms * 1_000_000.0);
    }
}
