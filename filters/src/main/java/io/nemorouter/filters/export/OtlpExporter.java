package io.nemorouter.filters.export;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.opentelemetry.exporter.internal.FailedExportException;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporterBuilder;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code type = otlp} (or {@code opentelemetry}): each record as spans ({@link RecordSpans}) sent
 * over OTLP/HTTP in protobuf to a collector's {@code /v1/traces} by the OpenTelemetry SDK's
 * exporter (on the JDK's HttpClient), with the entry's {@code headers} (an API key, say). The SDK's
 * own retries are off: the export queue retries, backs off and counts, as for every exporter. The
 * request path's share (trace ids, {@code traceparent} upstream) is {@link Tracing}'s.
 */
public final class OtlpExporter implements Exporter {
    /**
     * The SDK logs each failed export at SEVERE, with a stack trace, through java.util.logging (to
     * stderr, beside the export queue's own line for the same failure, with its retry): kept quiet.
     * Held here because java.util.logging keeps its loggers by weak reference.
     */
    private static final java.util.logging.Logger SDK_EXPORT_LOG = quiet("io.opentelemetry.exporter");

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger(name);
        l.setLevel(java.util.logging.Level.OFF);
        return l;
    }

    private final OtlpHttpSpanExporter exporter;
    private final RecordSpans spans;
    private final Duration timeout;

    OtlpExporter(OtlpHttpSpanExporter exporter, RecordSpans spans, Duration timeout) {
        this.exporter = exporter;
        this.spans = spans;
        this.timeout = timeout;
    }

    @Override
    public Delivery send(List<ExportRecord> batch) {
        List<SpanData> out = new ArrayList<>(batch.size() * 2);
        for (ExportRecord r : batch) {
            spans.add(r, out);
        }
        if (out.isEmpty()) {
            return Delivery.DELIVERED; // none sampled
        }
        CompletableResultCode result = exporter.export(out).join(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (result.isSuccess()) {
            return Delivery.DELIVERED;
        }
        if (!result.isDone()) {
            return Delivery.retry("no answer within " + timeout.toMillis() + " ms", null);
        }
        return failure(result.getFailureThrowable());
    }

    /**
     * What a failed export means. The SDK reports a collector's answer as an {@code HttpExportException}
     * (in its internal package: the only way to the status code); the collector's {@code Retry-After}
     * is not exposed, so the queue's backoff applies.
     */
    static Delivery failure(Throwable t) {
        if (t instanceof FailedExportException.HttpExportException http && http.failedWithResponse()) {
            return Delivery.ofStatus(http.getResponse().getStatusCode(), null);
        }
        return Delivery.retry(t == null ? "export failed" : t.toString(), null);
    }

    @Override
    public void close() {
        exporter.shutdown().join(5, TimeUnit.SECONDS);
    }

    /** Makes OTLP exporters. */
    public static class Factory implements ExporterFactory {
        private final String type;

        public Factory() {
            this("otlp");
        }

        Factory(String type) {
            this.type = type;
        }

        @Override
        public String type() {
            return type;
        }

        @Override
        public Set<String> keys() {
            return Set.of("endpoint", "headers", "service_name");
        }

        @Override
        public Set<String> secretKeys() {
            return Set.of("headers");
        }

        @Override
        public boolean traces() {
            return true;
        }

        @Override
        public Exporter create(Config entry, ExportEnvironment env) {
            String endpoint = entry.hasPath("endpoint") ? entry.getString("endpoint") : "http://localhost:4318/v1/traces";
            HttpUrls.parse(endpoint, "endpoint");
            Duration timeout = entry.getDuration("timeout");
            OtlpHttpSpanExporterBuilder b = OtlpHttpSpanExporter.builder()
                    .setEndpoint(endpoint)
                    .setTimeout(timeout)
                    .setRetryPolicy(null) // the export queue retries
                    .setServiceClassLoader(OtlpExporter.class.getClassLoader()); // finds the JDK sender from an extension's jar too
            for (Map.Entry<String, String> h : headers(entry).entrySet()) {
                b.addHeader(h.getKey(), h.getValue());
            }
            String service = entry.hasPath("service_name") ? entry.getString("service_name") : "nemo-router";
            return new OtlpExporter(b.build(), new RecordSpans(service, env.hostname()), timeout);
        }

        /** {@code headers}: an object of header names and string values (from the environment). */
        private static Map<String, String> headers(Config entry) {
            if (!entry.hasPath("headers")) {
                return Map.of();
            }
            if (entry.getValue("headers").valueType() != ConfigValueType.OBJECT) {
                throw new IllegalArgumentException("headers: an object of header names and values, e.g. headers { x-api-key = ${?OTLP_API_KEY} }");
            }
            Map<String, String> out = new java.util.TreeMap<>();
            for (Map.Entry<String, ConfigValue> h : ((ConfigObject) entry.getValue("headers")).entrySet()) {
                if (h.getValue().valueType() != ConfigValueType.STRING) {
                    throw new IllegalArgumentException("headers: the value of " + h.getKey() + " must be a string");
                }
                out.put(h.getKey(), (String) h.getValue().unwrapped());
            }
            return out;
        }
    }

    /** {@code type = opentelemetry}: the same exporter, by its other name. */
    public static final class AliasFactory extends Factory {
        public AliasFactory() {
            super("opentelemetry");
        }
    }
}
