package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nemorouter.core.openai.OpenAiJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What answers and configs can do to the cache: text mentioning [DONE], lone surrogates, huge numbers, hot keys, a resized store, logprobs and refusals. */
class CacheEdgeCasesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Path dir;
    private RingCacheStore store;

    @AfterEach
    void cleanUp() throws Exception {
        StoreDirs.closeAndDelete(store, dir);
    }

    private static CacheEntry streamed(String body) {
        return new CacheEntry("master", "m", null, 1_000, 10_000, true, "text/event-stream", 10, 5, 0, 0.02,
                body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Replay.withUsageEvent inserts the usage chunk at the first "data: [DONE]" bytes anywhere in the
     * stored events, also inside a chunk's JSON string (an answer that explains SSE): the replay is
     * then malformed SSE and a broken JSON chunk.
     */
    @Test
    void aReplayedStreamStaysWellFormedWhenItsContentMentionsDone() throws Exception {
        String events = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\"A stream ends with data: [DONE] on its own line.\"},\"finish_reason\":null}]}\n\n"
                + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                + "data: [DONE]\n\n";
        String replay = new String(Replay.withUsageEvent(streamed(events)), StandardCharsets.UTF_8);
        String[] parts = replay.split("\n\n");
        assertEquals("data: [DONE]", parts[parts.length - 1], replay);
        for (int i = 0; i < parts.length - 1; i++) {
            assertTrue(parts[i].startsWith("data: {"), "event " + i + ": " + parts[i]);
            String data = parts[i].substring(6);
            assertDoesNotThrow(() -> JSON.readTree(data), "event " + i + " is not JSON: " + data);
        }
    }

    /**
     * CacheKey hashes canonical.toString().getBytes(UTF_8), which turns every unpaired surrogate
     * (sent as a JSON escape such as \ud800) into '?': different prompts get one key, and one is
     * answered with the other's answer.
     */
    @Test
    void aLoneSurrogateIsNotTheSameRequestAsAQuestionMark() throws Exception {
        JsonNode a = OpenAiJson.MAPPER.readTree("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\\ud800\"}]}");
        JsonNode b = OpenAiJson.MAPPER.readTree("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x?\"}]}");
        JsonNode c = OpenAiJson.MAPPER.readTree("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\\udfff\"}]}");
        assertNotEquals(a.at("/messages/0/content").asText(), b.at("/messages/0/content").asText());
        String ka = CacheKey.of("org:a", "/v1/chat/completions", "m", a);
        assertNotEquals(ka, CacheKey.of("org:a", "/v1/chat/completions", "m", b), "\\ud800 and ? are different prompts");
        assertNotEquals(ka, CacheKey.of("org:a", "/v1/chat/completions", "m", c), "\\ud800 and \\udfff are different prompts");
    }

    /**
     * A number past double's range (1e400, in any member the first pass does not check) reads as
     * Infinity, so 1e400 and 1e500 could not be told apart: such a request is not cached (the filter
     * passes it on; the server test shows it reaches the upstream, not a 500).
     */
    @Test
    void aNumberPastDoubleRangeMakesTheRequestUncacheable() throws Exception {
        JsonNode body = OpenAiJson.MAPPER.readTree("{\"model\":\"m\",\"messages\":[],\"logit_bias\":{\"50256\":1e400}}");
        org.junit.jupiter.api.Assertions.assertThrows(CacheKey.Uncacheable.class,
                () -> CacheKey.of("org:a", "/v1/chat/completions", "m", body));
    }

    /**
     * Re-storing one key over and over (nemo_cache:false, or re-stored after each expiry) appends a
     * record each time: the eviction order must not keep one place per record on the heap until the
     * ring comes round, while the store holds one entry.
     */
    @Test
    void reStoringOneKeyDoesNotGrowTheEvictionQueueWithoutEnd() throws Exception {
        dir = Files.createTempDirectory("nemo-cache-review");
        store = RingCacheStore.open(dir, 1000, 64L << 20);
        String key = "a".repeat(64);
        for (int i = 0; i < 10_000; i++) {
            store.put(key, new CacheEntry("master", "m", null, i, i + 60_000, false, "application/json", 1, 1, 0, 0,
                    "{\"x\":1}".getBytes(StandardCharsets.UTF_8)));
        }
        assertEquals(1, store.entries());
        var f = RingCacheStore.class.getDeclaredField("ring");
        f.setAccessible(true);
        int slots = ((java.util.Collection<?>) f.get(store)).size();
        assertTrue(slots <= 1000, "one entry, " + slots + " places kept on the heap");
    }

    /** A restart with a larger max_entries stores up to the new bound (the ring's size is max_bytes's alone). */
    @Test
    void raisingMaxEntriesAcrossARestartStoresUpToTheNewBound() throws Exception {
        dir = Files.createTempDirectory("nemo-cache-review");
        store = RingCacheStore.open(dir, 100, 64L << 20);
        store.close();
        store = RingCacheStore.open(dir, 2000, 64L << 20);
        byte[] body = "x".repeat(300).getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 2000; i++) {
            store.put(String.format("%064d", i), new CacheEntry("master", "m", null, i, Long.MAX_VALUE, false, "application/json", 1, 0, 0, 0, body));
        }
        assertEquals(2000, store.entries());
    }

    /**
     * Convert.toCompletion (Choice.add) keeps role, content, tool calls and the finish reason only: a
     * stored stream of a request with "logprobs": true (a member of the key) is served to the same
     * request, non-streaming, with "logprobs": null.
     */
    @Test
    void aStreamAssembledIntoACompletionKeepsItsLogprobs() throws Exception {
        String lp = "{\"content\":[{\"token\":\"Hi\",\"logprob\":-0.1,\"bytes\":[72,105],\"top_logprobs\":[]}]}";
        String events = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"logprobs\":" + lp + ",\"finish_reason\":null}]}\n\n"
                + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
                + "data: [DONE]\n\n";
        JsonNode c = JSON.readTree(Convert.toCompletion(streamed(events)));
        assertEquals("Hi", c.at("/choices/0/message/content").asText());
        assertEquals(-0.1, c.at("/choices/0/logprobs/content/0/logprob").asDouble(0), 1e-9, c.toString());
    }

    /** Convert.toCompletion drops a streamed refusal (delta.refusal): the whole answer says nothing. */
    @Test
    void aStreamAssembledIntoACompletionKeepsItsRefusal() throws Exception {
        String events = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"role\":\"assistant\",\"refusal\":\"I can't help with that.\"},\"finish_reason\":null}]}\n\n"
                + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                + "data: [DONE]\n\n";
        JsonNode c = JSON.readTree(Convert.toCompletion(streamed(events)));
        assertEquals("I can't help with that.", c.at("/choices/0/message/refusal").asText(), c.toString());
    }

    /**
     * One key stored twice within one millisecond (two identical requests landing together) with
     * answers of different sizes, then evicted: bytes() stays the sum of the answers left.
     */
    @Test
    void evictingAKeyStoredTwiceInOneMillisecondKeepsTheByteCountTrue() throws Exception {
        dir = Files.createTempDirectory("nemo-cache-edge");
        store = RingCacheStore.open(dir, 10, 64L << 20);
        String hot = "h".repeat(64);
        store.put(hot, entry(1_000, "{\"x\":1}"));
        store.put(hot, entry(1_000, "{\"x\":\"" + "y".repeat(5_000) + "\"}")); // same key, same millisecond, another answer
        CacheEntry small = entry(2_000, "{\"x\":2}");
        for (int i = 0; i < 20; i++) {
            store.put(String.format("%064d", i), entry(2_000 + i, "{\"x\":2}"));
        }
        assertEquals(10, store.entries());
        assertEquals(store.entries() * small.encode().length, store.bytes(),
                "bytes() is the sum of the entries left (all the same size)");
    }

    private static CacheEntry entry(long created, String body) {
        return new CacheEntry("master", "m", null, created, created + 3_600_000, false, "application/json", 1, 1, 0, 0,
                body.getBytes(StandardCharsets.UTF_8));
    }
}
