package io.nemorouter.server.accounting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cost, the request log and the spend API through a real gateway in front of a scriptable upstream. */
class AccountingTest {
    static final String MASTER = "sk-master-test-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();
    static final double EPS = 1e-9;

    ScriptableUpstream upstream;
    TestGateway gw;
    Path keepDir;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (keepDir != null) {
            TestGateway.deleteTree(keepDir);
        }
    }

    String catalog() {
        String base = upstream.apiBase();
        return "nemo.models = ["
                + "{ name = \"gpt-4o\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\" },"
                + "{ name = \"m\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\","
                + "  input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 },"
                + "{ name = \"tuned\", provider = openai, api_base = \"" + base + "\", model = \"acme-tuned-1\", api_key = \"sk-up\" },"
                + "{ name = \"bad\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\","
                + "  input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 }"
                + "]\nnemo.keys.master_key = \"" + MASTER + "\"\n";
    }

    TestGateway start(String extra, Path dataDir) throws Exception {
        if (upstream == null) {
            upstream = new ScriptableUpstream();
            upstream.otherwise(ScriptableUpstream.chat("hello"));
            upstream.on("bad", ScriptableUpstream.status(400, null));
        }
        TestGateway.Builder b = TestGateway.builder().config(catalog() + extra);
        if (dataDir != null) {
            b.dataDir(dataDir);
        }
        gw = b.start();
        return gw;
    }

    HttpResponse<String> call(String key, String body) throws Exception {
        return gw.post("/v1/chat/completions", body, "authorization", "Bearer " + key);
    }

    JsonNode admin(String path, String body) throws Exception {
        HttpResponse<String> r = gw.post(path, body, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    JsonNode get(String key, String path) throws Exception {
        HttpResponse<String> r = gw.get(path, "authorization", "Bearer " + key);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    /** Every logged record, newest first, read page by page through the cursor; waits until there are {@code expected}. */
    List<JsonNode> records(String key, String query, int expected, int pageSize) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            List<JsonNode> all = new ArrayList<>();
            String cursor = null;
            do {
                JsonNode page = get(key, "/spend/logs?limit=" + pageSize + (query.isEmpty() ? "" : "&" + query)
                        + (cursor == null ? "" : "&cursor=" + cursor));
                page.get("data").forEach(all::add);
                cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
                assertEquals(cursor != null, page.get("has_more").asBoolean());
            } while (cursor != null);
            if (all.size() >= expected || System.nanoTime() > deadline) {
                assertEquals(expected, all.size(), "records logged");
                return all;
            }
            Thread.sleep(20);
        }
    }

    static String chat(String model, String extra) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + extra + "}";
    }

    @Test
    void costComesFromThePriceTableWithCachedPromptTokensAtTheirPrice() throws Exception {
        start("", null);
        upstream.on("gpt-4o", (req, reply) -> reply.json(200, "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":2006,"
                + "\"completion_tokens\":300,\"total_tokens\":2306,\"prompt_tokens_details\":{\"cached_tokens\":1920}}}"));
        HttpResponse<String> r = call(MASTER, chat("gpt-4o", ""));
        assertEquals(200, r.statusCode(), r.body());
        double expected = (86 * 2.50 + 1920 * 1.25 + 300 * 10.00) / 1e6; // the table's gpt-4o: 2.50 in, 1.25 cached, 10.00 out
        assertEquals(expected, Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElseThrow()), EPS);
        JsonNode rec = records(MASTER, "", 1, 50).get(0);
        assertEquals(2006, rec.get("input_tokens").asLong());
        assertEquals(1920, rec.get("cached_tokens").asLong());
        assertEquals(300, rec.get("output_tokens").asLong());
        assertEquals(expected, rec.get("cost").asDouble(), EPS);
        assertFalse(rec.get("unpriced").asBoolean());
        assertFalse(rec.get("usage_estimated").asBoolean());
    }

    @Test
    void anUnpricedModelCostsNothingAndItsRecordsSaySo() throws Exception {
        start("", null);
        HttpResponse<String> r = call(MASTER, chat("tuned", ""));
        assertEquals(200, r.statusCode());
        assertEquals(0.0, Double.parseDouble(r.headers().firstValue("x-nemo-response-cost").orElseThrow()), EPS);
        JsonNode rec = records(MASTER, "model=tuned", 1, 50).get(0);
        call(MASTER, chat("tuned", ""));
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        assertEquals(id, records(MASTER, "request_id=" + id, 1, 50).get(0).get("id").asText(), "one call found by its id");
        assertTrue(rec.get("unpriced").asBoolean());
        assertEquals("openai/acme-tuned-1", rec.get("deployment").asText());
    }

    @Test
    void aStreamThatDidNotAskForUsageReachesTheClientAsSentAndIsStillCosted() throws Exception {
        start("", null);
        upstream.on("m", ScriptableUpstream.chatStream("Hel", "lo"));
        HttpResponse<String> plain = call(MASTER, chat("m", ",\"stream\":true"));
        String expected = ScriptableUpstream.chunk("Hel", false) + ScriptableUpstream.chunk("lo", false) + "data: [DONE]\n\n";
        assertEquals(expected, plain.body(), "byte for byte what the upstream would have sent without the gateway's ask");
        assertTrue(upstream.last().json().at("/stream_options/include_usage").asBoolean(), "the gateway asked for the usage");
        JsonNode rec = records(MASTER, "", 1, 50).get(0);
        assertEquals(10, rec.get("input_tokens").asLong());
        assertEquals(5, rec.get("output_tokens").asLong());
        assertFalse(rec.get("usage_estimated").asBoolean());
        assertEquals((10 * 1000 + 5 * 2000) / 1e6, rec.get("cost").asDouble(), EPS);
        assertTrue(rec.get("stream").asBoolean());

        HttpResponse<String> asked = call(MASTER, chat("m", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertTrue(asked.body().contains("\"usage\":{\"prompt_tokens\":10"), "a client that asked gets the usage event");
        assertEquals(2, records(MASTER, "", 2, 50).size());
    }

    @Test
    void aStreamCutShortIsChargedAnEstimateAndMarked() throws Exception {
        start("", null);
        upstream.on("m", (req, reply) -> {
            reply.startStream();
            for (int i = 0; i < 6; i++) {
                reply.event(ScriptableUpstream.chunk("tok" + i, true));
            }
            reply.after(Duration.ofMillis(50), reply::close);
        });
        call(MASTER, chat("m", ",\"stream\":true"));
        JsonNode rec = records(MASTER, "", 1, 50).get(0);
        assertTrue(rec.get("usage_estimated").asBoolean(), rec.toString());
        assertTrue(rec.get("input_tokens").asLong() > 0, rec.toString());
        assertTrue(rec.get("output_tokens").asLong() >= 5 && rec.get("output_tokens").asLong() <= 6, rec.toString());
        assertEquals((rec.get("input_tokens").asLong() * 1000 + rec.get("output_tokens").asLong() * 2000) / 1e6,
                rec.get("cost").asDouble(), EPS);
        assertEquals(200, rec.get("status").asInt());
        assertNotNull(rec.get("error").asText(null), "the record says the answer broke off: " + rec);
    }

    @Test
    void theRecordNamesKeyTeamMetadataAndTagsButNeverTheSecret() throws Exception {
        start("", null);
        admin("/team/new", "{\"team_id\":\"rag\",\"team_alias\":\"RAG pipeline\"}");
        JsonNode key = admin("/key/generate", "{\"key_alias\":\"ingest-bot\",\"team_id\":\"rag\"}");
        String secret = key.get("key").asText();
        HttpResponse<String> r = call(secret, chat("m", ",\"metadata\":{\"job_id\":\"invoices-0418\",\"stage\":\"embed\","
                + "\"customer\":\"acme\",\"pages\":12},\"tags\":[\"batch\",\"pdf\"]"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode rec = records(MASTER, "", 1, 50).get(0);
        assertEquals(r.headers().firstValue("x-request-id").orElseThrow(), rec.get("id").asText());
        assertEquals(key.get("key_id").asText(), rec.get("key_id").asText());
        assertEquals("ingest-bot", rec.get("key_alias").asText());
        assertEquals(key.get("token").asText().substring(0, 8), rec.get("key_hash").asText());
        assertEquals("rag", rec.get("team_id").asText());
        assertEquals("invoices-0418", rec.at("/metadata/job_id").asText());
        assertEquals(12, rec.at("/metadata/pages").asInt());
        assertEquals("[\"batch\",\"pdf\"]", rec.get("tags").toString());
        assertEquals("m", rec.get("model").asText());
        assertEquals("openai/m", rec.get("deployment").asText());
        assertEquals("openai", rec.get("provider").asText());
        assertEquals("/v1/chat/completions", rec.get("endpoint").asText());
        assertEquals(1, rec.get("attempts").size());
        assertEquals(200, rec.at("/attempts/0/status").asInt());
        for (String f : new String[]{"total_ms", "upstream_ms", "ttft_ms", "overhead_ms"}) {
            assertTrue(rec.get(f).asDouble() >= 0, f);
        }
        assertTrue(rec.get("total_ms").asDouble() >= rec.get("overhead_ms").asDouble());
        assertEquals("bypass", rec.get("cache").asText());
        for (Path f : (Iterable<Path>) Files.list(gw.dataDir().resolve("logs"))::iterator) {
            assertFalse(Files.readString(f, StandardCharsets.ISO_8859_1).contains(secret), "no secret in " + f);
        }
        // a refused call is logged too, with the error
        HttpResponse<String> refused = call(secret, chat("bad", ""));
        assertEquals(400, refused.statusCode());
        JsonNode err = records(MASTER, "status=error", 1, 50).get(0);
        assertEquals("invalid_request_error", err.get("error_type").asText());
    }

    @Test
    void aVirtualKeyReadsOnlyItsOwnRecordsAndReport() throws Exception {
        start("", null);
        String a = admin("/key/generate", "{\"key_alias\":\"a\"}").get("key").asText();
        String b = admin("/key/generate", "{\"key_alias\":\"b\"}").get("key").asText();
        for (int i = 0; i < 3; i++) {
            call(a, chat("m", ""));
        }
        call(b, chat("m", ""));
        records(MASTER, "", 4, 50);
        List<JsonNode> own = records(a, "", 3, 50);
        own.forEach(r -> assertEquals("a", r.get("key_alias").asText()));
        assertEquals(400, gw.get("/spend/logs?key=b", "authorization", "Bearer " + a).statusCode());
        JsonNode report = get(a, "/spend/report?group_by=model");
        assertEquals(3, report.at("/totals/requests").asInt());
        assertEquals(3 * 0.02, report.at("/totals/cost").asDouble(), EPS);
        assertEquals(1, report.get("data").size());
        assertEquals(3, report.at("/data/0/requests").asInt());
        String aId = own.get(0).get("key_id").asText();
        assertEquals(aId, report.get("key").asText(), "the report says whose it is");
        // the same, read by the master key narrowed to that key; and a key's report by team, summed from its records
        assertEquals(report.get("data"), get(MASTER, "/spend/report?group_by=model&key=" + aId).get("data"));
        assertEquals(3, get(a, "/spend/report").at("/data/0/requests").asInt());
        assertEquals(3, get(a, "/spend/report?group_by=team").at("/totals/requests").asInt());
        assertEquals(400, gw.get("/spend/report?key=" + aId + "&model=m", "authorization", "Bearer " + MASTER).statusCode());
        assertEquals(4, get(MASTER, "/spend/report").at("/totals/requests").asInt());
        assertEquals(401, gw.get("/spend/report", "authorization", "Bearer sk-nemo-unknown00000000000000000000000").statusCode());
        assertEquals(401, gw.get("/spend/report").statusCode());
    }

    @Test
    void badQueriesAreRefusedWithTheParameterNamed() throws Exception {
        start("", null);
        for (String q : new String[]{"/spend/report?group_by=colour", "/spend/report?from=yesterday", "/spend/report?interval=week",
                "/spend/report?format=xml", "/spend/logs?limit=0", "/spend/logs?limit=5000", "/spend/logs?cursor=bm9wZQ",
                "/spend/logs?colour=red", "/spend/report?colour=red"}) {
            HttpResponse<String> r = gw.get(q, "authorization", "Bearer " + MASTER);
            assertEquals(400, r.statusCode(), q + ": " + r.body());
            JsonNode e = JSON.readTree(r.body()).get("error");
            assertEquals("invalid_request_error", e.get("type").asText(), q);
            assertFalse(e.get("param").isNull(), q);
        }
    }

    /** Random traffic: the report's sums, for every group_by, equal the sums of the records the log holds. */
    @Test
    void reportTotalsEqualTheSumOfTheLoggedRecordsForEveryGrouping() throws Exception {
        start("", null);
        admin("/organization/new", "{\"organization_id\":\"acme\"}");
        admin("/team/new", "{\"team_id\":\"t1\",\"organization_id\":\"acme\"}");
        admin("/team/new", "{\"team_id\":\"t2\"}");
        String[] keys = {
                admin("/key/generate", "{\"key_alias\":\"k1\",\"team_id\":\"t1\"}").get("key").asText(),
                admin("/key/generate", "{\"key_alias\":\"k2\",\"team_id\":\"t2\"}").get("key").asText(),
                admin("/key/generate", "{\"key_alias\":\"k3\"}").get("key").asText(), MASTER};
        upstream.on("m", streamsWhenAsked());
        Random rnd = new Random(42);
        String[] models = {"m", "gpt-4o", "bad", "tuned"};
        String[] stages = {"embed", "retrieve", "synthesise"};
        int n = 80;
        for (int i = 0; i < n; i++) {
            StringBuilder extra = new StringBuilder();
            if (rnd.nextBoolean()) {
                extra.append(",\"stream\":true");
            }
            if (rnd.nextInt(4) > 0) {
                extra.append(",\"metadata\":{\"job_id\":\"job-").append(rnd.nextInt(3)).append("\",\"stage\":\"")
                        .append(stages[rnd.nextInt(3)]).append("\",\"customer\":\"c").append(rnd.nextInt(2)).append("\"}");
            }
            if (rnd.nextBoolean()) {
                extra.append(",\"tags\":[\"t").append(rnd.nextInt(3)).append("\"").append(rnd.nextBoolean() ? ",\"x\"" : "").append("]");
            }
            call(keys[rnd.nextInt(keys.length)], chat(models[rnd.nextInt(models.length)], extra.toString()));
        }
        List<JsonNode> all = records(MASTER, "", n, 7); // small pages: the cursor is used many times
        assertEquals(n, all.stream().map(r -> r.get("id").asText()).distinct().count(), "no record twice across pages");
        for (String groupBy : new String[]{"key", "team", "org", "model", "deployment", "provider", "tag", "job_id", "stage",
                "metadata.customer"}) {
            Map<String, double[]> want = new HashMap<>();
            for (JsonNode r : all) {
                for (String g : groups(r, groupBy)) {
                    double[] s = want.computeIfAbsent(g, x -> new double[5]);
                    s[0]++;
                    s[1] += r.get("status").asInt() >= 400 ? 1 : 0;
                    s[2] += r.get("input_tokens").asLong();
                    s[3] += r.get("output_tokens").asLong();
                    s[4] += r.get("cost").asDouble();
                }
            }
            JsonNode report = get(MASTER, "/spend/report?group_by=" + URLEncoder.encode(groupBy, StandardCharsets.UTF_8));
            Map<String, double[]> got = new HashMap<>();
            for (JsonNode row : report.get("data")) {
                got.put(row.get("group").asText(), new double[]{row.get("requests").asDouble(), row.get("errors").asDouble(),
                        row.get("input_tokens").asDouble(), row.get("output_tokens").asDouble(), row.get("cost").asDouble()});
            }
            assertEquals(want.keySet(), got.keySet(), groupBy);
            for (String g : want.keySet()) {
                for (int k = 0; k < 5; k++) {
                    assertEquals(want.get(g)[k], got.get(g)[k], 1e-6, groupBy + "=" + g + " field " + k);
                }
            }
            assertEquals(n, report.at("/totals/requests").asInt());
        }
        // narrowed reports: per key for one model, per stage and per model for one job
        for (String[] narrow : new String[][]{{"model", "m", "key"}, {"model", "gpt-4o", "team"}, {"job_id", "job-1", "stage"},
                {"job_id", "job-2", "model"}}) {
            List<JsonNode> subset = all.stream().filter(r -> narrow[1].equals(narrow[0].equals("model")
                    ? r.get("model").asText() : r.path("metadata").path("job_id").asText(null))).toList();
            Map<String, double[]> want = new HashMap<>();
            for (JsonNode r : subset) {
                for (String g : groups(r, narrow[2])) {
                    double[] w = want.computeIfAbsent(g, x -> new double[2]);
                    w[0]++;
                    w[1] += r.get("cost").asDouble();
                }
            }
            JsonNode report = get(MASTER, "/spend/report?group_by=" + narrow[2] + "&" + narrow[0] + "=" + narrow[1]);
            assertEquals(subset.size(), report.at("/totals/requests").asInt(), String.join(",", narrow));
            assertEquals(want.size(), report.get("data").size(), String.join(",", narrow));
            for (JsonNode row : report.get("data")) {
                double[] w = want.get(row.get("group").asText());
                assertNotNull(w, row.toString());
                assertEquals(w[0], row.get("requests").asDouble(), String.join(",", narrow));
                assertEquals(w[1], row.get("cost").asDouble(), 1e-6, String.join(",", narrow));
            }
        }
        assertEquals(400, gw.get("/spend/report?group_by=tag&model=m", "authorization", "Bearer " + MASTER).statusCode());
        assertEquals(400, gw.get("/spend/report?group_by=key&model=m&job_id=j", "authorization", "Bearer " + MASTER).statusCode());
        // filters on the log agree with the report
        JsonNode byJob = get(MASTER, "/spend/report?group_by=job_id");
        for (JsonNode row : byJob.get("data")) {
            if (!row.get("group").asText().startsWith("(")) {
                assertEquals(row.get("requests").asInt(), records(MASTER, "job_id=" + row.get("group").asText(),
                        row.get("requests").asInt(), 1000).size());
            }
        }
        HttpResponse<String> csv = gw.get("/spend/report?group_by=model&format=csv", "authorization", "Bearer " + MASTER);
        assertEquals(200, csv.statusCode());
        assertTrue(csv.headers().firstValue("content-type").orElse("").startsWith("text/csv"));
        String[] lines = csv.body().split("\n");
        assertTrue(lines[0].startsWith("group,interval_start,requests"), lines[0]);
        assertEquals(get(MASTER, "/spend/report?group_by=model").get("data").size() + 1, lines.length);
    }

    /** Answers a stream when the request asks for one, else a plain completion; 10 + 5 tokens either way. */
    static ScriptableUpstream.Script streamsWhenAsked() {
        return (req, reply) -> {
            if (req.json().path("stream").asBoolean()) {
                ScriptableUpstream.chatStream("a", "b").answer(req, reply);
            } else {
                ScriptableUpstream.chat("x").answer(req, reply);
            }
        };
    }

    /** The groups a record counts in, as the report defines them. */
    static List<String> groups(JsonNode r, String groupBy) {
        String none = "(none)";
        return switch (groupBy) {
            case "key" -> List.of(r.get("key_id").isNull() ? "anonymous" : r.get("key_id").asText());
            case "team" -> List.of(r.get("team_id").isNull() ? none : r.get("team_id").asText());
            case "org" -> List.of(r.get("org_id").isNull() ? none : r.get("org_id").asText());
            case "model", "deployment", "provider" -> List.of(r.get(groupBy).isNull() ? none : r.get(groupBy).asText());
            case "tag" -> {
                List<String> t = new ArrayList<>();
                r.get("tags").forEach(x -> t.add(x.asText()));
                yield t;
            }
            default -> {
                String field = groupBy.startsWith("metadata.") ? groupBy.substring(9) : groupBy;
                JsonNode v = r.path("metadata").get(field);
                yield v == null || v.isNull() ? List.of() : List.of(v.asText());
            }
        };
    }

    @Test
    void theReportAndTheLogSurviveARestart() throws Exception {
        keepDir = Files.createTempDirectory("nemo-accounting");
        start("", keepDir);
        for (int i = 0; i < 5; i++) {
            call(MASTER, chat("m", ",\"metadata\":{\"job_id\":\"j" + (i % 2) + "\"}"));
        }
        records(MASTER, "", 5, 50);
        String before = get(MASTER, "/spend/report?group_by=job_id").toString();
        gw.close();
        gw = null;
        start("", keepDir);
        assertEquals(before, get(MASTER, "/spend/report?group_by=job_id").toString());
        records(MASTER, "", 5, 50);
        call(MASTER, chat("m", ",\"metadata\":{\"job_id\":\"j0\"}"));
        records(MASTER, "", 6, 50);
        JsonNode after = get(MASTER, "/spend/report?group_by=job_id");
        assertEquals(6, after.at("/totals/requests").asInt());
        // without the snapshot, the sums are rebuilt from the log alone
        gw.close();
        gw = null;
        Files.delete(keepDir.resolve("logs").resolve("spend-rollups.bin"));
        start("", keepDir);
        assertEquals(after.get("data").toString(), get(MASTER, "/spend/report?group_by=job_id").get("data").toString());
    }

    @Test
    void callsTokensSpendAndBudgetsAreExportedAsMetrics() throws Exception {
        start("", null);
        upstream.on("m", streamsWhenAsked());
        admin("/team/new", "{\"team_id\":\"rag\",\"max_budget\":50}");
        String key = admin("/key/generate", "{\"key_alias\":\"ingest-bot\",\"team_id\":\"rag\",\"max_budget\":10}").get("key").asText();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> ok = call(key, chat("m", ",\"max_tokens\":5"));
            assertEquals(200, ok.statusCode(), ok.body());
            // the key's spend after this call: $0.02 a call
            assertEquals(0.02 * (i + 1), Double.parseDouble(ok.headers().firstValue("x-nemo-key-spend").orElseThrow()), EPS);
        }
        HttpResponse<String> stream = call(key, chat("m", ",\"max_tokens\":5,\"stream\":true"));
        assertEquals(200, stream.statusCode());
        assertTrue(stream.headers().firstValue("x-nemo-key-spend").isEmpty(), "a stream's cost is known only at its end");
        assertTrue(call(MASTER, chat("m", "")).headers().firstValue("x-nemo-key-spend").isEmpty(), "no key, no key spend");
        records(MASTER, "", 5, 50);
        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.contains("nemo_key_requests_total{key=\"ingest-bot\",team=\"rag\",model=\"m\",status=\"200\",} 4.0"), metrics);
        assertTrue(metrics.contains("nemo_key_tokens_total{key=\"ingest-bot\",team=\"rag\",model=\"m\",type=\"input\",} 40.0"), metrics);
        assertTrue(metrics.contains("nemo_key_spend_usd_total{key=\"ingest-bot\",team=\"rag\",model=\"m\",} 0.08"), metrics);
        assertTrue(metrics.contains("nemo_cache_decisions_total{decision=\"bypass\",} 5.0"), metrics);
        assertTrue(metrics.contains("nemo_time_to_first_byte_seconds_count{stream=\"true\",} 1.0"), metrics);
        assertTrue(metrics.contains("nemo_budget_remaining_usd{level=\"key\",name=\"ingest-bot\",} 9.92"), metrics);
        assertTrue(metrics.contains("nemo_budget_remaining_usd{level=\"team\",name=\"rag\",} 49.92"), metrics);
        assertTrue(metrics.contains("nemo_log_dropped_total 0.0"), metrics);
        assertTrue(metrics.contains("nemo_log_queued"), metrics);
        assertFalse(metrics.contains(key), "no secret in the metrics");
    }

    @Test
    void bodiesAreLoggedOnlyWhenAskedAndCutToTheirCap() throws Exception {
        start("nemo.log { bodies = true, max_body_size = 1 KiB }", null);
        upstream.on("m", streamsWhenAsked());
        call(MASTER, chat("m", ""));
        call(MASTER, chat("m", ",\"stream\":true"));
        call(MASTER, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "long ".repeat(1000) + "\"}]}");
        List<JsonNode> recs = records(MASTER, "", 3, 50);
        JsonNode plain = recs.get(2);
        assertTrue(plain.get("prompt").asText().contains("\"content\":\"hi\""), plain.toString());
        assertTrue(plain.get("completion").asText().contains("\"content\":\"x\""), plain.toString());
        assertTrue(recs.get(1).get("completion").asText().contains("data: [DONE]"), "a stream's events as relayed");
        assertTrue(recs.get(0).get("prompt").asText().endsWith("…[truncated]"));
        assertTrue(recs.get(0).get("prompt").asText().length() < 1100);
    }

    @Test
    void withoutBodyLoggingNoPromptOrAnswerIsKept() throws Exception {
        start("", null);
        call(MASTER, chat("m", ""));
        JsonNode rec = records(MASTER, "", 1, 50).get(0);
        assertFalse(rec.has("prompt") || rec.has("completion"), rec.toString());
    }
}
