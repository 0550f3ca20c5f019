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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A review of the router: each test states what the README's "Routing" section (or a production
 * user) expects, and fails on the code as it is.
 */
class RouterReviewTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MASTER = "sk-master-test-0123456789";
    /** Ten seconds into a minute, and staying there: a quota test never crosses into the next minute. */
    static final Clock TEN_PAST = Clock.fixed(Instant.parse("2026-12-01T10:00:10Z"), ZoneOffset.UTC);

    final List<ScriptableUpstream> upstreams = new ArrayList<>();
    TestGateway gw;

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        upstreams.forEach(ScriptableUpstream::close);
    }

    /** An upstream stand-in that runs {@code script} on each call (after counting it). */
    ScriptableUpstream upstream(AtomicInteger calls, ScriptableUpstream.Script script) throws Exception {
        ScriptableUpstream u = new ScriptableUpstream();
        u.otherwise((req, reply) -> {
            calls.incrementAndGet();
            script.answer(req, reply);
        });
        upstreams.add(u);
        return u;
    }

    static ScriptableUpstream.Script ok(String label) {
        return ScriptableUpstream.chat("from " + label);
    }

    static String entry(String name, ScriptableUpstream u, String extra) {
        return "{ name = \"" + name + "\", provider = openai, api_base = \"" + u.apiBase() + "\", api_key = \"sk\", "
                + "input_cost_per_mtok = 1, output_cost_per_mtok = 2" + (extra.isEmpty() ? "" : ", " + extra) + " }";
    }

    void start(String models, String router) throws Exception {
        start(models, router, Clock.systemUTC());
    }

    void start(String models, String router, Clock clock) throws Exception {
        gw = TestGateway.builder().config("nemo.models = [" + models + "]\nnemo.router { " + router + " }\n"
                + "nemo.keys.master_key = \"" + MASTER + "\"\n").extension(new RouterExtension(clock)).start();
    }

    HttpResponse<String> chat(String body) throws Exception {
        return gw.post("/v1/chat/completions", body, "authorization", "Bearer " + MASTER);
    }

    CompletableFuture<HttpResponse<String>> chatAsync(String body) {
        return gw.http().sendAsync(HttpRequest.newBuilder(URI.create(gw.base() + "/v1/chat/completions"))
                .header("content-type", "application/json").header("authorization", "Bearer " + MASTER)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String body(String model) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse("");
    }

    /** A clock that stands still until a test moves it on. */
    static final class MovableClock extends Clock {
        final AtomicLong millis = new AtomicLong(System.currentTimeMillis());

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public long millis() {
            return millis.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }
    }

    // ---- the half-open probe ---------------------------------------------------------------------

    /**
     * README: "When the time is up one request probes it". The router claims the probe when it
     * chooses the deployment, but a request whose {@code DEPLOYMENT_CHOSEN} filter answers (the
     * budget's 402) never starts its attempt, so the strategy never hears its end and the probe is
     * never given back: the deployment stays half-open, and out of use, for good.
     */
    @Test
    void aProbeClaimedByARequestThatItsBudgetRefusesIsGivenBack() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        AtomicInteger refuse = new AtomicInteger(1);
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            if (refuse.getAndSet(0) == 1) {
                ScriptableUpstream.status(429, "1").answer(req, reply);
            } else {
                ok("a").answer(req, reply);
            }
        });
        ScriptableUpstream ub = upstream(b, ok("b"));
        // cost: a is cheaper, so it is chosen whenever it is available
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", ub, "id = \"b\""),
                "strategy = cost, num_retries = 1");
        assertEquals("b", header(chat(body("m")), "x-nemo-model"), "a's 429 (Retry-After 1) went to b");
        Thread.sleep(1200); // a's cooldown is over: half-open
        String poor = JSON.readTree(gw.post("/key/generate", "{\"max_budget\":0.001}", "authorization", "Bearer " + MASTER)
                .body()).get("key").asText();
        HttpResponse<String> refused = gw.post("/v1/chat/completions", body("m"), "authorization", "Bearer " + poor);
        assertEquals(402, refused.statusCode(), "the key cannot afford the worst case: " + refused.body());
        List<String> served = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = chat(body("m"));
            assertEquals(200, r.statusCode(), r.body());
            served.add(header(r, "x-nemo-model"));
        }
        JsonNode health = JSON.readTree(gw.get("/health/deployments", "authorization", "Bearer " + MASTER).body());
        assertTrue(served.contains("a"), "a's cooldown is over and the only request that took its probe never went upstream, "
                + "so the next request should probe a (and close it); served by " + served + ", a called " + a.get()
                + " time(s), health " + health);
    }

    // ---- quotas ---------------------------------------------------------------------------------

    /**
     * README, Quotas: "rpm and tpm ... and max_parallel; a deployment at one is skipped, and when all
     * are, the answer is 429 deployment_quota_exceeded with Retry-After". At max_parallel the router
     * answers 503 no_healthy_deployment instead (only rpm/tpm count as quota in refuseUnavailable).
     */
    @Test
    void whenEveryDeploymentIsAtMaxParallelTheAnswerIs429DeploymentQuotaExceeded() throws Exception {
        AtomicInteger a = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> reply.after(Duration.ofMillis(1500), () -> ok("a").answer(req, reply)));
        start(entry("m", ua, "id = \"a\", max_parallel = 1"), "");
        CompletableFuture<HttpResponse<String>> busy = chatAsync(body("m"));
        Thread.sleep(400); // a has its one request in flight
        HttpResponse<String> r = chat(body("m"));
        assertEquals(200, busy.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(429, r.statusCode(), "every deployment is at its max_parallel: " + r.body());
        assertEquals("deployment_quota_exceeded", JSON.readTree(r.body()).at("/error/code").asText(), r.body());
    }

    /**
     * A deployment's rpm is checked when the router chooses it, but counted when the attempt starts:
     * a retry that waits out its backoff was chosen before the wait, so the requests that came
     * meanwhile and spent the quota do not stop it, and the upstream gets more calls than its rpm.
     */
    @Test
    void aRetryThatWaitedItsBackoffDoesNotOverrunTheDeploymentsRpm() throws Exception {
        AtomicInteger a = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            if (a.get() == 1) {
                ScriptableUpstream.status(500, null).answer(req, reply);
            } else {
                ok("a").answer(req, reply);
            }
        });
        start(entry("m", ua, "id = \"a\", rpm = 2"), "num_retries = 1, retry_backoff = 1s", TEN_PAST);
        CompletableFuture<HttpResponse<String>> first = chatAsync(body("m")); // 500, then a retry after 0.5 to 1 s
        Thread.sleep(200);
        HttpResponse<String> second = chat(body("m"));
        assertEquals(200, second.statusCode(), "a had one request of its two this minute: " + second.body());
        HttpResponse<String> r = first.get(10, TimeUnit.SECONDS);
        assertTrue(a.get() <= 2, "rpm = 2, and the clock stays in one minute: the upstream got " + a.get()
                + " calls (the first request ended " + r.statusCode() + " " + r.body() + ")");
    }

    // ---- retries ----------------------------------------------------------------------------------

    /**
     * With max_parallel = 1 a deployment never gets a retry after a 429 or 5xx: the router is asked
     * for the next deployment while the failing attempt is still deciding whether to refuse its
     * answer, and that attempt still counts as in flight, so its own deployment looks full. (A
     * connect failure or a timeout, asked about after the attempt ended, does get its retry.)
     */
    @Test
    void maxParallelOneStillAllowsARetryOnTheSameDeployment() throws Exception {
        AtomicInteger a = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            if (a.get() == 1) {
                ScriptableUpstream.status(500, null).answer(req, reply);
            } else {
                ok("a").answer(req, reply);
            }
        });
        start(entry("m", ua, "id = \"a\", max_parallel = 1"), "num_retries = 1, retry_backoff = 10ms");
        HttpResponse<String> r = chat(body("m"));
        assertEquals(200, r.statusCode(), "num_retries = 1: the same deployment again after a backoff, and it answers; got "
                + r.body() + " after " + a.get() + " call(s)");
        assertEquals("1", header(r, "x-nemo-fallbacks"));
    }

    /**
     * README: "the same one again after retry_backoff". After a and b both failed, the router goes
     * back to a at once: delayMillis only backs off when the next deployment is the one that just
     * failed, not one tried earlier.
     */
    @Test
    void goingBackToADeploymentTriedEarlierWaitsTheBackoff() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        List<Long> aCalls = new CopyOnWriteArrayList<>();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            aCalls.add(System.nanoTime());
            ScriptableUpstream.status(500, null).answer(req, reply);
        });
        ScriptableUpstream ub = upstream(b, (req, reply) -> ScriptableUpstream.status(500, null).answer(req, reply));
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", ub, "id = \"b\""),
                "strategy = cost, num_retries = 2, retry_backoff = 1s, allowed_fails = 100");
        HttpResponse<String> r = chat(body("m"));
        assertEquals(500, r.statusCode());
        assertEquals(2, a.get(), "a, b, then a again");
        assertEquals(1, b.get());
        long gapMillis = TimeUnit.NANOSECONDS.toMillis(aCalls.get(1) - aCalls.get(0));
        assertTrue(gapMillis >= 400, "a was tried again " + gapMillis + " ms after its first failure: no retry_backoff (1s, jittered "
                + "to at least half)");
    }

    /**
     * README: "never the same deployment when that asks for longer than max_retry_after". a answers
     * 502 with Retry-After: 120 (above max_retry_after, 60 s), b fails too; the router went back to
     * a at once, ignoring its Retry-After: it checked only the last failed attempt (b's), and the
     * pick among every deployment could land on another one (a).
     */
    @Test
    void aDeploymentThatAskedForLongerThanMaxRetryAfterIsNotTriedAgain() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> ScriptableUpstream.status(502, "120").answer(req, reply));
        ScriptableUpstream ub = upstream(b, (req, reply) -> ScriptableUpstream.status(500, null).answer(req, reply));
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", ub, "id = \"b\""),
                "strategy = cost, num_retries = 2, allowed_fails = 100, max_retry_after = 60s");
        HttpResponse<String> r = chat(body("m"));
        assertTrue(r.statusCode() >= 500, r.body());
        assertEquals(2, b.get(), "b, then b again after the backoff (num_retries = 2): the one deployment that may be retried");
        assertEquals(1, a.get(), "a asked for 120 s, more than max_retry_after: it is never tried again within the request, "
                + "but it was called " + a.get() + " times");
    }

    /**
     * README, Cooldowns: "allowed_fails failures within failure_window put a deployment out for
     * cooldown_time". With allowed_fails = 1, a's 500 puts it out; yet the same request is retried on
     * a (after the backoff), because the router chose the retry while the failed attempt was still
     * deciding whether to refuse its answer, before its end (and the cooldown) was recorded.
     */
    @Test
    void aRetryDoesNotGoToADeploymentItsOwnFailureJustPutOut() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            if (a.get() == 1) {
                ok("a").answer(req, reply);
            } else {
                ScriptableUpstream.status(500, null).answer(req, reply);
            }
        });
        ScriptableUpstream ub = upstream(b, (req, reply) -> {
            if (b.get() == 1) {
                ScriptableUpstream.status(429, "10").answer(req, reply); // b is out for 10 s
            } else {
                ok("b").answer(req, reply);
            }
        });
        // cost: b is cheaper, so it is chosen first while it is available
        start(entry("m", ua, "id = \"a\"") + "," + entry("m", ub, "id = \"b\", input_cost_per_mtok = 0.1"),
                "strategy = cost, num_retries = 1, allowed_fails = 1, retry_backoff = 10ms");
        HttpResponse<String> first = chat(body("m"));
        assertEquals("a", header(first, "x-nemo-model"), "b's 429 went to a");
        assertEquals(1, a.get());
        HttpResponse<String> second = chat(body("m")); // b is out: a, which fails, and is put out by it
        assertTrue(second.statusCode() >= 500, second.body());
        JsonNode health = JSON.readTree(gw.get("/health/deployments", "authorization", "Bearer " + MASTER).body());
        assertEquals(2, a.get(), "a's failure put it out (allowed_fails = 1), yet the request was retried on it: a called "
                + a.get() + " times; health " + health);
    }

    /**
     * README, Cooldowns: "When the time is up one request probes it: an answer closes the circuit, a
     * failure opens it again." Request 1 went to a while a was healthy; meanwhile a 429 put a out
     * for 0.3 s. When request 1's attempt then fails (a is half-open by now), the router, asked for
     * the retry before that attempt's end is recorded, claims a's probe for request 1; the end of
     * the old attempt is then taken for the probe's failure (DeploymentState.ended: probe == this
     * exchange), a is put out for cooldown_time, and the probe given back. The retry goes to a
     * anyway, answers, and closes nothing: a stays out for 30 s, and the next request gets a 503
     * although a has just answered.
     */
    @Test
    void anAttemptThatBeganBeforeTheCooldownIsNotTakenForTheProbe() throws Exception {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, (req, reply) -> {
            int n = a.get();
            if (n == 1) {
                reply.after(Duration.ofMillis(800), () -> ScriptableUpstream.status(500, null).answer(req, reply));
            } else if (n == 2) {
                ScriptableUpstream.status(429, "0.3").answer(req, reply); // a is out for 0.3 s
            } else {
                ok("a").answer(req, reply);
            }
        });
        ScriptableUpstream ub = upstream(b, (req, reply) -> {
            if (b.get() == 1) {
                ScriptableUpstream.status(429, "10").answer(req, reply); // b is out for 10 s
            } else {
                ok("b").answer(req, reply);
            }
        });
        // cost: a is cheaper, so it is chosen whenever it is available
        start(entry("m", ua, "id = \"a\", input_cost_per_mtok = 0.1") + "," + entry("m", ub, "id = \"b\""),
                "strategy = cost, num_retries = 1, allowed_fails = 100, retry_backoff = 10ms");
        CompletableFuture<HttpResponse<String>> first = chatAsync(body("m")); // on a, which answers 500 after 0.8 s
        Thread.sleep(150);
        HttpResponse<String> second = chat(body("m")); // a: 429 (out for 0.3 s), then b: 429 (out for 10 s)
        assertEquals(429, second.statusCode(), second.body());
        HttpResponse<String> r1 = first.get(10, TimeUnit.SECONDS);
        assertEquals(200, r1.statusCode(), r1.body());
        assertEquals("a", header(r1, "x-nemo-model"), "a's 500, then a again (b is out), and it answered");
        HttpResponse<String> third = chat(body("m"));
        JsonNode health = JSON.readTree(gw.get("/health/deployments", "authorization", "Bearer " + MASTER).body());
        assertEquals(200, third.statusCode(), "a's probe (request 1's retry) answered, so a is back: " + third.body() + "; health " + health);
    }

    // ---- context windows and capability tags -----------------------------------------------------

    /**
     * README: a named model without the request's capabilities gets "400 model_capability_mismatch",
     * and "when none is left the client gets the error". begin() checks the tags on the model's own
     * group only; a request too long for it goes to its context_window_fallbacks, and when none of
     * those has the tags every link is skipped and the client is told 503 no_healthy_deployment,
     * "cooling down or busy; try again after the Retry-After", although every deployment is healthy
     * and a retry can never succeed.
     */
    @Test
    void aLongVisionRequestWhoseContextWindowFallbackHasNoVisionIsNotToldToComeBackLater() throws Exception {
        AtomicInteger eyes = new AtomicInteger();
        AtomicInteger big = new AtomicInteger();
        start(entry("eyes", upstream(eyes, ok("eyes")), "id = \"eyes\", context_window = 50, tags = [vision]") + ","
                        + entry("big", upstream(big, ok("big")), "id = \"big\", tags = [long-context]"),
                "groups { eyes { context_window_fallbacks = [big] } }");
        String image = "{\"model\":\"eyes\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\""
                + "word ".repeat(200) + "\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]}";
        HttpResponse<String> r = chat(image);
        assertEquals(0, big.get(), "never a text-only model for an image");
        assertTrue(r.statusCode() != 503 && !r.body().contains("no_healthy_deployment"),
                "nothing is cooling down or busy; a Retry-After invites a retry that cannot succeed: " + r.statusCode() + " "
                        + header(r, "retry-after") + " " + r.body());
    }

    /**
     * README: "`auto` picks among every deployment that has the request's tags". The auto group is
     * the catalog's first 64 chat deployments (RouterExtension.first64, silently): a catalog of 65
     * entries whose 65th is the only one with a tag gets 400 model_capability_mismatch for auto.
     */
    @Test
    void autoSeesEveryDeploymentNotOnlyTheFirst64() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        ScriptableUpstream u = upstream(calls, ok("u"));
        StringBuilder models = new StringBuilder();
        for (int i = 0; i < 65; i++) {
            models.append(i == 0 ? "" : ",").append(entry("m" + i, u, "id = \"m" + i + "\"" + (i == 64 ? ", tags = [reasoning]" : "")));
        }
        start(models.toString(), "");
        HttpResponse<String> r = chat("{\"model\":\"auto\",\"tags\":[\"reasoning\"],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals(200, r.statusCode(), "m64 has the tag: " + r.body());
        assertEquals("m64", header(r, "x-nemo-model"));
    }

    // ---- the latency strategy --------------------------------------------------------------------

    /**
     * README: "a deployment without a figure from the last 30 s is tried to get one". Once the slow
     * deployment's figure is stale, every request goes to it (Balance.LATENCY returns an unexplored
     * deployment at once) until one of its answers has been folded in: a burst of traffic to the
     * slowest deployment, every 30 s, for as long as it takes to answer.
     */
    @Test
    void aStaleDeploymentIsTriedOnceNotGivenEveryRequestUntilItAnswers() throws Exception {
        AtomicInteger slow = new AtomicInteger();
        AtomicInteger quick = new AtomicInteger();
        ScriptableUpstream us = upstream(slow, (req, reply) -> reply.after(Duration.ofMillis(1000), () -> ok("slow").answer(req, reply)));
        ScriptableUpstream uq = upstream(quick, ok("quick"));
        MovableClock clock = new MovableClock();
        start(entry("m", us, "id = \"slow\"") + "," + entry("m", uq, "id = \"quick\""), "strategy = latency", clock);
        chat(body("m"));
        chat(body("m")); // neither has a figure: one each
        assertEquals(1, slow.get());
        assertEquals(1, quick.get());
        Thread.sleep(700); // folded into the averages
        clock.millis.addAndGet(20_000);
        assertEquals("quick", header(chat(body("m")), "x-nemo-model"));
        Thread.sleep(700); // quick's figure is from now, slow's from 20 s ago
        clock.millis.addAndGet(15_000); // slow's figure is 35 s old: stale; quick's 15 s
        int slowBefore = slow.get();
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            all.add(chatAsync(body("m")));
            Thread.sleep(10);
        }
        for (var f : all) {
            assertEquals(200, f.get(10, TimeUnit.SECONDS).statusCode());
        }
        int toSlow = slow.get() - slowBefore;
        assertTrue(toSlow <= 2, "the stale deployment should be tried to get a figure, not take the traffic: "
                + toSlow + " of 10 requests went to the slow one");
    }

    // ---- configuration ---------------------------------------------------------------------------

    /** retry_backoff is the one duration not checked: a negative one starts (and every backed-off retry logs a warning and goes at once). */
    @Test
    void aNegativeRetryBackoffIsAConfigError() throws Exception {
        AtomicInteger a = new AtomicInteger();
        ScriptableUpstream ua = upstream(a, ok("a"));
        assertThrows(Exception.class, () -> start(entry("m", ua, "id = \"a\""), "retry_backoff = -1s"),
                "retry_backoff = -1s should stop the start, as cooldown_time, failure_window and max_retry_after below 1 ms do");
    }
}
