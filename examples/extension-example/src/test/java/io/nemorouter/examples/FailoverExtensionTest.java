package io.nemorouter.examples;

import io.nemorouter.core.exchange.AnswerListener;
import io.nemorouter.core.exchange.AttemptRecord;
import io.nemorouter.core.exchange.Completion;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.Phase;
import io.nemorouter.core.extension.Verdict;
import io.nemorouter.core.extension.Extension;
import io.nemorouter.core.extension.ExtensionContext;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A routing strategy written against the SPI, and the dispatcher trying its candidates in turn. */
class FailoverExtensionTest {
    private ScriptableUpstream upstream;
    private TestGateway gw;
    private final LinkedBlockingQueue<Completion> completions = new LinkedBlockingQueue<>();

    /** Hands every completion to the test. */
    private final class Recorder implements Extension {
        @Override
        public String name() {
            return "recorder";
        }

        @Override
        public void start(ExtensionContext context) {
            context.observer(completions::add);
            // per attempt: a header, a body edit and a listener, each for its own deployment only
            context.filter(Phase.DEPLOYMENT_CHOSEN, 1, ex -> {
                if (!"edits".equals(ex.body().model())) {
                    return Verdict.CONTINUE;
                }
                int n = ex.attemptNumber();
                ex.responseHeader("x-attempt-" + n, ex.deployment().id());
                ex.body().setRaw("attempt", Integer.toString(n));
                ex.listen(new AnswerListener() {
                    @Override
                    public void onAttemptFailed(Exchange exchange, AttemptRecord attempt) {
                        heard.add("attempt " + n + " failed: " + attempt.error());
                    }

                    @Override
                    public void onComplete(Completion completion) {
                        heard.add("attempt " + n + " saw the completion");
                    }
                });
                return Verdict.CONTINUE;
            });
        }
    }

    private final List<String> heard = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        upstream = new ScriptableUpstream()
                .on("down", ScriptableUpstream.status(503, null))
                .on("busy", ScriptableUpstream.status(429, "7"))
                .on("hangs-up", ScriptableUpstream.closeWithoutAnswer())
                .on("streams", ScriptableUpstream.chatStream("a", "b"))
                .on("dies-midway", (request, reply) -> {
                    reply.startStream().event(ScriptableUpstream.chunk("one", false));
                    reply.after(java.time.Duration.ofMillis(50), reply::close);
                });
        String refused = "{ name = %s, provider = openai, api_base = \"http://127.0.0.1:1/v1\", model = refused }";
        gw = TestGateway.builder().config("nemo { router.enabled = false, failover.enabled = true }\n"
                        + "nemo.models = [\n"
                        + String.format(refused, "chain") + "\n" + upstream.model("chain", "ok") + "\n"
                        + upstream.model("flaky", "down") + "\n" + upstream.model("flaky", "ok") + "\n"
                        + upstream.model("stream", "hangs-up") + "\n" + upstream.model("stream", "streams") + "\n"
                        + upstream.model("crowded", "down") + "\n" + upstream.model("crowded", "busy") + "\n"
                        + upstream.model("midway", "dies-midway") + "\n" + upstream.model("midway", "ok") + "\n"
                        + upstream.model("edits", "down") + "\n" + upstream.model("edits", "ok") + "\n"
                        + "]")
                .extension(new Recorder())
                .start();
    }

    @AfterEach
    void stop() {
        gw.close();
        upstream.close();
    }

    @Test
    void aConnectFailureMovesToTheNextDeployment() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("chain", false));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("1", r.headers().firstValue("x-nemo-fallbacks").orElseThrow());
        assertEquals("openai/ok", r.headers().firstValue("x-nemo-model").orElseThrow());
        assertTrue(r.body().contains("hello from upstream"), r.body());
        assertEquals("anonymous via openai/ok", r.headers().firstValue("x-stamp-route").orElseThrow(),
                "the filters after routing ran again for the second attempt");

        Completion c = completion("chain");
        List<AttemptRecord> attempts = c.attempts();
        assertEquals(2, attempts.size());
        assertEquals(AttemptRecord.Outcome.FAILED_BEFORE_HEAD, attempts.get(0).outcome());
        assertEquals("upstream_unreachable", attempts.get(0).error());
        assertEquals(AttemptRecord.Outcome.ANSWERED, attempts.get(1).outcome());
        assertEquals(200, attempts.get(1).upstreamStatus());
        assertEquals(1, c.fallbacks());
        assertEquals(15, c.usage().totalTokens());
    }

    @Test
    void aFiveHundredBeforeTheHeadMovesToTheNextDeployment() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("flaky", false));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("1", r.headers().firstValue("x-nemo-fallbacks").orElseThrow());
        assertEquals(2, upstream.received().size(), "one request to each");
        AttemptRecord first = completion("flaky").attempts().get(0);
        assertEquals(503, first.upstreamStatus());
        assertEquals("upstream_status_503", first.error());
    }

    @Test
    void aStreamFailsOverBeforeItsFirstByte() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("stream", true));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("1", r.headers().firstValue("x-nemo-fallbacks").orElseThrow());
        assertTrue(r.body().contains("\"a\"") && r.body().endsWith("data: [DONE]\n\n"), r.body());
        assertEquals("upstream_closed", completion("stream").attempts().get(0).error());
    }

    @Test
    void theLastCandidatesAnswerGoesToTheClientAsItCame() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("crowded", false));
        assertEquals(429, r.statusCode(), r.body());
        assertEquals("7", r.headers().firstValue("retry-after").orElseThrow());
        assertTrue(r.body().contains("scripted 429"), r.body());
        assertEquals("1", r.headers().firstValue("x-nemo-fallbacks").orElseThrow());
        Completion c = completion("crowded");
        assertEquals(429, c.status());
        assertEquals(AttemptRecord.Outcome.ANSWERED, c.attempts().get(1).outcome());
    }

    @Test
    void aStreamThatBreaksAfterItsFirstByteIsNotRetried() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("midway", true));
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("\"one\""), r.body());
        String[] events = r.body().split("\n\n");
        assertTrue(events[events.length - 1].contains("upstream_disconnected"), r.body());
        assertEquals(1, upstream.received().size(), "nothing was sent to the second deployment");
        Completion c = completion("midway");
        assertEquals(1, c.attempts().size());
        assertEquals(AttemptRecord.Outcome.FAILED_AFTER_HEAD, c.attempts().get(0).outcome());
        assertEquals("upstream_disconnected", c.failure());
    }

    @Test
    void whatFiltersDidForOneAttemptIsUndoneForTheNext() throws Exception {
        HttpResponse<String> r = gw.post("/v1/chat/completions", TestGateway.chat("edits", false));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("x-attempt-1").isEmpty(), "the first attempt's header went with it");
        assertEquals("openai/ok", r.headers().firstValue("x-attempt-2").orElseThrow());
        assertEquals(1, upstream.received().get(0).json().path("attempt").asInt());
        assertEquals(2, upstream.received().get(1).json().path("attempt").asInt());
        completion("edits");
        assertEquals(List.of("attempt 1 failed: upstream_status_503", "attempt 2 saw the completion"), List.copyOf(heard));
    }

    private Completion completion(String model) throws InterruptedException {
        while (true) {
            Completion c = completions.poll(5, TimeUnit.SECONDS);
            assertNotNull(c, "no completion for " + model);
            if (model.equals(c.requestedModel())) {
                return c;
            }
        }
    }
}
