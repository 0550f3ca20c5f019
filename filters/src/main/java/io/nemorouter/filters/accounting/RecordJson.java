package io.nemorouter.filters.accounting;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.nemorouter.filters.keys.BudgetAlert;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The request log's line format, both ways: a {@link CallRecord} as one JSON object (field names
 * as LiteLLM's spend logs and the OpenAI usage object spell them where they exist), and a line read
 * back into a record.
 */
final class RecordJson {
    /**
     * Doubles (every record's timings and cost) written with Jackson's Schubfach writer: on Java 17,
     * {@code Double.toString} was the largest single item of the log writer's profile.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder().enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();
    private static final JsonFactory FACTORY = MAPPER.getFactory();

    private RecordJson() {
    }

    /** Writes {@code r} as one line (no newline). {@code metadata} is the record's metadata parsed, or null. */
    static void write(CallRecord r, JsonNode metadata, OutputStream out) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.writeStartObject();
            g.writeStringField("id", r.id());
            g.writeStringField("time", Instant.ofEpochMilli(r.time()).toString());
            g.writeNumberField("ts", r.time());
            g.writeStringField("endpoint", r.endpoint());
            g.writeStringField("model", r.model());
            g.writeStringField("deployment", r.deployment());
            g.writeStringField("provider", r.provider());
            g.writeStringField("key_id", r.keyId());
            g.writeStringField("key_alias", r.keyAlias());
            g.writeStringField("key_hash", r.keyHash());
            g.writeStringField("team_id", r.teamId());
            g.writeStringField("org_id", r.orgId());
            g.writeNumberField("status", r.status());
            g.writeStringField("error_type", errorType(r.status()));
            g.writeStringField("error", r.error());
            g.writeBooleanField("stream", r.stream());
            g.writeNumberField("total_ms", r.totalMs());
            g.writeNumberField("upstream_ms", r.upstreamMs());
            g.writeNumberField("ttft_ms", r.ttftMs());
            g.writeNumberField("overhead_ms", r.overheadMs());
            g.writeNumberField("input_tokens", r.inputTokens());
            g.writeNumberField("output_tokens", r.outputTokens());
            g.writeNumberField("cached_tokens", r.cachedTokens());
            g.writeBooleanField("usage_estimated", r.usageEstimated());
            g.writeNumberField("cost", r.cost());
            g.writeBooleanField("unpriced", r.unpriced());
            g.writeStringField("cache", r.cache());
            if (r.savedCost() > 0) {
                g.writeNumberField("saved_cost", r.savedCost());
            }
            g.writeNumberField("fallbacks", r.fallbacks());
            TraceIds trace = r.trace();
            byte[] hex = null; // the ids' digits, written from one array (no string per id)
            if (trace != null) {
                hex = new byte[32];
                hexField(g, "trace_id", trace.traceHigh(), trace.traceLow(), hex);
                hexField(g, "span_id", trace.spanId(), hex);
                if (trace.parentSpanId() != 0) {
                    hexField(g, "parent_span_id", trace.parentSpanId(), hex);
                }
                g.writeBooleanField("trace_sampled", trace.sampled());
            }
            if (r.variant() != null) {
                g.writeStringField("variant", r.variant());
            }
            if (r.droppedParams() != null) {
                g.writeArrayFieldStart("dropped_params");
                for (String p : r.droppedParams()) {
                    g.writeString(p);
                }
                g.writeEndArray();
            }
            if (r.budgetAlerts() != null) {
                g.writeArrayFieldStart("budget_alerts");
                for (BudgetAlert a : r.budgetAlerts()) {
                    g.writeStartObject();
                    g.writeStringField("level", a.level());
                    g.writeStringField("id", a.id());
                    g.writeNumberField("threshold", a.threshold());
                    g.writeStringField("of", a.soft() ? "soft_budget" : "max_budget");
                    g.writeNumberField("base", a.base());
                    g.writeNumberField("spend", a.spend());
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeArrayFieldStart("attempts");
            for (CallRecord.Attempt a : r.attempts()) {
                g.writeStartObject();
                g.writeStringField("deployment", a.deployment());
                g.writeNumberField("status", a.status());
                g.writeNumberField("ms", a.ms());
                g.writeStringField("error", a.error());
                if (trace != null) {
                    g.writeNumberField("start_ms", a.startMs());
                    if (a.spanId() != 0) {
                        hexField(g, "span_id", a.spanId(), hex);
                    }
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeFieldName("metadata");
            if (metadata == null) {
                g.writeNull();
            } else {
                g.writeTree(metadata);
            }
            g.writeArrayFieldStart("tags");
            for (String t : r.tags()) {
                g.writeString(t);
            }
            g.writeEndArray();
            if (r.prompt() != null) {
                g.writeStringField("prompt", r.prompt());
            }
            if (r.completion() != null) {
                g.writeStringField("completion", r.completion());
            }
            g.writeEndObject();
        }
    }

    /** The OpenAI error type a status stands for; null for a success. */
    static String errorType(int status) {
        if (status < 400) {
            return null;
        }
        return switch (status) {
            case 401 -> "authentication_error";
            case 402 -> "budget_exceeded";
            case 403 -> "permission_error";
            case 429 -> "rate_limit_error";
            case 499 -> "client_closed";
            default -> status >= 500 ? "api_error" : "invalid_request_error";
        };
    }

    /** A logged line as a record; null when it is not one (a line cut short by a crash). */
    static CallRecord read(JsonNode n) {
        if (n == null || !n.isObject() || !n.has("ts") || !n.has("status")) {
            return null;
        }
        List<CallRecord.Attempt> attempts = new ArrayList<>();
        for (JsonNode a : n.path("attempts")) {
            attempts.add(new CallRecord.Attempt(text(a, "deployment"), a.path("status").asInt(), a.path("ms").asDouble(),
                    text(a, "error"), a.path("start_ms").asDouble(), 0));
        }
        List<String> tags = new ArrayList<>();
        for (JsonNode t : n.path("tags")) {
            tags.add(t.asText());
        }
        JsonNode md = n.get("metadata");
        List<String> dropped = null;
        if (n.has("dropped_params")) {
            dropped = new ArrayList<>();
            for (JsonNode d : n.get("dropped_params")) {
                dropped.add(d.asText());
            }
        }
        return new CallRecord(text(n, "id"), n.path("ts").asLong(), text(n, "endpoint"), text(n, "model"),
                text(n, "deployment"), text(n, "provider"), text(n, "key_id"), text(n, "key_alias"), text(n, "key_hash"),
                text(n, "team_id"), text(n, "org_id"), n.path("status").asInt(), text(n, "error"), n.path("stream").asBoolean(),
                n.path("total_ms").asDouble(), n.path("upstream_ms").asDouble(), n.path("ttft_ms").asDouble(),
                n.path("overhead_ms").asDouble(), n.path("input_tokens").asLong(), n.path("output_tokens").asLong(),
                n.path("cached_tokens").asLong(), n.path("usage_estimated").asBoolean(), n.path("cost").asDouble(),
                n.path("unpriced").asBoolean(), text(n, "cache"), n.path("saved_cost").asDouble(), n.path("fallbacks").asInt(), attempts,
                md == null || md.isNull() ? null : md.toString(), tags, text(n, "prompt"), text(n, "completion"), text(n, "variant"),
                dropped, null, null); // the alerts and trace a replay does not need: it rebuilds sums
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    /** A span id's 16 hex digits as a string member (ASCII: its bytes go out as they are). */
    private static void hexField(JsonGenerator g, String name, long id, byte[] buf) throws IOException {
        TraceIds.hexInto(id, buf, 0);
        g.writeFieldName(name);
        g.writeUTF8String(buf, 0, 16);
    }

    /** A trace id's 32 hex digits as a string member. */
    private static void hexField(JsonGenerator g, String name, long high, long low, byte[] buf) throws IOException {
        TraceIds.hexInto(high, buf, 0);
        TraceIds.hexInto(low, buf, 16);
        g.writeFieldName(name);
        g.writeUTF8String(buf, 0, 32);
    }
}
