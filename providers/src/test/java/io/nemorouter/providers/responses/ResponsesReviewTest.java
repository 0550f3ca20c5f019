package io.nemorouter.providers.responses;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.openai.Usage;
import io.nemorouter.core.openai.UsageScanner;
import io.nemorouter.core.provider.EventSink;
import io.nemorouter.providers.translate.TranslatorFixtures;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Review cases of the Responses bridge's translator, without a gateway. */
class ResponsesReviewTest {
    static final Exchange RESPONSES = TranslatorFixtures.exchange("{\"model\":\"claude\",\"input\":\"hi\"}");

    /** A translated Responses stream: each event's data, and the usage the gateway reads from the events. */
    static final class Events implements EventSink {
        final List<JsonNode> events = new ArrayList<>();
        Usage usage;
        OpenAiError failure;

        @Override
        public void event(ByteBuf event) {
            try {
                Usage u = UsageScanner.scan(event); // what ServerExchange.sendEvent reads
                if (u != null) {
                    usage = u;
                }
                String text = event.toString(StandardCharsets.UTF_8);
                events.add(OpenAiJson.MAPPER.readTree(text.substring(text.indexOf("data: ") + 6)));
            } catch (IOException e) {
                throw new AssertionError(e);
            } finally {
                event.release();
            }
        }

        @Override
        public void fail(OpenAiError error) {
            failure = error;
        }
    }

    static Events stream(String... chunks) {
        ResponsesTranslator t = new ResponsesTranslator(RESPONSES);
        Events out = new Events();
        for (String c : chunks) {
            ByteBuf e = Unpooled.copiedBuffer("data: " + c + "\n\n", StandardCharsets.UTF_8);
            t.event(RESPONSES, e, out);
            e.release();
        }
        t.end(RESPONSES, out);
        return out;
    }

    static String chunk(String delta, String finish) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
                + "\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}";
    }

    static final String ANTHROPIC_USAGE = "{\"prompt_tokens\":1010,\"completion_tokens\":5,\"total_tokens\":1015,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0},"
            + "\"cache_creation_input_tokens\":1000}";

    @Test
    void aBridgedAnswerKeepsItsPromptCacheWritesForPricing() {
        String chat = "{\"id\":\"msg_1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"claude-sonnet-4-5\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":\"stop\"}],\"usage\":" + ANTHROPIC_USAGE + "}";
        ByteBuf out = new ResponsesTranslator(RESPONSES).body(RESPONSES, 200, Unpooled.copiedBuffer(chat, StandardCharsets.UTF_8));
        try {
            Usage u = UsageScanner.scan(out);
            assertEquals(1010, u.promptTokens());
            assertEquals(1000, u.cacheWriteTokens(), "the gateway prices writes at the cache-write rate: " + out.toString(StandardCharsets.UTF_8));
        } finally {
            out.release();
        }
    }

    @Test
    void aBridgedStreamKeepsItsPromptCacheWritesForPricing() {
        Events out = stream(chunk("{\"role\":\"assistant\",\"content\":\"\"}", null), chunk("{\"content\":\"hello\"}", null),
                chunk("{}", "stop"), "{\"id\":\"msg_1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":"
                        + ANTHROPIC_USAGE + "}", "[DONE]");
        assertNull(out.failure);
        assertNotNull(out.usage);
        assertEquals(1000, out.usage.cacheWriteTokens());
    }

    static JsonNode completed(Events out) {
        assertNull(out.failure);
        JsonNode last = out.events.get(out.events.size() - 1);
        assertEquals("response.completed", last.get("type").asText());
        return last.get("response");
    }

    @Test
    void aStreamKeepsItsReasoningAsTheWholeAnswerDoes() {
        Events out = stream(chunk("{\"role\":\"assistant\",\"content\":\"\"}", null),
                chunk("{\"reasoning_content\":\"Let me \"}", null), chunk("{\"reasoning_content\":\"think.\"}", null),
                chunk("{\"content\":\"Answer.\"}", null), chunk("{}", "stop"), "[DONE]");
        JsonNode output = completed(out).get("output");
        assertEquals(2, output.size(), output.toString());
        assertEquals("reasoning", output.get(0).get("type").asText());
        assertEquals("Let me think.", output.get(0).get("summary").get(0).get("text").asText());
        assertEquals("Answer.", output.get(1).get("content").get(0).get("text").asText());
        StringBuilder deltas = new StringBuilder();
        for (int i = 0; i < out.events.size(); i++) {
            JsonNode e = out.events.get(i);
            assertEquals(i, e.get("sequence_number").asInt());
            if (e.get("type").asText().equals("response.reasoning_summary_text.delta")) {
                assertEquals(0, e.get("output_index").asInt());
                deltas.append(e.get("delta").asText());
            }
        }
        assertEquals("Let me think.", deltas.toString());
    }

    @Test
    void textAfterAToolCallIsInTheCompletedResponse() {
        Events out = stream(chunk("{\"role\":\"assistant\",\"content\":\"Checking. \"}", null),
                chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}", null),
                chunk("{\"content\":\"Done.\"}", null), chunk("{}", "tool_calls"), "[DONE]");
        JsonNode output = completed(out).get("output");
        StringBuilder text = new StringBuilder();
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (JsonNode item : output) {
            assertTrue(ids.add(item.get("id").asText()), "item ids are unique: " + output);
            if (item.get("type").asText().equals("message")) {
                text.append(item.get("content").get(0).get("text").asText());
            }
        }
        assertEquals("Checking. Done.", text.toString(), output.toString());
        for (JsonNode e : out.events) {
            if (e.get("type").asText().equals("response.output_text.delta") && e.get("delta").asText().equals("Done.")) {
                assertEquals("message", output.get(e.get("output_index").asInt()).get("type").asText(), "the delta's item is a message");
            }
        }
    }

    @Test
    void twoCallsAlikeInEveryMemberAreTwoItems() {
        // an upstream that repeats a call (same id, name and arguments): each is its own output item
        String call = "{\"tool_calls\":[{\"index\":%d,\"id\":\"call_same\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}";
        Events out = stream(chunk(String.format(call, 0), null), chunk(String.format(call, 1), "tool_calls"), "[DONE]");
        List<Integer> deltaAt = new ArrayList<>();
        List<Integer> doneAt = new ArrayList<>();
        for (JsonNode e : out.events) {
            switch (e.get("type").asText()) {
                case "response.function_call_arguments.delta" -> deltaAt.add(e.get("output_index").asInt());
                case "response.function_call_arguments.done" -> doneAt.add(e.get("output_index").asInt());
                default -> {
                }
            }
        }
        assertEquals(List.of(0, 1), deltaAt);
        assertEquals(List.of(0, 1), doneAt);
    }
}
