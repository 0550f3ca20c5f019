package io.nemorouter.server.routing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.filters.routing.RouterExtension;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The router through a real gateway, in front of upstream stand-ins that can be slow, fail or refuse. */
class RouterTest {
    static final ObjectMapper JSON = new ObjectMapper();
    final List<ScriptableUpstream> upstreams = new ArrayList<>();
    TestGateway gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        upstreams.forEach(ScriptableUpstream::close);
    }

    /** An upstream stand-in that answers "from <label>" and counts its calls. */
    ScriptableUpstream upstream(String label, AtomicInteger calls) throws Exception {
        return upstream(calls, (req, reply) -> {
            if (req.json().path("stream").asBoolean()) {
                ScriptableUpstream.chatStream("from ", label).answer(req, reply);
            } else {
                ScriptableUpstream.chat("from " + label).answer(req, reply);
            }
        });
    }

    /** An upstream stand-in that counts each call, then answers it with {@code script}. */
    ScriptableUpstream upstream(AtomicInteger calls, ScriptableUpstream.Script script) throws Exception {
        ScriptableUpstream u = new ScriptableUpstream();
        u.otherwise((req, reply) -> {
            calls.incrementAndGet();
            script.answer(req, reply);
        });
        upstreams.add(u);
        return u;
    }

    static String entry(String name, ScriptableUpstream u, String extra) {
        return "{ name = \"" + name + "\", provider = openai, api_base = \"" + u.apiBase() + "\", api_key = \"sk\", "
                + "input_cost_per_mtok = 1, output_cost_per_mtok = 2" + (extra.isEmpty() ? "" : ", " + extra) + " }";
    }

    static final String MASTER = "sk-master-test-0123456789";

    void start(String models, String router) throws Exception {
        start(models, router, java.time.Clock.systemUTC());
    }

    /** With the router on {@code clock} (its quota minutes, cooldowns and latency figures). */
    void start(String models, String router, java.time.Clock clock) throws Exception {
        gw = TestGateway.builder().config("nemo.models = [" + models + "]\nnemo.router { " + router + " }\n"
                + "nemo.keys.master_key = \"" + MASTER + "\"\n").extension(new RouterExtension(clock)).start();
    }

    /** Ten seconds into a minute, and staying there: a quota test never crosses into the next minute. */
    static final java.time.Clock TEN_PAST = java.time.Clock.fixed(java.time.Instant.parse("2026-12-01T10:00:10Z"), java.time.ZoneOffset.UTC);

    HttpResponse<String> chat(String body) throws Exception {
        return gw.post("/v1/chat/completions", body, "authorization", "Bearer " + MASTER);
    }

    static String body(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse("");
    }

    @Test
    void aFailedDeploymentFailsOverToAnotherOfItsGroupAndTheAnswerSaysSo() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            ScriptableUpstream.status(500, null).answer(req, reply);
        });
        ScriptableUpstream ub = upstream("b", b);
        start(entry("m", ua, "id = \"a\"") + "," + entry("m", ub, "id = \"b\""), "strategy = cost, num_retries = 1, "
                + "allowed_fails = 1, groups { m { strategy = least-busy } }");
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = chat(body("m"));
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("from b"), r.body());
            if (header(r, "x-nemo-fallbacks").equals("1")) {
                assertEquals("b", header(r, "x-nemo-model"));
            }
        }
        assertEquals(1, a.get(), "a failed once, and cooled down (allowed_fails = 1)");
        assertEquals(6, b.get());
        Thread.sleep(300); // the request log's writer
        JsonNode logs = JSON.readTree(gw.get("/spend/logs?limit=10", "authorization", "Bearer " + MASTER).body()).get("data");
        JsonNode failedOver = null;
        for (JsonNode rec : logs) {
            if (rec.get("fallbacks").asInt() == 1) {
                failedOver = rec;
            }
        }
        assertTrue(failedOver != null, logs.toString());
        assertEquals("a", failedOver.at("/attempts/0/deployment").asText(), "every attempt is in the record: " + failedOver);
        assertEquals(500, failedOver.at("/attempts/0/status").asInt());
        assertEquals("b", failedOver.at("/attempts/1/deployment").asText());
        Thread.sleep(600); // the metrics are refreshed twice a second
        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.contains("nemo_deployment_state{deployment=\"a\",} 2.0"), "a is cooling down: " + metrics);
        assertTrue(metrics.contains("nemo_deployment_state{deployment=\"b\",} 0.0"), metrics);
    }

    @Test
    void clientErrorsAreNotRetried() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            ScriptableUpstream.status(req.json().at("/messages/0/content").asInt(), null).answer(req, reply);
        });
        ScriptableUpstream ub = upstream("b", b);
        start(entry("m", ua, "id = \"a\"") + "," + entry("m", ub, "id = \"b\", weight = 0") + "," + entry("spare", ub, "id = \"spare\""),
                "num_retries = 2, groups { m { strategy = weighted, fallbacks = [spare] } }, allowed_fails = 100");
        // weight 0: b is never chosen first, so every request starts on a
        int[] clientErrors = {400, 401, 403, 404, 413, 422};
        for (int status : clientErrors) {
            HttpResponse<String> r = chat("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + status + "\"}]}");
            assertEquals(status, r.statusCode(), "a client error returns at once: " + r.body());
            assertEquals("0", header(r, "x-nemo-fallbacks"));
        }
        assertEquals(clientErrors.length, a.get());
        assertEquals(0, b.get(), "no other deployment is tried on a client error");
    }

    @Test
    void eachTriggerFailsOverConnectErrorTimeout429And5xxDownTheFallbackChain() throws Exception {
        AtomicInteger flaky = new AtomicInteger();
        AtomicInteger backup = new AtomicInteger();
        Map<String, Integer> statusFor = new HashMap<>(Map.of("429", 429, "503", 503, "502", 502));
        ScriptableUpstream uf = upstream(flaky, (req, reply) -> {
            String trigger = req.json().at("/messages/0/content").asText();
            if (trigger.equals("timeout")) {
                reply.stall();
            } else {
                ScriptableUpstream.status(statusFor.get(trigger), null).answer(req, reply);
            }
        });
        ScriptableUpstream ub = upstream("backup", backup);
        gw = TestGateway.builder().config("nemo.upstream.first_byte_timeout = 1s\nnemo.keys.master_key = \"" + MASTER + "\"\nnemo.models = ["
                + entry("main", uf, "id = \"flaky\"") + "," + entry("refused", uf, "id = \"refused\", api_base = \"http://127.0.0.1:1/v1\"")
                + "," + entry("spare", ub, "id = \"spare\"") + "]\n"
                + "nemo.router { allowed_fails = 100, groups { main { fallbacks = [refused, spare] } } }\n").start();
        for (String trigger : List.of("429", "503", "502", "timeout")) {
            HttpResponse<String> r = chat("{\"model\":\"main\",\"messages\":[{\"role\":\"user\",\"content\":\"" + trigger + "\"}]}");
            assertEquals(200, r.statusCode(), trigger + ": " + r.body());
            assertEquals("spare", header(r, "x-nemo-model"), trigger);
            assertEquals("2", header(r, "x-nemo-fallbacks"), trigger + ": main, then refused (connect error), then spare");
        }
        assertEquals(4, backup.get());
    }

    @Test
    void aRetryAfterCoolsADeploymentDownAndAProbeBringsItBack() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        AtomicInteger refuse = new AtomicInteger(1);
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            if (refuse.getAndSet(0) == 1) {
                ScriptableUpstream.status(429, "2").answer(req, reply);
            } else {
                ScriptableUpstream.chat("from a").answer(req, reply);
            }
        });
        ScriptableUpstream ub = upstream("b", b);
        // cost: a is cheaper, so it is chosen whenever it is available
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", ub, "id = \"b\""),
                "strategy = cost, num_retries = 1");
        HttpResponse<String> first = chat(body("m"));
        assertEquals(200, first.statusCode());
        assertEquals("b", header(first, "x-nemo-model"), "a's 429 went to b");
        for (int i = 0; i < 5; i++) {
            assertEquals("b", header(chat(body("m")), "x-nemo-model"), "a cools down for its Retry-After");
        }
        assertEquals(1, a.get());
        Thread.sleep(2200);
        HttpResponse<String> back = chat(body("m"));
        assertEquals("a", header(back, "x-nemo-model"), "after the Retry-After one probe goes to a, and it answers");
        assertEquals("a", header(chat(body("m")), "x-nemo-model"), "closed again");
        JsonNode health = JSON.readTree(gw.get("/health/deployments", "authorization", "Bearer " + MASTER).body());
        assertTrue(health.toString().contains("\"state\":\"healthy\""), health.toString());
    }

    @Test
    void aDeploymentsQuotaHoldsAndWhenEveryOneIsAtItsTheAnswerIs429WithRetryAfter() throws Exception {
        AtomicInteger a = new AtomicInteger();
        start(entry("m", upstream("a", a), "id = \"a\", rpm = 3"), "", TEN_PAST);
        for (int i = 0; i < 3; i++) {
            assertEquals(200, chat(body("m")).statusCode());
        }
        HttpResponse<String> r = chat(body("m"));
        assertEquals(429, r.statusCode(), r.body());
        assertEquals("deployment_quota_exceeded", JSON.readTree(r.body()).at("/error/code").asText());
        assertEquals("50", header(r, "retry-after"), "until the minute turns");
        assertEquals(3, a.get());
    }

    @Test
    void leastBusyMovesLoadAwayFromASlowDeployment() throws Exception {
        AtomicInteger slow = new AtomicInteger();
        AtomicInteger fast = new AtomicInteger();
        ScriptableUpstream us = upstream(slow, (req, reply) -> {
            reply.after(Duration.ofMillis(400), () -> ScriptableUpstream.chat("from slow").answer(req, reply));
        });
        start(entry("m", us, "id = \"slow\"") + "," + entry("m", upstream("fast", fast), "id = \"fast\""), "");
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            all.add(gw.http().sendAsync(HttpRequest.newBuilder(URI.create(gw.base() + "/v1/chat/completions"))
                    .header("content-type", "application/json").header("authorization", "Bearer " + MASTER).POST(HttpRequest.BodyPublishers.ofString(body("m"))).build(),
                    HttpResponse.BodyHandlers.ofString()));
            Thread.sleep(10);
        }
        for (var f : all) {
            assertEquals(200, f.get(10, TimeUnit.SECONDS).statusCode());
        }
        assertTrue(fast.get() > 45, "the slow one holds its requests, so the fast one takes most: fast " + fast.get() + ", slow " + slow.get());
    }

    @Test
    void theLatencyStrategySteersToTheQuickerDeploymentWithinSeconds() throws Exception {
        AtomicInteger slow = new AtomicInteger();
        AtomicInteger quick = new AtomicInteger();
        ScriptableUpstream us = upstream(slow, (req, reply) -> {
            reply.after(Duration.ofMillis(60), () -> ScriptableUpstream.chat("from slow").answer(req, reply));
        });
        start(entry("m", us, "id = \"slow\"") + "," + entry("m", upstream("quick", quick), "id = \"quick\""),
                "strategy = latency");
        for (int i = 0; i < 10; i++) {
            chat(body("m"));
        }
        Thread.sleep(1100); // the latencies are folded into their averages twice a second
        int slowBefore = slow.get();
        int quickBefore = quick.get();
        for (int i = 0; i < 40; i++) {
            chat(body("m"));
        }
        assertTrue(slowBefore >= 1 && quickBefore >= 1, "both were tried");
        assertTrue(quick.get() - quickBefore >= 36, "the quicker one takes (nearly) all: " + (quick.get() - quickBefore));
    }

    @Test
    void aStreamFailsOverBeforeItsFirstByteAndNotAfter() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            int n = a.get();
            if (n == 1) {
                ScriptableUpstream.status(503, null).answer(req, reply); // before the head
            } else {
                reply.startStream();
                reply.event(ScriptableUpstream.chunk("partial", false));
                reply.close(); // after it
            }
        });
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", upstream("b", b), "id = \"b\""),
                "strategy = cost, num_retries = 1, allowed_fails = 100");
        HttpResponse<String> before = chat("{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(200, before.statusCode());
        assertTrue(before.body().contains("from ") && before.body().contains("data: [DONE]"), before.body());
        assertEquals("b", header(before, "x-nemo-model"));
        HttpResponse<String> after = chat("{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals("a", header(after, "x-nemo-model"));
        assertTrue(after.body().contains("partial") && after.body().contains("error"), after.body());
        assertFalse(after.body().contains("data: [DONE]"), after.body());
        assertEquals(1, b.get(), "no failover once the stream had begun");
    }

    @Test
    void capabilityTagsNeverSendAVisionRequestToATextOnlyModel() throws Exception {
        AtomicInteger text = new AtomicInteger();
        AtomicInteger vision = new AtomicInteger();
        ScriptableUpstream uv = upstream(vision, (req, reply) -> {
            ScriptableUpstream.status(500, null).answer(req, reply); // every vision deployment is down
        });
        start(entry("text", upstream("text", text), "id = \"text\", tags = [code]") + ","
                        + entry("eyes", uv, "id = \"eyes\", tags = [vision, long-context]"),
                "allowed_fails = 100, groups { eyes { fallbacks = [text] }, text { fallbacks = [eyes] } }");
        String image = "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is it\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]}";
        HttpResponse<String> named = chat(String.format(image, "text"));
        assertEquals(400, named.statusCode(), named.body());
        JsonNode err = JSON.readTree(named.body()).get("error");
        assertEquals("model_capability_mismatch", err.get("code").asText());
        assertTrue(err.get("message").asText().contains("vision"), err.toString());
        HttpResponse<String> down = chat(String.format(image, "eyes"));
        assertEquals(500, down.statusCode(), "the vision model's error, never a text-only answer: " + down.body());
        assertEquals(0, text.get());
        HttpResponse<String> tags = chat("{\"model\":\"text\",\"tags\":[\"vision\",\"long-context\"],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals(400, tags.statusCode());
        assertEquals(200, chat("{\"model\":\"text\",\"tags\":[\"code\",\"rag\"],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").statusCode(),
                "a tag no catalog entry knows (rag) is a label, not a requirement");
    }

    @Test
    void autoPicksAModelWithTheTagsAndALongRequestGoesToTheContextWindowFallback() throws Exception {
        AtomicInteger small = new AtomicInteger();
        AtomicInteger large = new AtomicInteger();
        start(entry("small", upstream("small", small), "id = \"small\", context_window = 50, tags = [code]") + ","
                        + entry("large", upstream("large", large), "id = \"large\", tags = [long-context, reasoning]"),
                "groups { small { context_window_fallbacks = [large] } }");
        assertEquals("small", header(chat(body("small")), "x-nemo-model"));
        String longOne = "{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "word ".repeat(200) + "\"}]}";
        HttpResponse<String> r = chat(longOne);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("large", header(r, "x-nemo-model"), "too long for small's 50-token window");
        HttpResponse<String> auto = chat("{\"model\":\"auto\",\"tags\":[\"reasoning\"],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals("large", header(auto, "x-nemo-model"));
        HttpResponse<String> none = chat("{\"model\":\"auto\",\"tags\":[\"vision\"],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals(400, none.statusCode());
    }

    @Test
    void anExperimentSplitsAModelsTrafficStickyPerKeyAndSaysWhichVariant() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        gw = TestGateway.builder().config("nemo.models = [" + entry("m", upstream("a", a), "id = \"a\"") + ","
                + entry("m2", upstream("b", b), "id = \"b\"") + "]\n"
                + "nemo.keys.master_key = \"" + MASTER + "\"\n"
                + "nemo.router.experiments = [ { name = \"ab\", model = \"m\", split = { m = 50, m2 = 50 }, sticky = key } ]\n").start();
        Map<String, String> seen = new HashMap<>();
        int variants = 0;
        for (int k = 0; k < 12; k++) {
            String key = JSON.readTree(gw.post("/key/generate", "{}", "authorization", "Bearer " + MASTER).body())
                    .get("key").asText();
            String first = null;
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> r = gw.post("/v1/chat/completions", body("m"), "authorization", "Bearer " + key);
                assertEquals(200, r.statusCode(), r.body());
                String v = header(r, "x-nemo-variant");
                if (first == null) {
                    first = v;
                }
                assertEquals(first, v, "sticky per key");
                assertEquals(v.equals("m") ? "a" : "b", header(r, "x-nemo-model"));
            }
            seen.put(key, first);
        }
        variants = (int) seen.values().stream().distinct().count();
        assertEquals(2, variants, "12 keys land on both sides of a 50/50 split: " + seen.values());
        Thread.sleep(300); // the request log's writer
        JsonNode report = JSON.readTree(gw.get("/spend/report?group_by=variant", "authorization", "Bearer " + MASTER).body());
        long onM = seen.values().stream().filter("m"::equals).count() * 4;
        int reported = 0;
        for (JsonNode row : report.get("data")) {
            reported += row.get("requests").asInt();
            if (row.get("group").asText().equals("m")) {
                assertEquals(onM, row.get("requests").asLong(), report.toString());
            }
        }
        assertEquals(48, reported, "every call is in a variant's row: " + report);
        JsonNode logged = JSON.readTree(gw.get("/spend/logs?variant=m2&limit=100", "authorization", "Bearer " + MASTER).body());
        assertEquals(48 - onM, logged.get("data").size(), logged.toString());
        assertEquals("m2", logged.at("/data/0/variant").asText());
    }

    @Test
    void openAisRateLimitResetHeadersCoolADeploymentDownToo() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            if (a.get() == 1) {
                reply.header("x-ratelimit-reset-requests", "150ms").header("x-ratelimit-reset-tokens", "1s");
                ScriptableUpstream.status(429, null).answer(req, reply);
            } else {
                ScriptableUpstream.chat("from a").answer(req, reply);
            }
        });
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", upstream("b", b), "id = \"b\""),
                "strategy = cost, num_retries = 1");
        assertEquals("b", header(chat(body("m")), "x-nemo-model"));
        assertEquals("b", header(chat(body("m")), "x-nemo-model"), "out until the later reset (1 s)");
        Thread.sleep(1200);
        assertEquals("a", header(chat(body("m")), "x-nemo-model"));
    }

    @Test
    void aTokensPerMinuteQuotaHoldsToo() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        // each answer uses 15 tokens: a's 20 a minute is spent after two
        start(entry("m", upstream("a", a), "id = \"a\", tpm = 20, input_cost_per_mtok = 0.1") + ","
                + entry("m", upstream("b", b), "id = \"b\""), "strategy = cost", TEN_PAST);
        for (int i = 0; i < 5; i++) {
            assertEquals(200, chat(body("m")).statusCode());
            Thread.sleep(20); // the completion's tokens are counted as it finishes
        }
        assertEquals(2, a.get(), "a took calls until its tokens this minute reached its quota");
        assertEquals(3, b.get());
    }

    @Test
    void aKeysTagsAreItsRequestsDefaultsAndABodysTagsOverrideThem() throws Exception {
        AtomicInteger text = new AtomicInteger();
        AtomicInteger eyes = new AtomicInteger();
        start(entry("text", upstream("text", text), "id = \"text\", tags = [code]") + ","
                + entry("eyes", upstream("eyes", eyes), "id = \"eyes\", tags = [vision]"), "");
        String key = JSON.readTree(gw.post("/key/generate", "{\"tags\":[\"vision\",\"nightly\"]}", "authorization", "Bearer " + MASTER)
                .body()).get("key").asText();
        HttpResponse<String> r = gw.post("/v1/chat/completions", body("text"), "authorization", "Bearer " + key);
        assertEquals(400, r.statusCode(), "the key's default tags ask for vision: " + r.body());
        assertEquals(200, gw.post("/v1/chat/completions", body("eyes"), "authorization", "Bearer " + key).statusCode());
        HttpResponse<String> own = gw.post("/v1/chat/completions",
                "{\"model\":\"text\",\"tags\":[\"code\"],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                "authorization", "Bearer " + key);
        assertEquals(200, own.statusCode(), "the body's tags replace the key's: " + own.body());
        assertEquals(200, chat(body("text")).statusCode(), "the master key has no default tags");
    }

    @Test
    void whenACooldownEndsOneProbeGoesAndTheRestGoElsewhereUntilItAnswers() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            if (a.get() == 1) {
                ScriptableUpstream.status(429, "1").answer(req, reply);
            } else {
                reply.after(Duration.ofMillis(400), () -> ScriptableUpstream.chat("from a").answer(req, reply));
            }
        });
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", upstream("b", b), "id = \"b\""),
                "strategy = cost, num_retries = 1");
        assertEquals("b", header(chat(body("m")), "x-nemo-model"));
        Thread.sleep(1100);
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            all.add(gw.http().sendAsync(HttpRequest.newBuilder(URI.create(gw.base() + "/v1/chat/completions"))
                    .header("content-type", "application/json").header("authorization", "Bearer " + MASTER)
                    .POST(HttpRequest.BodyPublishers.ofString(body("m"))).build(), HttpResponse.BodyHandlers.ofString()));
            Thread.sleep(20);
        }
        int onA = 0;
        for (var f : all) {
            HttpResponse<String> r = f.get(10, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            onA += header(r, "x-nemo-model").equals("a") ? 1 : 0;
        }
        assertEquals(1, onA, "one probe while a is half-open; the others went to b");
        assertEquals("a", header(chat(body("m")), "x-nemo-model"), "the probe answered: a is back");
    }
}
