package io.nemorouter.filters.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * One stored chat answer in the other form: a {@code chat.completion} as the chunks a stream of it
 * would have been (a role chunk, the content and tool calls, the finish reason, {@code [DONE]}), and
 * a stream's events assembled into the {@code chat.completion} it adds up to. The {@code id},
 * {@code created} and {@code model} are the stored answer's. Null when the stored answer cannot be
 * read as one (the request then goes upstream).
 */
final class Convert {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private Convert() {
    }

    /** A stored {@code chat.completion} as stream events (without a usage event), or null. */
    static byte[] toEvents(byte[] completion) {
        JsonNode c;
        try {
            c = JSON.readTree(completion);
        } catch (IOException e) {
            return null;
        }
        if (!c.path("choices").isArray() || !"chat.completion".equals(c.path("object").asText())) {
            return null;
        }
        StringBuilder out = new StringBuilder(completion.length + 512);
        for (JsonNode choice : c.get("choices")) {
            JsonNode message = choice.path("message");
            ObjectNode delta = F.objectNode();
            delta.put("role", message.path("role").asText("assistant"));
            delta.put("content", "");
            event(out, c, choice.path("index").asInt(), delta, null, null);
            ObjectNode body = F.objectNode();
            if (message.hasNonNull("content")) {
                body.set("content", message.get("content"));
            }
            if (message.hasNonNull("refusal")) {
                body.set("refusal", message.get("refusal"));
            }
            if (message.path("tool_calls").isArray()) {
                ArrayNode calls = body.putArray("tool_calls");
                int i = 0;
                for (JsonNode call : message.get("tool_calls")) {
                    ObjectNode withIndex = F.objectNode();
                    withIndex.put("index", i++);
                    call.fields().forEachRemaining(f -> withIndex.set(f.getKey(), f.getValue()));
                    calls.add(withIndex);
                }
            }
            JsonNode logprobs = choice.hasNonNull("logprobs") ? choice.get("logprobs") : null;
            if (!body.isEmpty() || logprobs != null) {
                event(out, c, choice.path("index").asInt(), body, null, logprobs);
            }
            event(out, c, choice.path("index").asInt(), F.objectNode(), choice.path("finish_reason").asText("stop"), null);
        }
        out.append("data: [DONE]\n\n");
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void event(StringBuilder out, JsonNode c, int index, ObjectNode delta, String finish, JsonNode logprobs) {
        ObjectNode chunk = F.objectNode();
        chunk.set("id", c.path("id"));
        chunk.put("object", "chat.completion.chunk");
        chunk.set("created", c.path("created"));
        chunk.set("model", c.path("model"));
        if (c.has("system_fingerprint")) {
            chunk.set("system_fingerprint", c.get("system_fingerprint"));
        }
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", index);
        choice.set("delta", delta);
        if (logprobs == null) {
            choice.putNull("logprobs");
        } else {
            choice.set("logprobs", logprobs);
        }
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        out.append("data: ").append(chunk).append("\n\n");
    }

    /** Stored stream events as the {@code chat.completion} they add up to, with {@code usage}; null when unreadable. */
    static byte[] toCompletion(CacheEntry e) {
        String[] lines = new String(e.body(), StandardCharsets.UTF_8).split("\n");
        JsonNode first = null;
        Map<Integer, Choice> choices = new TreeMap<>();
        try {
            for (String line : lines) {
                if (!line.startsWith("data:")) {
                    continue;
                }
                String data = line.substring(5).trim();
                if (data.equals("[DONE]") || data.isEmpty()) {
                    continue;
                }
                JsonNode chunk = JSON.readTree(data);
                if (first == null) {
                    first = chunk;
                }
                for (JsonNode ch : chunk.path("choices")) {
                    choices.computeIfAbsent(ch.path("index").asInt(), i -> new Choice()).add(ch);
                }
            }
        } catch (IOException ex) {
            return null;
        }
        if (first == null) {
            return null;
        }
        ObjectNode c = F.objectNode();
        c.set("id", first.path("id"));
        c.put("object", "chat.completion");
        c.set("created", first.path("created"));
        c.set("model", first.path("model"));
        if (first.has("system_fingerprint")) {
            c.set("system_fingerprint", first.get("system_fingerprint"));
        }
        ArrayNode out = c.putArray("choices");
        choices.forEach((index, ch) -> out.add(ch.toJson(index)));
        ObjectNode usage = c.putObject("usage");
        usage.put("prompt_tokens", e.promptTokens());
        usage.put("completion_tokens", e.completionTokens());
        usage.put("total_tokens", e.promptTokens() + e.completionTokens());
        if (e.cachedTokens() > 0) {
            usage.putObject("prompt_tokens_details").put("cached_tokens", e.cachedTokens());
        }
        return c.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** One choice as its deltas add up. */
    private static final class Choice {
        private String role = "assistant";
        private final StringBuilder content = new StringBuilder();
        private boolean hasContent;
        private String finish;
        private final StringBuilder refusal = new StringBuilder();
        private boolean hasRefusal;
        private ArrayNode logprobContent;
        private ArrayNode logprobRefusal;
        private final Map<Integer, ObjectNode> toolCalls = new TreeMap<>();

        void add(JsonNode ch) {
            JsonNode d = ch.path("delta");
            if (d.hasNonNull("role")) {
                role = d.get("role").asText();
            }
            if (d.hasNonNull("content")) {
                content.append(d.get("content").asText());
                hasContent = true;
            }
            if (d.hasNonNull("refusal")) {
                refusal.append(d.get("refusal").asText());
                hasRefusal = true;
            }
            JsonNode lp = ch.path("logprobs");
            if (lp.path("content").isArray()) {
                logprobContent = logprobContent == null ? F.arrayNode() : logprobContent;
                logprobContent.addAll((ArrayNode) lp.get("content"));
            }
            if (lp.path("refusal").isArray()) {
                logprobRefusal = logprobRefusal == null ? F.arrayNode() : logprobRefusal;
                logprobRefusal.addAll((ArrayNode) lp.get("refusal"));
            }
            for (JsonNode call : d.path("tool_calls")) {
                ObjectNode t = toolCalls.computeIfAbsent(call.path("index").asInt(), i -> {
                    ObjectNode n = F.objectNode();
                    n.putObject("function").put("arguments", "");
                    return n;
                });
                if (call.hasNonNull("id")) {
                    t.set("id", call.get("id"));
                }
                if (call.hasNonNull("type")) {
                    t.set("type", call.get("type"));
                }
                JsonNode fn = call.path("function");
                ObjectNode tf = (ObjectNode) t.get("function");
                if (fn.hasNonNull("name")) {
                    tf.set("name", fn.get("name"));
                }
                if (fn.hasNonNull("arguments")) {
                    tf.put("arguments", tf.path("arguments").asText() + fn.get("arguments").asText());
                }
            }
            if (ch.hasNonNull("finish_reason")) {
                finish = ch.get("finish_reason").asText();
            }
        }

        ObjectNode toJson(int index) {
            ObjectNode o = F.objectNode();
            o.put("index", index);
            ObjectNode m = o.putObject("message");
            m.put("role", role);
            if (hasContent || (toolCalls.isEmpty() && !hasRefusal)) {
                m.put("content", content.toString());
            } else {
                m.putNull("content");
            }
            if (hasRefusal) {
                m.put("refusal", refusal.toString());
            }
            if (!toolCalls.isEmpty()) {
                ArrayNode calls = m.putArray("tool_calls");
                toolCalls.values().forEach(calls::add);
            }
            if (logprobContent == null && logprobRefusal == null) {
                o.putNull("logprobs");
            } else {
                ObjectNode lp = o.putObject("logprobs");
                lp.set("content", logprobContent);
                lp.set("refusal", logprobRefusal);
            }
            o.put("finish_reason", finish == null ? "stop" : finish);
            return o;
        }
    }
}
