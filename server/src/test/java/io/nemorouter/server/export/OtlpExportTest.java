package io.nemorouter.server.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code type = otlp} against a local stand-in for an OpenTelemetry collector, which decodes the
 * OTLP/HTTP protobuf it receives: a server span per call with the GenAI attributes, a client span per
 * attempt, the client's {@code traceparent} continued and a new one sent upstream, retries.
 */
class OtlpExportTest extends ExportTestSupport {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String CLIENT_SPAN = "00f067aa0ba902b7";
    static final String MASTER = "sk-master-otlp-test-0123456789";

    /** A collector's OTLP/HTTP traces endpoint: keeps the spans of each request it answers 200, after the statuses given. */
    static final class Collector extends LocalReceiver {
        final ConcurrentLinkedQueue<ExportTraceServiceRequest> accepted = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> apiKeys = new ConcurrentLinkedQueue<>();

        Collector(Integer... statuses) throws IOException {
            super(0, "/v1/traces", List.of(statuses), 2);
        }

        String url() {
            return base() + "/v1/traces";
        }

        @Override
        void handle(HttpExchange ex) throws IOException {
            byte[] body = ex.getRequestBody().readAllBytes();
            int status = nextStatus();
            if (status == 200) {
                assertEquals("application/x-protobuf", ex.getRequestHeaders().getFirst("content-type"));
                accepted.add(ExportTraceServiceRequest.parseFrom(body));
                apiKeys.add(String.valueOf(ex.getRequestHeaders().getFirst("x-api-key")));
                byte[] ok = ExportTraceServiceRequest.getDefaultInstance().toByteArray(); // an empty ExportTraceServiceResponse
                ex.getResponseHeaders().add("content-type", "application/x-protobuf");
                ex.sendResponseHeaders(200, ok.length == 0 ? -1 : ok.length);
            } else {
                ex.sendResponseHeaders(status, -1);
            }
            ex.close();
        }

        /** Every span received, with the resource it came under. */
        List<Received> spans() {
            List<Received> out = new ArrayList<>();
            for (ExportTraceServiceRequest req : accepted) {
                for (ResourceSpans rs : req.getResourceSpansList()) {
                    for (ScopeSpans ss : rs.getScopeSpansList()) {
                        for (Span s : ss.getSpansList()) {
                            out.add(new Received(s, rs.getResource()));
                        }
                    }
                }
            }
            return out;
        }
    }

    record Received(Span span, Resource resource) {
        String traceId() {
            return HexFormat.of().formatHex(span.getTraceId().toByteArray());
        }

        String spanId() {
            return HexFormat.of().formatHex(span.getSpanId().toByteArray());
        }

        String parentSpanId() {
            return HexFormat.of().formatHex(span.getParentSpanId().toByteArray());
        }

        Map<String, AnyValue> attributes() {
            Map<String, AnyValue> out = new HashMap<>();
            for (KeyValue kv : span.getAttributesList()) {
                out.put(kv.getKey(), kv.getValue());
            }
            return out;
        }

        String text(String key) {
            AnyValue v = attributes().get(key);
            return v == null ? null : v.getStringValue();
        }

        long number(String key) {
            return attributes().get(key).getIntValue();
        }

        String resource(String key) {
            for (KeyValue kv : resource.getAttributesList()) {
                if (kv.getKey().equals(key)) {
                    return kv.getValue().getStringValue();
                }
            }
            return null;
        }
    }

    private Collector collector(Integer... statuses) throws IOException {
        Collector c = new Collector(statuses);
        open.add(c);
        return c;
    }

    /** An upstream whose first answer is {@code firstStatus} (a failover follows when it is 503), then chat answers. */
    private ScriptableUpstream upstream(int firstStatus) throws InterruptedException {
        AtomicInteger calls = new AtomicInteger();
        ScriptableUpstream u = new ScriptableUpstream().otherwise((req, reply) -> {
            if (calls.getAndIncrement() == 0 && firstStatus != 200) {
                ScriptableUpstream.status(firstStatus, null).answer(req, reply);
            } else {
                ScriptableUpstream.chat("traced").answer(req, reply);
            }
        });
        open.add(u);
        return u;
    }

    private TestGateway gateway(ScriptableUpstream upstream, String exporters) throws Exception {
        TestGateway gw = TestGateway.builder().config("""
                nemo.server.drain_grace = 2s
                nemo.cache.enabled = false
                nemo.keys.master_key = "%s"
                nemo.router { num_retries = 1, retry_backoff = 10ms }
                nemo.models = [ %s ]
                nemo.exporters = [ %s ]
                """.formatted(MASTER, upstream.model("m", "gpt-4o"), exporters)).start();
        open.add(gw);
        return gw;
    }

    private static String otlp(Collector c) {
        return "{ type = otlp, endpoint = \"" + c.url() + "\", headers { x-api-key = ${?NEMO_TEST_EXPORT_SECRET} }, "
                + "service_name = gw-test, flush_interval = 100ms, retry_backoff = 50ms }";
    }

    private static HttpResponse<String> chat(TestGateway gw, String... more) throws Exception {
        List<String> headers = new ArrayList<>(List.of("authorization", "Bearer " + MASTER));
        headers.addAll(List.of(more));
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"metadata\":{\"job_id\":\"invoices-0418\",\"stage\":\"extract\"}}", headers.toArray(String[]::new));
        assertEquals(200, r.statusCode(), r.body());
        return r;
    }


    private static Received only(List<Received> spans, Span.SpanKind kind) {
        List<Received> of = spans.stream().filter(s -> s.span().getKind() == kind).toList();
        assertEquals(1, of.size(), "one " + kind + " span: " + of);
        return of.get(0);
    }

    @Test
    void aFailedOverCallIsAServerSpanWithTheGenAiAttributesAndAClientSpanPerAttemptInTheClientsTrace() throws Exception {
        Collector collector = collector();
        ScriptableUpstream upstream = upstream(503);
        TestGateway gw = gateway(upstream, otlp(collector));
        HttpResponse<String> r = chat(gw, "traceparent", "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01", "tracestate", "vendor=abc");
        assertEquals("1", r.headers().firstValue("x-nemo-fallbacks").orElse(""), "a failed attempt, then one that answered");
        JsonNode usage = JSON.readTree(r.body()).get("usage");
        double cost = Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElseThrow());
        String deployment = r.headers().firstValue("x-nemo-model").orElseThrow();

        await("3 spans", () -> collector.spans().size() >= 3);
        List<Received> spans = collector.spans();
        assertEquals(3, spans.size(), spans.toString());
        Received server = only(spans, Span.SpanKind.SPAN_KIND_SERVER);
        assertEquals(CLIENT_TRACE, server.traceId(), "the client's trace, continued");
        assertEquals(CLIENT_SPAN, server.parentSpanId(), "under the client's span");
        assertEquals("chat m", server.span().getName());
        assertEquals("chat", server.text("gen_ai.operation.name"));
        assertEquals("openai", server.text("gen_ai.system"));
        assertEquals("m", server.text("gen_ai.request.model"));
        assertEquals(deployment, server.text("gen_ai.response.model"));
        assertEquals(usage.get("prompt_tokens").asLong(), server.number("gen_ai.usage.input_tokens"));
        assertEquals(usage.get("completion_tokens").asLong(), server.number("gen_ai.usage.output_tokens"));
        assertEquals(cost, server.attributes().get("nemo.cost_usd").getDoubleValue(), 1e-12);
        assertTrue(cost > 0, "priced");
        assertEquals("bypass", server.text("nemo.cache"));
        assertEquals("invoices-0418", server.text("nemo.job_id"));
        assertEquals("extract", server.text("nemo.stage"));
        assertEquals(200, server.number("http.response.status_code"));
        assertEquals(1, server.number("nemo.fallbacks"));
        assertEquals(r.headers().firstValue("x-request-id").orElseThrow(), server.text("nemo.request_id"));
        assertNotEquals(Status.StatusCode.STATUS_CODE_ERROR, server.span().getStatus().getCode());
        assertEquals("gw-test", server.resource("service.name"));
        assertFalse(server.resource("host.name").isEmpty());
        assertTrue(server.span().getEndTimeUnixNano() > server.span().getStartTimeUnixNano());

        List<Received> clients = spans.stream().filter(s -> s.span().getKind() == Span.SpanKind.SPAN_KIND_CLIENT).toList();
        assertEquals(2, clients.size(), "a client span per attempt");
        List<ScriptableUpstream.Request> sent = upstream.received();
        assertEquals(2, sent.size());
        for (Received c : clients) {
            assertEquals(CLIENT_TRACE, c.traceId());
            assertEquals(server.spanId(), c.parentSpanId(), "an attempt is a child of the gateway's span");
            assertTrue(c.span().getStartTimeUnixNano() >= server.span().getStartTimeUnixNano()
                    && c.span().getEndTimeUnixNano() <= server.span().getEndTimeUnixNano(), "within the server span");
        }
        Received first = clients.stream().filter(s -> s.number("nemo.attempt") == 1).findFirst().orElseThrow();
        Received second = clients.stream().filter(s -> s.number("nemo.attempt") == 2).findFirst().orElseThrow();
        assertEquals(503, first.number("http.response.status_code"));
        assertEquals(Status.StatusCode.STATUS_CODE_ERROR, first.span().getStatus().getCode());
        assertEquals(200, second.number("http.response.status_code"));
        assertEquals(deployment, second.text("nemo.deployment"));
        assertTrue(second.span().getStartTimeUnixNano() >= first.span().getEndTimeUnixNano(), "the retry follows the failure");
        // what went upstream: each attempt's own traceparent, in the client's trace, with its client span's id
        assertEquals(List.of("00-" + CLIENT_TRACE + "-" + first.spanId() + "-01"), sent.get(0).headers().getAll("traceparent"));
        assertEquals(List.of("00-" + CLIENT_TRACE + "-" + second.spanId() + "-01"), sent.get(1).headers().getAll("traceparent"));
        assertEquals("vendor=abc", sent.get(1).headers().get("tracestate"), "tracestate goes on as received");
        assertEquals(List.of(ExportTest.SECRET), List.copyOf(collector.apiKeys), "the configured headers, from the environment");

        JsonNode logged = gw.awaitLogs(1, MASTER).get(0);
        assertEquals(CLIENT_TRACE, logged.get("trace_id").asText(), "the ids are in the request log's record too");
        assertEquals(server.spanId(), logged.get("span_id").asText());
        assertEquals(CLIENT_SPAN, logged.get("parent_span_id").asText());
        assertEquals(second.spanId(), logged.at("/attempts/1/span_id").asText());
    }

    @Test
    void withoutAValidTraceparentACallStartsItsOwnTraceAndStillSendsOneUpstream() throws Exception {
        Collector collector = collector();
        ScriptableUpstream upstream = upstream(200);
        TestGateway gw = gateway(upstream, otlp(collector));
        chat(gw);
        for (String bad : List.of("00-00000000000000000000000000000000-" + CLIENT_SPAN + "-01", "01-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01",
                "00-" + CLIENT_TRACE.toUpperCase() + "-" + CLIENT_SPAN + "-01")) {
            chat(gw, "traceparent", bad);
        }
        await("4 calls' spans", () -> collector.spans().size() >= 8);
        List<Received> spans = collector.spans();
        assertEquals(8, spans.size());
        List<String> traces = new ArrayList<>();
        for (Received s : spans) {
            if (s.span().getKind() == Span.SpanKind.SPAN_KIND_SERVER) {
                assertTrue(s.span().getParentSpanId().isEmpty(), "a root span: " + s.parentSpanId());
                assertNotEquals(CLIENT_TRACE, s.traceId());
                traces.add(s.traceId());
            }
        }
        assertEquals(4, traces.stream().distinct().count(), "a new trace each");
        for (int i = 0; i < 4; i++) {
            String traceparent = upstream.received().get(i).headers().get("traceparent");
            assertTrue(traceparent.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"), traceparent);
            assertTrue(traces.contains(traceparent.substring(3, 35)), "upstream, the gateway's trace: " + traceparent);
        }
    }

    @Test
    void aCallInATraceTheClientDoesNotSampleIsNotExportedButItsTraceGoesOnUpstream() throws Exception {
        Collector collector = collector();
        ScriptableUpstream upstream = upstream(200);
        TestGateway gw = gateway(upstream, otlp(collector));
        chat(gw, "traceparent", "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-00");
        String sampled = chat(gw).headers().firstValue("x-request-id").orElseThrow();
        await("the sampled call's spans", () -> collector.spans().size() >= 2);
        Thread.sleep(300);
        List<Received> spans = collector.spans();
        assertEquals(2, spans.size(), "only the sampled call's");
        assertEquals(sampled, only(spans, Span.SpanKind.SPAN_KIND_SERVER).text("nemo.request_id"));
        String traceparent = upstream.received().get(0).headers().get("traceparent");
        assertTrue(traceparent.startsWith("00-" + CLIENT_TRACE + "-") && traceparent.endsWith("-00")
                && !traceparent.contains(CLIENT_SPAN), "the client's trace and flags, the attempt's span: " + traceparent);
    }

    @Test
    void withoutAnOtlpExporterNoTraceparentGoesUpstreamAndTheRecordHasNoIds() throws Exception {
        ExportTest.Receiver hook = new ExportTest.Receiver();
        open.add(hook);
        ScriptableUpstream upstream = upstream(200);
        TestGateway gw = gateway(upstream, "{ type = webhook, url = \"" + hook.url("/hook") + "\", flush_interval = 100ms }");
        chat(gw);
        assertNull(upstream.last().headers().get("traceparent"));
        JsonNode logged = gw.awaitLogs(1, MASTER).get(0);
        assertFalse(logged.has("trace_id") || logged.has("span_id"), logged.toString());
        assertFalse(logged.at("/attempts/0").has("span_id"));
    }

    @Test
    void aCollectorThatFailsOnceGetsEverySpanOnce() throws Exception {
        Collector collector = collector(503);
        ScriptableUpstream upstream = upstream(200);
        TestGateway gw = gateway(upstream, otlp(collector).replace("flush_interval = 100ms", "flush_interval = 300ms"));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(chat(gw).headers().firstValue("x-request-id").orElseThrow());
        }
        await("every call's spans", () -> collector.spans().size() >= 6);
        Thread.sleep(300); // nothing more arrives
        List<Received> spans = collector.spans();
        assertEquals(6, spans.size(), "each span once: " + spans.size());
        assertTrue(collector.calls.get() >= 2, "the 503 was retried");
        List<String> exported = spans.stream().filter(s -> s.span().getKind() == Span.SpanKind.SPAN_KIND_SERVER)
                .map(s -> s.text("nemo.request_id")).sorted().toList();
        assertEquals(ids.stream().sorted().toList(), exported);
    }

    @Test
    void aCollectorsRefusalIsNotRetriedAndTheAliasNamesTheSameExporter() throws Exception {
        Collector collector = collector(400);
        ScriptableUpstream upstream = upstream(200);
        TestGateway gw = gateway(upstream, otlp(collector).replace("type = otlp", "type = opentelemetry"));
        chat(gw);
        await("the refusal counted", () -> metrics(gw).contains("nemo_export_records_total{exporter=\"opentelemetry\",result=\"refused\",} 1.0"));
        assertEquals(1, collector.calls.get(), "a 400 is not retried");
    }

    private static String metrics(TestGateway gw) {
        try {
            return gw.get("/metrics").body();
        } catch (Exception e) {
            return "";
        }
    }

    @Test
    void headersAreSecretsFromTheEnvironmentAndMustBeAnObject() throws Exception {
        ScriptableUpstream upstream = upstream(200);
        ConfigError inFile = assertThrows(ConfigError.class, () -> gateway(upstream,
                "{ type = otlp, headers { x-api-key = \"written-in-the-file\" } }"));
        assertTrue(inFile.getMessage().contains("nemo.exporters.0.headers.x-api-key"), inFile.getMessage());
        assertTrue(inFile.getMessage().contains("from the environment"), inFile.getMessage());
        ConfigError notAnObject = assertThrows(ConfigError.class, () -> gateway(upstream, "{ type = otlp, headers = ${?NEMO_TEST_EXPORT_SECRET} }"));
        assertTrue(notAnObject.getMessage().contains("headers"), notAnObject.getMessage());
    }
}
