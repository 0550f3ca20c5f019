package io.nemorouter.providers.anthropic;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.providers.translate.Fidelity;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Review cases of the Anthropic request encoder, without a gateway. */
class AnthropicReviewTest {
    static ObjectNode encode(boolean drop, String body) throws Exception {
        return new AnthropicRequest(new Fidelity(drop, "Anthropic"))
                .encode((ObjectNode) OpenAiJson.MAPPER.readTree(body), "claude-sonnet-4-5", 64000);
    }

    @Test
    void anExplicitThinkingMemberWinsOverReasoningEffort() throws Exception {
        ObjectNode sent = encode(true, """
                {"model":"claude","reasoning_effort":"high","thinking":{"type":"enabled","budget_tokens":2000},
                 "messages":[{"role":"user","content":"hi"}]}""");
        assertEquals(2000, sent.get("thinking").get("budget_tokens").asLong(), sent.toString());
    }

    @Test
    void reasoningEffortIsNotSentWithAToolChoiceThatForcesAToolWhichAnthropicRefuses() throws Exception {
        String tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]";
        for (String forcing : new String[]{
                "\"response_format\":{\"type\":\"json_object\"}",
                tools + ",\"tool_choice\":\"required\"",
                tools + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}"}) {
            String body = "{\"model\":\"claude\",\"reasoning_effort\":\"medium\"," + forcing + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
            ObjectNode sent = encode(true, body);
            // "Thinking may not be enabled when tool_choice forces tool use": a 400 from Anthropic
            assertFalse(sent.has("thinking"), forcing + " -> " + sent);
            Fidelity.Refused refused = assertThrows(Fidelity.Refused.class, () -> encode(false, body), forcing);
            assertEquals("reasoning_effort", refused.error.param());
        }
        ObjectNode auto = encode(true, "{\"model\":\"claude\",\"reasoning_effort\":\"medium\"," + tools
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(4096, auto.get("thinking").get("budget_tokens").asLong(), "a tool the model may call: thinking as asked");
    }
}
