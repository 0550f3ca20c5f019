package io.nemorouter.server.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.server.GatewayProcess;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exporters against local receivers standing in for a webhook and Datadog's logs intake: payload
 * shapes, auth headers, signatures, batching, retries, a stuck receiver, the flush at shutdown.
 */
class ExportTest extends ExportTestSupport {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Set in the test JVM's environment by Surefire (server/pom.xml): exporters read secrets only from there. */
    static final String SECRET = "test-export-secret-0123456789";

    /** A local HTTP receiver that keeps what it was sent and answers with the statuses given, then 200. */
    static final class Receiver extends LocalReceiver {
        record Post(String path, com.sun.net.httpserver.Headers headers, byte[] body) {
        }

        final ConcurrentLinkedQueue<Post> posts = new ConcurrentLinkedQueue<>();
        final CountDownLatch released = new CountDownLatch(1);
        volatile boolean stuck;

        Receiver(Integer... statuses) throws IOException {
            this(0, List.of(statuses));
        }

        Receiver(int port, List<Integer> statuses) throws IOException {
            super(port, "/", statuses, 4);
        }

        String url(String path) {
            return base() + path;
        }

        @Override
        void handle(HttpExchange ex) throws IOException {
            byte[] body = ex.getRequestBody().readAllBytes();
            int status = nextStatus();
            if (stuck) {
                try {
                    released.await(30, TimeUnit.SECONDS); // never answers while the test runs
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (status == 200) {
                posts.add(new Post(ex.getRequestURI().getPath(), ex.getRequestHeaders(), body));
            }
            ex.sendResponseHeaders(status, -1);
            ex.close();
        }

        /** Every record accepted (answered 200), in arrival order. */
        List<JsonNode> records(String member) throws IOException {
            List<JsonNode> out = new ArrayList<>();
            for (Post p : posts) {
                JsonNode doc = JSON.readTree(p.body);
                (member == null ? doc : doc.get(member)).forEach(out::add);
            }
            return out;
        }

        @Override
        public void close() {
            released.countDown();
            super.close();
        }
    }

    private Receiver receiver(Integer... statuses) throws IOException {
        return closeLater(new Receiver(statuses));
    }

    private TestGateway gateway(String exporters) throws Exception {
        TestGateway gw = TestGateway.builder().config("""
                nemo.server.drain_grace = 2s
                nemo.models = [ { name = m, provider = mock, input_cost_per_mtok = 1, output_cost_per_mtok = 2 } ]
                nemo.exporters = [ %s ]
                """.formatted(exporters)).start();
        open.add(gw);
        return gw;
    }

    private static List<String> send(TestGateway gw, int n, String metadata) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi " + i
                    + "\"}]" + (metadata == null ? "" : ",\"metadata\":" + metadata + ",\"tags\":[\"batch\"]") + "}");
            assertEquals(200, r.statusCode(), r.body());
            ids.add(r.headers().firstValue("x-request-id").orElseThrow());
        }
        return ids;
    }


    private static Set<String> ids(List<JsonNode> records) {
        Set<String> out = new HashSet<>();
        for (JsonNode r : records) {
            assertTrue(out.add(r.get("id").asText()), "record " + r.get("id") + " delivered twice");
        }
        return out;
    }

    @Test
    void aWebhookGetsSignedBatchesOfTheLogsRecordsWithoutKeysOrBodies() throws Exception {
        Receiver hook = receiver();
        TestGateway gw = gateway("{ type = webhook, url = \"" + hook.url("/hook") + "\", hmac_secret = ${?NEMO_TEST_EXPORT_SECRET}, "
                + "batch_size = 3, flush_interval = 300ms }");
        List<String> sent = send(gw, 7, "{\"job_id\":\"invoices-0418\",\"stage\":\"extract\"}");

        await("7 records", () -> hook.posts.stream().mapToInt(p -> p.body.length).sum() > 0 && count(hook) == 7);
        assertEquals(Set.copyOf(sent), ids(hook.records("records")), "each call's record, once");
        for (Receiver.Post p : hook.posts) {
            assertEquals("/hook", p.path);
            assertEquals("application/json", p.headers.getFirst("content-type"));
            assertTrue(JSON.readTree(p.body).get("records").size() <= 3, "batches of at most batch_size");
            String ts = p.headers.getFirst("x-nemo-timestamp");
            assertNotNull(ts);
            assertTrue(Math.abs(Long.parseLong(ts) - System.currentTimeMillis() / 1000) < 60, "a fresh timestamp");
            assertEquals("v1=" + hmac(SECRET, ts + "." + new String(p.body, StandardCharsets.UTF_8)), p.headers.getFirst("x-nemo-signature"));
        }
        assertTrue(hook.posts.size() >= 3, "7 records in batches of 3: at least 3 posts, got " + hook.posts.size());
        JsonNode r = hook.records("records").get(0);
        assertEquals("m", r.get("model").asText());
        assertEquals("invoices-0418", r.at("/metadata/job_id").asText());
        assertTrue(r.get("cost").asDouble() > 0, "priced");
        assertFalse(r.has("key_hash"), "no key material");
        assertFalse(r.has("prompt") || r.has("completion"), "no bodies unless asked");
    }

    private static int count(Receiver r) {
        return count(r, "records");
    }

    /** Records accepted so far; -1 while a body cannot be read. */
    private static int count(Receiver r, String member) {
        try {
            return r.records(member).size();
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void aReceiverThatFailsThenRecoversGetsEveryRecordExactlyOnce() throws Exception {
        Receiver hook = receiver(500, 503, 429);
        TestGateway gw = gateway("{ type = webhook, url = \"" + hook.url("/") + "\", batch_size = 2, flush_interval = 50ms, retry_backoff = 20ms }");
        List<String> sent = send(gw, 5, null);
        await("5 records", () -> count(hook) == 5);
        Thread.sleep(300); // nothing more arrives: no duplicate from a retry
        assertEquals(Set.copyOf(sent), ids(hook.records("records")));
        assertTrue(hook.calls.get() >= 3 + 3, "three refusals retried: " + hook.calls.get());
        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.contains("nemo_export_records_total{exporter=\"webhook\",result=\"delivered\",} 5.0"), metrics);
        assertTrue(metrics.contains("nemo_export_retries_total{exporter=\"webhook\",} 3.0"), metrics);
    }

    @Test
    void aStuckReceiverSlowsNothingAndItsFullQueueDropsWithTheMetric() throws Exception {
        Receiver stuck = receiver();
        stuck.stuck = true;
        TestGateway gw = gateway("{ type = webhook, name = stuck, url = \"" + stuck.url("/") + "\", batch_size = 1, queue_capacity = 4, "
                + "flush_interval = 10ms, timeout = 30s }");
        long start = System.nanoTime();
        send(gw, 40, null); // every request answered while the receiver holds the first batch
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(15), "the gateway kept answering");
        await("dropped records counted", () -> {
            try {
                String m = gw.get("/metrics").body();
                return m.contains("nemo_export_records_total{exporter=\"stuck\",result=\"dropped\",} 3") // 35 of 40 at least
                        && m.contains("nemo_export_queued{exporter=\"stuck\",} 4.0");
            } catch (Exception e) {
                return false;
            }
        });
        assertEquals(1, stuck.calls.get(), "one batch in flight, the rest waiting or dropped");
    }

    @Test
    void datadogGetsOneLogPerRecordWithItsKeyTagsAndStatus() throws Exception {
        Receiver dd = receiver();
        TestGateway gw = gateway("{ type = datadog, url = \"" + dd.url("/api/v2/logs") + "\", api_key = ${?NEMO_TEST_EXPORT_SECRET}, "
                + "service = invoices, tags = [\"env:test\"], flush_interval = 50ms }");
        List<String> sent = send(gw, 2, "{\"job_id\":\"invoices-0418\",\"stage\":\"extract\"}");
        HttpResponse<String> refused = gw.post("/v1/chat/completions", "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertTrue(refused.statusCode() >= 400);
        await("3 logs", () -> count(dd, null) == 3);
        for (Receiver.Post p : dd.posts) {
            assertEquals(SECRET, p.headers.getFirst("dd-api-key"));
            assertEquals("/api/v2/logs", p.path);
        }
        List<JsonNode> logs = dd.records(null);
        JsonNode ok = logs.stream().filter(l -> l.at("/nemo/id").asText().equals(sent.get(0))).findFirst().orElseThrow();
        assertEquals("nemo-router", ok.get("ddsource").asText());
        assertEquals("invoices", ok.get("service").asText());
        assertEquals("info", ok.get("status").asText());
        assertFalse(ok.get("hostname").asText().isEmpty());
        Set<String> tags = Set.of(ok.get("ddtags").asText().split(","));
        assertTrue(tags.containsAll(Set.of("env:test", "model:m", "provider:mock", "job_id:invoices-0418", "stage:extract", "tag:batch")), tags.toString());
        assertEquals(200, ok.at("/nemo/status").asInt());
        JsonNode failed = logs.stream().filter(l -> l.at("/nemo/status").asInt() >= 400).findFirst().orElseThrow();
        assertEquals("error", failed.get("status").asText());
    }

    @Test
    void langfuseGetsATraceAndAGenerationPerCallWithUsageCostAndTheKeyAsUser() throws Exception {
        Receiver lf = receiver();
        String master = "sk-master-export-0123456789";
        TestGateway gw = TestGateway.builder().config("""
                nemo.keys.master_key = "%s"
                nemo.log.bodies = true
                nemo.models = [ { name = m, provider = mock, input_cost_per_mtok = 1, output_cost_per_mtok = 2 } ]
                nemo.exporters = [ { type = langfuse, host = "%s", public_key = ${?NEMO_TEST_EXPORT_SECRET},
                                     secret_key = ${?NEMO_TEST_EXPORT_SECRET}, environment = test, flush_interval = 50ms,
                                     include_bodies = true } ]
                """.formatted(master, lf.url("/lf/"))).start();
        open.add(gw);
        String key = JSON.readTree(gw.post("/key/generate", "{\"key_alias\":\"invoices-batch\"}", "authorization", "Bearer " + master).body())
                .get("key").asText();
        HttpResponse<String> r = gw.post("/v1/chat/completions", "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"metadata\":{\"job_id\":\"invoices-0418\"},\"tags\":[\"batch\"]}", "authorization", "Bearer " + key);
        assertEquals(200, r.statusCode(), r.body());
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        await("one batch", () -> lf.posts.size() == 1);
        Receiver.Post p = lf.posts.peek();
        assertEquals("/lf/api/public/ingestion", p.path);
        assertEquals("Basic " + java.util.Base64.getEncoder().encodeToString((SECRET + ":" + SECRET).getBytes(StandardCharsets.UTF_8)),
                p.headers.getFirst("authorization"));
        JsonNode batch = JSON.readTree(p.body).get("batch");
        assertEquals(2, batch.size());
        JsonNode trace = batch.get(0);
        assertEquals("trace-create", trace.get("type").asText());
        assertEquals(id + "-trace", trace.get("id").asText(), "event ids from the record: a resent batch is deduplicated");
        assertEquals(id, trace.at("/body/id").asText());
        assertEquals("invoices-batch", trace.at("/body/userId").asText());
        assertEquals("invoices-0418", trace.at("/body/metadata/job_id").asText());
        assertEquals("batch", trace.at("/body/tags/0").asText());
        assertEquals("test", trace.at("/body/environment").asText());
        assertEquals("hi", trace.at("/body/input/0/content").asText(), "the messages, bodies included");
        JsonNode gen = batch.get(1);
        assertEquals("generation-create", gen.get("type").asText());
        assertEquals(id, gen.at("/body/traceId").asText());
        assertEquals("m", gen.at("/body/model").asText());
        assertTrue(gen.at("/body/usageDetails/input").asLong() > 0 && gen.at("/body/usageDetails/output").asLong() > 0, gen.toString());
        assertEquals(gen.at("/body/usageDetails/input").asLong() + gen.at("/body/usageDetails/output").asLong(), gen.at("/body/usageDetails/total").asLong());
        assertTrue(gen.at("/body/costDetails/total").asDouble() > 0);
        assertTrue(java.time.Instant.parse(gen.at("/body/startTime").asText()).isBefore(java.time.Instant.parse(gen.at("/body/endTime").asText()).plusMillis(1)));
        assertTrue(gen.at("/body/completionStartTime").isTextual(), "a stream's first token time");
        assertFalse(gen.at("/body/output").asText().isEmpty());
    }

    @Test
    void crossingABudgetThresholdSendsOneAlertPerThresholdNotOnePerRequest() throws Exception {
        Receiver hook = receiver();
        // a Slack URL is a secret, so it comes from the environment: Surefire sets it to this port (server/pom.xml)
        Receiver slack = new Receiver(java.net.URI.create(System.getenv("NEMO_TEST_SLACK_URL")).getPort(), List.of());
        open.add(slack);
        String master = "sk-master-export-0123456789";
        TestGateway gw = TestGateway.builder().config("""
                nemo.keys.master_key = "%s"
                nemo.models = [ { name = m, provider = mock, input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 } ]
                nemo.alerts = [ { type = webhook, url = "%s", hmac_secret = ${?NEMO_TEST_EXPORT_SECRET}, flush_interval = 50ms },
                                { type = slack, url = ${?NEMO_TEST_SLACK_URL}, flush_interval = 50ms } ]
                """.formatted(master, hook.url("/alerts"))).start();
        open.add(gw);
        String auth = "Bearer " + master;
        String key = JSON.readTree(gw.post("/key/generate", "{\"key_alias\":\"seat-7\"}", "authorization", auth).body()).get("key").asText();
        HttpResponse<String> first = gw.post("/v1/chat/completions", TestGateway.chat("m", false), "authorization", "Bearer " + key);
        double cost = Double.parseDouble(first.headers().firstValue("x-nemo-response-cost").orElseThrow());
        assertTrue(cost > 0);
        // a soft budget of ten calls: alerts at 50% and 80%, not a refusal at 100%
        assertEquals(200, gw.post("/key/update", "{\"key\":\"" + key + "\",\"soft_budget\":" + cost * 10 + ",\"alert_thresholds\":[50,80]}",
                "authorization", auth).statusCode());
        var pool = Executors.newFixedThreadPool(4);
        List<java.util.concurrent.Future<Integer>> calls = new ArrayList<>();
        for (int i = 0; i < 14; i++) {
            calls.add(pool.submit(() -> gw.post("/v1/chat/completions", TestGateway.chat("m", false), "authorization", "Bearer " + key).statusCode()));
        }
        for (var c : calls) {
            assertEquals(200, c.get(), "a soft budget refuses nothing");
        }
        pool.shutdown();
        await("two alerts", () -> count(hook, "alerts") == 2);
        Thread.sleep(300);
        List<JsonNode> alerts = hook.records("alerts");
        assertEquals(2, alerts.size(), "one per threshold, however many calls passed it: " + alerts);
        assertEquals(Set.of(50, 80), Set.of(alerts.get(0).get("threshold").asInt(), alerts.get(1).get("threshold").asInt()));
        JsonNode eighty = alerts.stream().filter(a -> a.get("threshold").asInt() == 80).findFirst().orElseThrow();
        assertEquals("budget_alert", eighty.get("type").asText());
        assertEquals("key", eighty.get("level").asText());
        assertEquals("seat-7", eighty.get("alias").asText());
        assertEquals("soft_budget", eighty.get("of").asText());
        assertEquals(cost * 10, eighty.get("base").asDouble(), 1e-9);
        assertTrue(eighty.get("spend").asDouble() >= cost * 8 - 1e-9, eighty.toString());
        await("the Slack message", () -> !slack.posts.isEmpty());
        String text = slack.posts.stream().map(post -> {
            try {
                return JSON.readTree(post.body).get("text").asText();
            } catch (IOException e) {
                return "";
            }
        }).reduce("", (a, b) -> a + "\n" + b);
        assertTrue(text.contains("key *seat-7* has spent $") && text.contains("80% of its soft budget"), text);
        assertEquals(2, text.strip().lines().count(), text);
        Receiver.Post p = hook.posts.peek();
        assertEquals("v1=" + hmac(SECRET, p.headers.getFirst("x-nemo-timestamp") + "." + new String(p.body, StandardCharsets.UTF_8)),
                p.headers.getFirst("x-nemo-signature"));

        JsonNode log = gw.awaitLogs(15, master);
        List<JsonNode> crossing = new ArrayList<>();
        log.forEach(r -> { if (r.has("budget_alerts")) crossing.add(r); });
        assertEquals(2, crossing.size(), "the calls that crossed carry their alert in the log");
        assertEquals(eighty.get("request_id").asText(), crossing.stream().filter(r -> r.at("/budget_alerts/0/threshold").asInt() == 80)
                .findFirst().orElseThrow().get("id").asText());
        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.contains("nemo_budget_alerts_total{level=\"key\",threshold=\"80\",} 1.0"), metrics);
        // more calls in the same period: no more alerts
        gw.post("/v1/chat/completions", TestGateway.chat("m", false), "authorization", "Bearer " + key);
        Thread.sleep(300);
        assertEquals(2, count(hook, "alerts"));
        JsonNode info = JSON.readTree(gw.get("/key/info?key=" + key, "authorization", auth).body()).get("info");
        assertEquals(cost * 10, info.get("soft_budget").asDouble(), 1e-9);
        assertEquals("[50,80]", info.get("alert_thresholds").toString());
    }

    @Test
    void metadataMembersCanBeMaskedAndBodiesSentWhenAsked() throws Exception {
        Receiver hook = receiver();
        TestGateway gw = TestGateway.builder().config("""
                nemo.models = [ { name = m, provider = mock } ]
                nemo.log.bodies = true
                nemo.exporters = [ { type = webhook, url = "%s", flush_interval = 50ms, include_bodies = true, mask_metadata = [customer] },
                                   { type = webhook, name = plain, url = "%s", flush_interval = 50ms } ]
                """.formatted(hook.url("/full"), hook.url("/plain"))).start();
        open.add(gw);
        send(gw, 1, "{\"job_id\":\"j\",\"customer\":\"ACME Corp\"}");
        await("2 posts", () -> hook.posts.size() == 2);
        for (Receiver.Post p : hook.posts) {
            JsonNode r = JSON.readTree(p.body).get("records").get(0);
            if (p.path.equals("/full")) {
                assertEquals("***", r.at("/metadata/customer").asText());
                assertTrue(r.get("prompt").asText().contains("hi 0"), r.toString());
                assertTrue(r.has("completion"));
            } else {
                assertEquals("ACME Corp", r.at("/metadata/customer").asText(), "masking is per exporter");
                assertFalse(r.has("prompt"));
            }
            assertEquals("j", r.at("/metadata/job_id").asText());
        }
    }

    @Test
    void aSecretWrittenInTheFileAndUnknownKeysStopTheStart() {
        ConfigError secret = assertThrows(ConfigError.class, () -> gateway("{ type = webhook, url = \"http://127.0.0.1:9/\", hmac_secret = \"in-the-file\" }"));
        assertTrue(secret.getMessage().contains("nemo.exporters.0.hmac_secret") && secret.getMessage().contains("environment"), secret.getMessage());
        ConfigError type = assertThrows(ConfigError.class, () -> gateway("{ type = splunk }"));
        assertTrue(type.getMessage().contains("unknown exporter type \"splunk\""), type.getMessage());
        ConfigError key = assertThrows(ConfigError.class, () -> gateway("{ type = webhook, url = \"http://127.0.0.1:9/\", batchsize = 3 }"));
        assertTrue(key.getMessage().contains("nemo.exporters.0.batchsize"), key.getMessage());
        ConfigError url = assertThrows(ConfigError.class, () -> gateway("{ type = webhook, url = \"ftp://x\" }"));
        assertTrue(url.getMessage().contains("nemo.exporters.0.url"), url.getMessage());
    }

    /** SIGTERM: the gateway drains, the log writes its last records, and the exporters send them before it exits. */
    @Test
    void sigtermFlushesWhatIsQueued() throws Exception {
        Receiver hook = receiver();
        Path dir = Files.createTempDirectory("nemo-export");
        Path conf = dir.resolve("gw.conf");
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(conf, """
                nemo {
                  server { host = "127.0.0.1", warmup = 0s }
                  data_dir = "%s"
                  keys.store_entries = 1000
                  models = [ { name = m, provider = mock } ]
                  exporters = [ { type = webhook, url = "%s", batch_size = 1000, flush_interval = 1h } ]
                }
                """.formatted(dir.resolve("data"), hook.url("/")));
        List<String> cmd = GatewayProcess.command("--config", conf.toString(), "--port", Integer.toString(port));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("gw.log").toFile()).start();
        try {
            var http = java.net.http.HttpClient.newHttpClient();
            var health = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/health")).build();
            await("the gateway to start", () -> {
                try {
                    return http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                } catch (Exception e) {
                    return false;
                }
            });
            for (int i = 0; i < 3; i++) {
                var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(TestGateway.chat("m", false))).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
            }
            Thread.sleep(200);
            assertEquals(0, hook.posts.size(), "an hour's flush interval: nothing sent yet");
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "exits");
            assertEquals(3, count(hook), "the three records sent at shutdown; log:\n" + Files.readString(dir.resolve("gw.log")));
        } finally {
            p.destroyForcibly().waitFor();
            TestGateway.deleteTree(dir);
        }
    }

    static String hmac(String secret, String data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
    }
}
