package io.nemorouter.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.filters.cache.CacheExtension;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The response cache through a real gateway in front of a scriptable upstream that counts its calls. */
class CacheTest {
    static final String MASTER = "sk-master-test-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();

    ScriptableUpstream upstream;
    TestGateway gw;
    Path keepDir;
    final AtomicInteger calls = new AtomicInteger();
    final AtomicLong now = new AtomicLong(Instant.parse("2026-12-01T10:00:00Z").toEpochMilli());
    final Clock clock = new Clock() {
        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(now.get());
        }
    };

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

    /** Each call answers "answer <n>" (n counts the upstream's calls), streamed when asked, 10 + 5 tokens. */
    TestGateway start(String extra, Path dataDir) throws Exception {
        if (upstream == null) {
            upstream = new ScriptableUpstream();
            upstream.otherwise(ScriptableUpstream.numberedAnswers(calls));
        }
        String base = upstream.apiBase();
        TestGateway.Builder b = TestGateway.builder()
                .config("nemo.models = ["
                        + "{ name = \"m\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\", input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 },"
                        + "{ name = \"e\", provider = openai, api_base = \"" + base + "\", api_key = \"sk-up\", input_cost_per_mtok = 100 }]\n"
                        + "nemo.keys.master_key = \"" + MASTER + "\"\nnemo.cache.enabled = true\n" + extra)
                .extension(new CacheExtension(clock));
        if (dataDir != null) {
            b.dataDir(dataDir);
        }
        gw = b.start();
        return gw;
    }

    HttpResponse<String> chat(String key, String body) throws Exception {
        return gw.post("/v1/chat/completions", body, "authorization", "Bearer " + key);
    }

    static String body(String extra) {
        return "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"What is a gateway?\"}],\"temperature\":0.7" + extra + "}";
    }

    static String cache(HttpResponse<String> r) {
        return r.headers().firstValue("x-nemo-cache").orElse("");
    }

    JsonNode admin(String path, String body) throws Exception {
        HttpResponse<String> r = gw.post(path, body, "authorization", "Bearer " + MASTER);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void aRepeatIsAHitThatCostsNothingAndNemoCacheFalseRefreshesIt() throws Exception {
        start("", null);
        HttpResponse<String> first = chat(MASTER, body(""));
        assertEquals("miss", cache(first));
        assertEquals(0.02, Double.parseDouble(first.headers().firstValue("x-nemo-response-cost").orElseThrow()), 1e-9);
        Thread.sleep(100); // the writer thread stores it
        HttpResponse<String> second = chat(MASTER, body(""));
        assertEquals("hit", cache(second));
        assertEquals(first.body(), second.body(), "the stored answer, byte for byte");
        assertEquals(1, calls.get(), "the provider was called once");
        assertEquals(0.0, Double.parseDouble(second.headers().firstValue("x-nemo-response-cost").orElseThrow()), 1e-12);
        assertEquals(16, second.headers().firstValue("x-nemo-cache-key").orElseThrow().length());
        now.addAndGet(42_000);
        assertEquals("42", chat(MASTER, body("")).headers().firstValue("x-nemo-cache-age").orElseThrow());

        HttpResponse<String> bypass = chat(MASTER, body(",\"nemo_cache\":false"));
        assertEquals("bypass", cache(bypass));
        assertEquals(2, calls.get());
        assertTrue(bypass.body().contains("answer 2"));
        Thread.sleep(100);
        HttpResponse<String> refreshed = chat(MASTER, body(""));
        assertEquals("hit", cache(refreshed));
        assertTrue(refreshed.body().contains("answer 2"), "the bypass refreshed the entry: " + refreshed.body());
        assertFalse(upstream.last().body().contains("nemo_cache"), "nemo_cache never reaches the provider");
    }

    @Test
    void memberOrderWhitespaceAndNumberFormsAreOneRequestWhileAnyAnswerChangingFieldIsAnother() throws Exception {
        start("", null);
        chat(MASTER, body(""));
        Thread.sleep(100);
        String[] same = {
                "{ \"temperature\" : 0.70, \"messages\":[{\"content\":\"What is a gateway?\",\"role\":\"user\"}], \"model\":\"m\" }",
                body(",\"metadata\":{\"job_id\":\"j9\"},\"user\":\"ana\",\"tags\":[\"x\"],\"stream_options\":null"),
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"What is a gateway?\"}],\"temperature\":7e-1}"};
        for (String s : same) {
            assertEquals("hit", cache(chat(MASTER, s)), s);
        }
        assertEquals(1, calls.get());
        String[] different = {body(",\"max_tokens\":5"), body(",\"seed\":1"),
                body("").replace("0.7", "0.8"), body("").replace("gateway?", "gateway!"),
                body(",\"response_format\":{\"type\":\"json_object\"}")};
        for (int i = 0; i < different.length; i++) {
            assertEquals("miss", cache(chat(MASTER, different[i])), different[i]);
            assertEquals(2 + i, calls.get());
        }
    }

    @Test
    void oneTenantNeverReadsAnothersAnswers() throws Exception {
        start("", null);
        admin("/organization/new", "{\"organization_id\":\"acme\"}");
        admin("/organization/new", "{\"organization_id\":\"globex\"}");
        admin("/team/new", "{\"team_id\":\"a1\",\"organization_id\":\"acme\"}");
        admin("/team/new", "{\"team_id\":\"a2\",\"organization_id\":\"acme\"}");
        admin("/team/new", "{\"team_id\":\"g1\",\"organization_id\":\"globex\"}");
        String acme1 = admin("/key/generate", "{\"team_id\":\"a1\"}").get("key").asText();
        String acme2 = admin("/key/generate", "{\"team_id\":\"a2\"}").get("key").asText();
        String globex = admin("/key/generate", "{\"team_id\":\"g1\"}").get("key").asText();
        String loner = admin("/key/generate", "{}").get("key").asText();
        assertEquals("miss", cache(chat(acme1, body(""))));
        Thread.sleep(100);
        assertEquals("hit", cache(chat(acme2, body(""))), "one organization shares its answers");
        assertEquals("miss", cache(chat(globex, body(""))), "another organization does not see them");
        assertEquals("miss", cache(chat(loner, body(""))), "nor does a key outside any organization");
        assertEquals("miss", cache(chat(MASTER, body(""))));
        assertEquals(4, calls.get());
    }

    @Test
    void aStreamIsReplayedWithItsUsageEventExactlyWhenAsked() throws Exception {
        start("", null);
        HttpResponse<String> first = chat(MASTER, body(",\"stream\":true"));
        assertEquals("miss", cache(first));
        String expected = ScriptableUpstream.chunk("answer ", false) + ScriptableUpstream.chunk("1", false) + "data: [DONE]\n\n";
        assertEquals(expected, first.body());
        Thread.sleep(100);
        HttpResponse<String> replay = chat(MASTER, body(",\"stream\":true"));
        assertEquals("hit", cache(replay));
        assertEquals(expected, replay.body(), "the same events, byte for byte");
        assertTrue(replay.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        HttpResponse<String> withUsage = chat(MASTER, body(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals("hit", cache(withUsage));
        assertTrue(withUsage.body().contains("\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}"),
                withUsage.body());
        assertTrue(withUsage.body().endsWith("data: [DONE]\n\n"));
        assertEquals(1, calls.get());
    }

    @Test
    void embeddingsAreCachedToo() throws Exception {
        start("", null);
        String req = "{\"model\":\"e\",\"input\":[\"a chunk of a document\"]}";
        HttpResponse<String> first = gw.post("/v1/embeddings", req, "authorization", "Bearer " + MASTER);
        assertEquals("miss", cache(first));
        Thread.sleep(100);
        HttpResponse<String> second = gw.post("/v1/embeddings", req, "authorization", "Bearer " + MASTER);
        assertEquals("hit", cache(second));
        assertEquals(first.body(), second.body());
        assertEquals("miss", cache(gw.post("/v1/embeddings", req.replace("[\"a", "[\"A"), "authorization", "Bearer " + MASTER)));
        assertEquals(2, calls.get());
    }

    @Test
    void errorsBrokenStreamsAndOversizedAnswersAreNotStored() throws Exception {
        start("nemo.cache { max_entry_size = 1 KiB, average_entry_size = 512 }", null);
        upstream.on("m", (req, reply) -> {
            int n = calls.incrementAndGet();
            String content = req.json().at("/messages/0/content").asText();
            switch (content) {
                case "fail" -> ScriptableUpstream.status(500, null).answer(req, reply);
                case "refuse" -> ScriptableUpstream.status(400, null).answer(req, reply);
                case "big" -> ScriptableUpstream.chat("x".repeat(2000)).answer(req, reply);
                case "cut" -> {
                    reply.startStream();
                    reply.event(ScriptableUpstream.chunk("half", true));
                    reply.after(Duration.ofMillis(20), reply::close);
                }
                default -> ScriptableUpstream.chat("fine " + n).answer(req, reply);
            }
        });
        for (String content : new String[]{"fail", "refuse", "big", "cut"}) {
            String b = "{\"model\":\"m\"," + (content.equals("cut") ? "\"stream\":true," : "")
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
            chat(MASTER, b);
            Thread.sleep(100);
            int before = calls.get();
            assertNotEquals("hit", cache(chat(MASTER, b)), content);
            assertEquals(before + 1, calls.get(), content + " was not stored");
        }
    }

    @Test
    void entriesExpireAfterTheirTtl() throws Exception {
        start("nemo.cache.ttl = 10m", null);
        chat(MASTER, body(""));
        Thread.sleep(100);
        now.addAndGet(Duration.ofMinutes(9).toMillis());
        assertEquals("hit", cache(chat(MASTER, body(""))));
        now.addAndGet(Duration.ofMinutes(2).toMillis());
        assertEquals("miss", cache(chat(MASTER, body(""))));
        assertEquals(2, calls.get());
    }

    @Test
    void theByteBoundEvictsTheOldestFirst() throws Exception {
        start("nemo.cache { max_bytes = 2 KiB, max_entry_size = 1 KiB, average_entry_size = 512 }", null);
        for (int i = 0; i < 12; i++) {
            chat(MASTER, body(",\"seed\":" + i));
            now.addAndGet(1000);
        }
        Thread.sleep(200);
        JsonNode stats = JSON.readTree(gw.get("/cache/stats", "authorization", "Bearer " + MASTER).body());
        assertTrue(stats.get("bytes").asLong() <= 2048, stats.toString());
        assertTrue(stats.get("entries").asLong() >= 2 && stats.get("entries").asLong() < 12, stats.toString());
        int before = calls.get();
        assertEquals("hit", cache(chat(MASTER, body(",\"seed\":11"))), "the newest stays");
        assertEquals("miss", cache(chat(MASTER, body(",\"seed\":0"))), "the oldest went first");
        assertEquals(before + 1, calls.get());
    }

    @Test
    void storedAnswersSurviveARestart() throws Exception {
        keepDir = Files.createTempDirectory("nemo-cache");
        start("", keepDir);
        String first = chat(MASTER, body("")).body();
        Thread.sleep(100);
        gw.close();
        gw = null;
        start("", keepDir);
        HttpResponse<String> after = chat(MASTER, body(""));
        assertEquals("hit", cache(after));
        assertEquals(first, after.body());
        assertEquals(1, calls.get());
    }

    @Test
    void answersCutShortByMaxTokensAreNotStoredWhenTheCacheIsToldSo() throws Exception {
        upstream = new ScriptableUpstream();
        upstream.otherwise((request, reply) -> {
            int n = calls.incrementAndGet();
            String finish = request.json().has("max_tokens") ? "length" : "stop";
            reply.json(200, "{\"id\":\"c" + n + "\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"answer " + n + "\"},\"finish_reason\" :\n \"" + finish + "\"}],"
                    + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}");
        });
        start("nemo.cache.store_truncated = false", null);
        assertEquals("miss", cache(chat(MASTER, body(",\"max_tokens\":5"))));
        Thread.sleep(100);
        assertEquals("miss", cache(chat(MASTER, body(",\"max_tokens\":5"))), "cut short by max_tokens: not stored");
        assertEquals("miss", cache(chat(MASTER, body(""))));
        Thread.sleep(100);
        assertEquals("hit", cache(chat(MASTER, body(""))), "finished: stored");
        assertEquals(3, calls.get());
    }

    @Test
    void aHitCountsTowardTheKeysRpmButSpendsNothing() throws Exception {
        start("", null);
        JsonNode k = admin("/key/generate", "{\"key_alias\":\"dev\",\"rpm_limit\":3,\"max_budget\":1}");
        String key = k.get("key").asText();
        assertEquals(200, chat(key, body(",\"max_tokens\":5")).statusCode());
        Thread.sleep(100);
        assertEquals("hit", cache(chat(key, body(",\"max_tokens\":5"))));
        assertEquals("hit", cache(chat(key, body(",\"max_tokens\":5"))));
        assertEquals(429, chat(key, body(",\"max_tokens\":5")).statusCode(), "three requests a minute, hits included");
        JsonNode info = JSON.readTree(gw.get("/key/info?key=" + key, "authorization", "Bearer " + MASTER).body());
        assertEquals(0.02, info.get("info").get("spend").asDouble(), 1e-9, "only the miss was paid for");
    }

    @Test
    void hitsAreLoggedWithTheCostTheySavedAndCountedInMetrics() throws Exception {
        start("", null);
        chat(MASTER, body(""));
        Thread.sleep(100);
        chat(MASTER, body(""));
        JsonNode logs = null;
        for (int i = 0; i < 100; i++) {
            logs = JSON.readTree(gw.get("/spend/logs?cache=hit", "authorization", "Bearer " + MASTER).body());
            if (logs.get("data").size() == 1) {
                break;
            }
            Thread.sleep(20);
        }
        JsonNode hit = logs.get("data").get(0);
        assertEquals(0.0, hit.get("cost").asDouble(), 1e-12);
        assertEquals(0.02, hit.get("saved_cost").asDouble(), 1e-9);
        JsonNode report = JSON.readTree(gw.get("/spend/report", "authorization", "Bearer " + MASTER).body());
        assertEquals(1, report.at("/totals/cache_hits").asInt());
        assertEquals(0.02, report.at("/totals/saved_cost").asDouble(), 1e-9);
        String metrics = gw.get("/metrics").body();
        assertTrue(metrics.contains("nemo_cache_lookups_total{result=\"hit\",} 1.0"), metrics);
        assertTrue(metrics.contains("nemo_cache_decisions_total{decision=\"hit\",} 1.0"), metrics);
    }

    @Test
    void theAdminMayReadStatsAndFlushByModelOrEverything() throws Exception {
        start("", null);
        chat(MASTER, body(""));
        gw.post("/v1/embeddings", "{\"model\":\"e\",\"input\":\"x\"}", "authorization", "Bearer " + MASTER);
        Thread.sleep(100);
        chat(MASTER, body(""));
        JsonNode stats = JSON.readTree(gw.get("/cache/stats", "authorization", "Bearer " + MASTER).body());
        assertEquals(2, stats.get("entries").asInt());
        assertEquals(1, stats.get("hits").asInt());
        assertEquals(1 / 3.0, stats.get("hit_rate").asDouble(), 1e-9, "one hit, two misses");
        assertEquals(1, admin("/cache/flush", "{\"model\":\"e\"}").get("flushed").asInt());
        assertEquals(1, admin("/cache/flush", "").get("flushed").asInt());
        assertEquals("miss", cache(chat(MASTER, body(""))));
        String key = admin("/key/generate", "{}").get("key").asText();
        assertEquals(403, gw.post("/cache/flush", "{}", "authorization", "Bearer " + key).statusCode());
        assertEquals(400, gw.post("/cache/flush", "{\"colour\":1}", "authorization", "Bearer " + MASTER).statusCode());
    }

    @Test
    void aStoredAnswerServesTheOtherFormStreamAndWhole() throws Exception {
        start("", null);
        HttpResponse<String> whole = chat(MASTER, body(""));
        Thread.sleep(100);
        HttpResponse<String> asStream = chat(MASTER, body(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals("hit", cache(asStream));
        StringBuilder content = new StringBuilder();
        String finish = null;
        boolean usage = false;
        String[] events = asStream.body().split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1]);
        for (String ev : events) {
            assertTrue(ev.startsWith("data: "), ev);
            if (ev.equals("data: [DONE]")) {
                continue;
            }
            JsonNode chunk = JSON.readTree(ev.substring(6));
            assertEquals("chat.completion.chunk", chunk.get("object").asText());
            assertEquals(JSON.readTree(whole.body()).get("id"), chunk.get("id"));
            if (chunk.get("choices").isEmpty()) {
                usage = chunk.at("/usage/total_tokens").asInt() == 15;
                continue;
            }
            content.append(chunk.at("/choices/0/delta/content").asText(""));
            if (!chunk.at("/choices/0/finish_reason").isNull()) {
                finish = chunk.at("/choices/0/finish_reason").asText();
            }
        }
        assertEquals("answer 1", content.toString());
        assertEquals("stop", finish);
        assertTrue(usage, "the usage event the client asked for");

        HttpResponse<String> streamed = chat(MASTER, body(",\"seed\":3,\"stream\":true"));
        Thread.sleep(100);
        HttpResponse<String> asWhole = chat(MASTER, body(",\"seed\":3"));
        assertEquals("hit", cache(asWhole));
        JsonNode c = JSON.readTree(asWhole.body());
        assertEquals("chat.completion", c.get("object").asText());
        assertEquals("answer 2", c.at("/choices/0/message/content").asText());
        assertEquals(15, c.at("/usage/total_tokens").asInt());
        assertTrue(streamed.body().contains("answer "));
        assertEquals(2, calls.get());
    }

    @Test
    void aRequestMayShortenItsAnswersTtl() throws Exception {
        start("", null);
        chat(MASTER, body(",\"nemo_cache\":{\"ttl\":60}"));
        Thread.sleep(100);
        now.addAndGet(30_000);
        assertEquals("hit", cache(chat(MASTER, body(""))));
        now.addAndGet(31_000);
        assertEquals("miss", cache(chat(MASTER, body(""))), "kept 60 s, not the hour");
        HttpResponse<String> bad = chat(MASTER, body(",\"nemo_cache\":{\"ttl\":0}"));
        assertEquals(400, bad.statusCode());
        assertEquals("nemo_cache.ttl", JSON.readTree(bad.body()).at("/error/param").asText(), bad.body());
        assertEquals(400, chat(MASTER, body(",\"nemo_cache\":{\"tll\":5}")).statusCode());
    }

    @Test
    void keysTeamsAndOrganizationsSetTheirOwnPolicyInMetadata() throws Exception {
        start("", null);
        admin("/organization/new", "{\"organization_id\":\"acme\"}");
        admin("/team/new", "{\"team_id\":\"legal\",\"organization_id\":\"acme\",\"metadata\":{\"cache_ttl\":60}}");
        admin("/team/new", "{\"team_id\":\"ml\",\"organization_id\":\"acme\"}");
        String noCache = admin("/key/generate", "{\"team_id\":\"ml\",\"metadata\":{\"cache\":\"off\"}}").get("key").asText();
        String ml = admin("/key/generate", "{\"team_id\":\"ml\"}").get("key").asText();
        String legal = admin("/key/generate", "{\"team_id\":\"legal\"}").get("key").asText();
        HttpResponse<String> off = chat(noCache, body(""));
        assertEquals("bypass", cache(off));
        Thread.sleep(100);
        assertEquals("bypass", cache(chat(noCache, body(""))), "never read, never stored");
        assertEquals("miss", cache(chat(ml, body(""))));
        Thread.sleep(100);
        assertEquals("miss", cache(chat(legal, body(""))), "a team with its own policy has its own cache");
        Thread.sleep(100);
        now.addAndGet(61_000);
        assertEquals("hit", cache(chat(ml, body(""))), "the organization's default hour");
        assertEquals("miss", cache(chat(legal, body(""))), "the team's 60 s");
        Thread.sleep(100);
        assertEquals(1, admin("/cache/flush", "{\"team_id\":\"legal\"}").get("flushed").asInt(), "the team's own cache");
        assertEquals("miss", cache(chat(legal, body(""))));
        Thread.sleep(100);
        assertEquals(2, admin("/cache/flush", "{\"organization_id\":\"acme\"}").get("flushed").asInt(),
                "the organization's answers and those of its team with a cache of its own");
        assertEquals("miss", cache(chat(ml, body(""))));
        assertEquals("miss", cache(chat(legal, body(""))));
    }

    /** Ten identical requests at once, against an upstream that takes its time: one provider call. */
    @Test
    void identicalRequestsInFlightAtOnceMakeOneUpstreamCall() throws Exception {
        start("", null);
        upstream.on("m", (req, reply) -> {
            int n = calls.incrementAndGet();
            reply.after(Duration.ofMillis(400), () -> {
                if (req.json().path("stream").asBoolean()) {
                    ScriptableUpstream.chatStream("answer ", String.valueOf(n)).answer(req, reply);
                } else {
                    ScriptableUpstream.chat("answer " + n).answer(req, reply);
                }
            });
        });
        java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new java.util.ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String b = body(i % 3 == 0 ? ",\"stream\":true" : "");
            all.add(gw.http().sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/v1/chat/completions"))
                    .header("authorization", "Bearer " + MASTER).header("content-type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(b)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()));
            Thread.sleep(10);
        }
        int hits = 0;
        for (var f : all) {
            HttpResponse<String> r = f.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().contains("answer") && r.body().contains("1"), r.body());
            hits += cache(r).equals("hit") ? 1 : 0;
        }
        assertEquals(1, calls.get(), "one provider call for ten requests");
        assertEquals(9, hits);
    }

    /** When the first fails, those waiting on it go upstream on their own. */
    @Test
    void whenTheLeaderFailsItsFollowersGoOnTheirOwn() throws Exception {
        start("", null);
        upstream.on("m", (req, reply) -> {
            int n = calls.incrementAndGet();
            reply.after(Duration.ofMillis(300), () -> {
                if (n == 1) {
                    ScriptableUpstream.status(500, null).answer(req, reply);
                } else {
                    ScriptableUpstream.chat("answer " + n).answer(req, reply);
                }
            });
        });
        java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            all.add(gw.http().sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/v1/chat/completions"))
                    .header("authorization", "Bearer " + MASTER).header("content-type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body(""))).build(), java.net.http.HttpResponse.BodyHandlers.ofString()));
            Thread.sleep(20);
        }
        int ok = 0;
        for (var f : all) {
            ok += f.get(10, java.util.concurrent.TimeUnit.SECONDS).statusCode() == 200 ? 1 : 0;
        }
        assertEquals(2, ok, "the leader's 500 is its own; the two followers were answered");
        assertTrue(calls.get() >= 2 && calls.get() <= 3, "followers went upstream: " + calls.get());
        Thread.sleep(100);
        int before = calls.get();
        assertEquals("hit", cache(chat(MASTER, body(""))), "what the followers got on their own was stored");
        assertEquals(before, calls.get());
    }

    /** A streamed request whose answer's lines are read as they arrive (its head: {@link #head}). */
    final class Lines {
        final java.util.concurrent.LinkedBlockingQueue<String> lines = new java.util.concurrent.LinkedBlockingQueue<>();
        final java.util.concurrent.CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> head;

        Lines(String body) {
            head = gw.http().sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/v1/chat/completions"))
                    .header("authorization", "Bearer " + MASTER).header("content-type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
            head.thenAccept(r -> new Thread(() -> {
                try {
                    r.body().filter(l -> !l.isEmpty()).forEach(lines::add);
                } catch (RuntimeException cut) {
                    lines.add("<cut: " + cut + ">");
                }
                lines.add("<end>");
            }).start());
        }

        /** The next non-empty line, waiting up to 5 s; fails when none comes. */
        String next() throws InterruptedException {
            String l = lines.poll(5, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(l != null, "a line within 5 s");
            return l;
        }

        /** Every line up to the end of the answer. */
        java.util.List<String> rest() throws InterruptedException {
            java.util.List<String> all = new java.util.ArrayList<>();
            for (String l = next(); !l.equals("<end>"); l = next()) {
                all.add(l);
            }
            return all;
        }

        String header(String name) throws Exception {
            return head.get(5, java.util.concurrent.TimeUnit.SECONDS).headers().firstValue(name).orElse("");
        }
    }

    /**
     * A follower that asks for a stream receives the leader's events as the upstream sends them,
     * not when it ends: one that came before the first event, and one that came mid-stream (it gets
     * the events so far at once), while the upstream still holds the rest back.
     */
    @Test
    void streamFollowersReceiveTheLeadersEventsAsTheyArrive() throws Exception {
        start("", null);
        java.util.concurrent.CountDownLatch first = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch rest = new java.util.concurrent.CountDownLatch(1);
        upstream.on("m", (req, reply) -> {
            calls.incrementAndGet();
            boolean usage = req.json().at("/stream_options/include_usage").asBoolean(false);
            reply.startStream();
            new Thread(() -> {
                try {
                    first.await();
                    reply.event(ScriptableUpstream.chunk("one", usage));
                    rest.await();
                } catch (InterruptedException e) {
                    return;
                }
                reply.event(ScriptableUpstream.chunk("two", usage));
                if (usage) {
                    reply.event("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
                            + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\n");
                }
                reply.event("data: [DONE]\n\n");
                reply.end();
            }).start();
        });
        Lines leader = new Lines(body(",\"stream\":true"));
        assertEquals("miss", leader.header("x-nemo-cache"));
        Lines early = new Lines(body(",\"stream\":true"));
        Thread.sleep(300); // joined, nothing to receive yet
        assertTrue(early.lines.isEmpty());
        first.countDown();
        assertTrue(leader.next().contains("\"one\""));
        assertTrue(early.next().contains("\"one\""), "the early follower has the first event while the upstream holds the rest");
        assertEquals("hit", early.header("x-nemo-cache"));
        assertEquals("0", early.header("x-nemo-response-cost"));
        Lines late = new Lines(body(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertTrue(late.next().contains("\"one\""), "a follower that joins mid-stream gets the events so far at once");
        assertEquals("hit", late.header("x-nemo-cache"));
        assertEquals(1, calls.get());
        rest.countDown();

        java.util.List<String> lateRest = late.rest();
        assertTrue(lateRest.get(0).contains("\"two\""), lateRest.toString());
        assertTrue(lateRest.get(1).contains("\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5"), "asked for usage: " + lateRest);
        assertEquals("data: [DONE]", lateRest.get(2));
        assertEquals(3, lateRest.size(), lateRest.toString());
        java.util.List<String> earlyRest = early.rest();
        assertEquals(java.util.List.of(earlyRest.get(0), "data: [DONE]"), earlyRest, "no usage event when not asked");
        assertTrue(earlyRest.get(0).contains("\"two\"") && !earlyRest.get(0).contains("usage"), earlyRest.toString());
        assertEquals(java.util.List.of(earlyRest.get(0), "data: [DONE]"), leader.rest());
        assertEquals(1, calls.get(), "one provider call for three streams");
        // and the answer was stored: a fourth is an ordinary hit
        assertEquals("hit", cache(chat(MASTER, body(""))));
    }

    /**
     * When a leader's stream breaks after followers have had events from it, theirs break off too
     * (an error event, no [DONE]); a follower that had nothing yet goes upstream on its own.
     */
    @Test
    void aLeaderStreamThatBreaksBreaksItsLiveFollowersAndTheOthersGoOnTheirOwn() throws Exception {
        start("", null);
        java.util.concurrent.CountDownLatch breakIt = new java.util.concurrent.CountDownLatch(1);
        upstream.on("m", (req, reply) -> {
            int n = calls.incrementAndGet();
            if (n > 1) {
                ScriptableUpstream.chat("answer " + n).answer(req, reply);
                return;
            }
            reply.startStream();
            reply.event(ScriptableUpstream.chunk("one", false));
            new Thread(() -> {
                try {
                    breakIt.await();
                } catch (InterruptedException e) {
                    return;
                }
                reply.close();
            }).start();
        });
        Lines leader = new Lines(body(",\"stream\":true"));
        assertTrue(leader.next().contains("\"one\""));
        Lines live = new Lines(body(",\"stream\":true"));
        assertTrue(live.next().contains("\"one\""));
        var whole = gw.http().sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.base() + "/v1/chat/completions"))
                .header("authorization", "Bearer " + MASTER).header("content-type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body(""))).build(), HttpResponse.BodyHandlers.ofString());
        Thread.sleep(300);
        breakIt.countDown();

        java.util.List<String> liveRest = live.rest();
        assertFalse(liveRest.contains("data: [DONE]"), liveRest.toString());
        assertTrue(liveRest.stream().anyMatch(l -> l.contains("upstream_stream_broken")), "an error event: " + liveRest);
        HttpResponse<String> w = whole.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, w.statusCode(), w.body());
        assertTrue(w.body().contains("answer 2"), "went upstream on its own: " + w.body());
        assertEquals("miss", cache(w));
        assertEquals(2, calls.get());
    }
}
