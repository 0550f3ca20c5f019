package io.nemorouter.server.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.filters.cache.CacheExtension;
import io.nemorouter.testkit.ScriptableUpstream;
import io.nemorouter.testkit.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What clients and upstreams can send at the cache, through a real gateway. */
class CacheEdgeCasesTest {
    static final String MASTER = "sk-master-test-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();

    ScriptableUpstream upstream;
    TestGateway gw;
    final AtomicInteger calls = new AtomicInteger();

    @AfterEach
    void stop() {
        if (gw != null) {
            gw.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    void start(ScriptableUpstream.Script script) throws Exception {
        upstream = new ScriptableUpstream();
        upstream.otherwise(script);
        gw = TestGateway.builder()
                .config("nemo.models = [{ name = \"m\", provider = openai, api_base = \"" + upstream.apiBase()
                        + "\", api_key = \"sk-up\", input_cost_per_mtok = 1000, output_cost_per_mtok = 2000 }]\n"
                        + "nemo.keys.master_key = \"" + MASTER + "\"\nnemo.cache.enabled = true\n")
                .extension(new CacheExtension())
                .start();
    }

    HttpResponse<String> chat(String body) throws Exception {
        return gw.post("/v1/chat/completions", body, "authorization", "Bearer " + MASTER);
    }

    static String cache(HttpResponse<String> r) {
        return r.headers().firstValue("x-nemo-cache").orElse("");
    }

    static String body(String content, String extra) {
        return "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]" + extra + "}";
    }

    /** Every event of an SSE body but the last ([DONE]) must be a JSON chunk. */
    static int usageEvents(String sse) throws Exception {
        String[] events = sse.split("\n\n");
        assertEquals("data: [DONE]", events[events.length - 1], sse);
        int usage = 0;
        for (int i = 0; i < events.length - 1; i++) {
            assertTrue(events[i].startsWith("data: {"), "event " + i + " of " + sse);
            JsonNode chunk = JSON.readTree(events[i].substring(6));
            if (chunk.path("choices").isEmpty() && chunk.has("usage")) {
                usage++;
            }
        }
        return usage;
    }

    /**
     * Replay.withUsageEvent (Replay.java:258) splices the usage chunk in at the first "data: [DONE]"
     * bytes, which may be inside an answer's text: the replay is a broken chunk.
     */
    @Test
    void aStreamWhoseAnswerMentionsDoneReplaysWellFormedWithUsage() throws Exception {
        start((req, reply) -> {
            calls.incrementAndGet();
            ScriptableUpstream.chatStream("SSE ends with data: [DONE]", " and a blank line").answer(req, reply);
        });
        HttpResponse<String> first = chat(body("How does SSE end?", ",\"stream\":true"));
        assertEquals("miss", cache(first));
        Thread.sleep(150);
        HttpResponse<String> replay = chat(body("How does SSE end?", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals("hit", cache(replay));
        assertEquals(1, usageEvents(replay.body()));
    }

    /**
     * Recorder.isUsageOnly (Recorder.java:80) looks for "choices":[] byte for byte, where the gateway's
     * own check (ServerExchange.hasEmptyChoices) allows spaces: from an upstream that writes
     * "choices": [] (Python's json.dumps does) the usage event is stored with the events, and replayed
     * to a client that did not ask for it, and twice to one that did.
     */
    @Test
    void aSpacedUsageEventIsNotStoredWithTheStream() throws Exception {
        start((req, reply) -> {
            calls.incrementAndGet();
            boolean usage = req.json().at("/stream_options/include_usage").asBoolean(false);
            reply.startStream();
            reply.event(ScriptableUpstream.chunk("hello", usage));
            if (usage) {
                reply.event("data: {\"id\": \"c\", \"object\": \"chat.completion.chunk\", \"choices\": [], "
                        + "\"usage\": {\"prompt_tokens\": 10, \"completion_tokens\": 5, \"total_tokens\": 15}}\n\n");
            }
            reply.event("data: [DONE]\n\n");
            reply.end();
        });
        String withUsage = ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
        HttpResponse<String> first = chat(body("hi", withUsage));
        assertEquals("miss", cache(first));
        assertEquals(1, usageEvents(first.body()));
        Thread.sleep(150);
        HttpResponse<String> asked = chat(body("hi", withUsage));
        assertEquals("hit", cache(asked));
        HttpResponse<String> notAsked = chat(body("hi", ",\"stream\":true"));
        assertEquals("hit", cache(notAsked));
        assertEquals(1, calls.get());
        assertEquals(0, usageEvents(notAsked.body()), "a client that did not ask gets no usage event: " + notAsked.body());
        assertEquals(1, usageEvents(asked.body()), "one usage event: " + asked.body());
    }

    /**
     * CacheKey.of (CacheKey.java:272) hashes the canonical text as UTF-8 through String.getBytes, which
     * writes every unpaired surrogate as '?': "x\ud800" is answered with the stored answer to "x?".
     */
    @Test
    void aLoneSurrogatePromptIsNotAnsweredWithAnotherPromptsAnswer() throws Exception {
        start((req, reply) -> ScriptableUpstream.chat("answer " + calls.incrementAndGet()).answer(req, reply));
        assertEquals("miss", cache(chat(body("x?", ""))));
        Thread.sleep(150);
        HttpResponse<String> other = chat(body("x\\ud800", ""));
        assertEquals(200, other.statusCode(), other.body());
        assertEquals("miss", cache(other), "another prompt: " + other.body());
        assertEquals(2, calls.get());
    }

    /**
     * CacheKey.number (CacheKey.java:323) calls decimalValue() on a double that overflowed to Infinity
     * (1e400): NumberFormatException, and the gateway answers 500 instead of passing the request on.
     */
    @Test
    void aNumberPastDoubleRangeIsPassedOnNotA500() throws Exception {
        start((req, reply) -> ScriptableUpstream.chat("answer " + calls.incrementAndGet()).answer(req, reply));
        HttpResponse<String> r = chat(body("hi", ",\"logit_bias\":{\"50256\":1e400}"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(1, calls.get());
    }
}
