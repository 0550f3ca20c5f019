package io.nemorouter.providers.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.providers.translate.DataUrl;
import io.nemorouter.providers.translate.Fidelity;
import io.nemorouter.providers.translate.Texts;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An OpenAI chat request in the shape of Anthropic's Messages API ({@code POST /v1/messages}):
 * system and developer messages lifted into {@code system}; consecutive messages of one role merged
 * (the API wants user and assistant turns to alternate), tool results as the user's
 * {@code tool_result} blocks; images as base64 or URL sources, PDFs as documents; tools and
 * {@code tool_choice}; {@code stop} as {@code stop_sequences}; {@code max_tokens} defaulted from the
 * price table's maximum output; {@code response_format} as a forced tool whose input is the JSON
 * answer ({@link #JSON_TOOL}); {@code reasoning_effort} as a thinking budget; {@code cache_control}
 * on content parts, system parts and tools passed through. Members Anthropic cannot honour go to
 * {@link Fidelity}; members OpenAI does not define (Anthropic's own {@code top_k}, {@code thinking})
 * pass through as they are.
 */
final class AnthropicRequest {
    /** The forced tool that carries a JSON-mode answer; its input becomes the message content. */
    static final String JSON_TOOL = "json_output";

    /** Members read here, or the gateway's and OpenAI's own that have no meaning upstream. */
    private static final Set<String> HANDLED = Set.of("model", "messages", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "stop", "stream", "stream_options", "tools", "tool_choice", "parallel_tool_calls",
            "response_format", "user", "reasoning_effort", "metadata", "tags", "nemo_cache", "nemo_cache_ttl", "store", "n");
    /** OpenAI members Anthropic has nothing for. */
    private static final Map<String, String> UNSUPPORTED = Map.ofEntries(
            Map.entry("frequency_penalty", "Anthropic has no frequency penalty"),
            Map.entry("presence_penalty", "Anthropic has no presence penalty"),
            Map.entry("logit_bias", "Anthropic has no logit bias"),
            Map.entry("logprobs", "Anthropic does not return log probabilities"),
            Map.entry("top_logprobs", "Anthropic does not return log probabilities"),
            Map.entry("seed", "Anthropic has no seed"),
            Map.entry("service_tier", "Anthropic's service tiers are not OpenAI's"),
            Map.entry("modalities", "Anthropic answers text only"),
            Map.entry("audio", "Anthropic answers text only"),
            Map.entry("prediction", "Anthropic has no predicted outputs"),
            Map.entry("web_search_options", "web search is an Anthropic server tool, not this option"),
            Map.entry("functions", "use 'tools'"),
            Map.entry("function_call", "use 'tool_choice'"),
            Map.entry("verbosity", "Anthropic has no verbosity setting"));
    private static final long DEFAULT_MAX_TOKENS = 4096;
    private static final long MIN_THINKING_BUDGET = 1024;

    private final JsonNodeFactory nodes = JsonNodeFactory.instance;
    private final Fidelity fidelity;
    /** Whether the answer is JSON mode's forced tool call, to be given back as content. */
    boolean jsonMode;

    AnthropicRequest(Fidelity fidelity) {
        this.fidelity = fidelity;
    }

    /**
     * The Messages API body for {@code in} (the client's body with the filters' edits), asking for
     * {@code model}; {@code maxOutput} is the model's most output tokens (0 when unknown).
     */
    ObjectNode encode(ObjectNode in, String model, long maxOutput) {
        ObjectNode out = nodes.objectNode();
        out.put("model", model);
        ArrayNode system = nodes.arrayNode();
        ArrayNode messages = messages(in.get("messages"), system);
        if (!system.isEmpty()) {
            out.set("system", system.size() == 1 && system.get(0).size() == 2 ? system.get(0).get("text") : system);
        }
        out.set("messages", messages);
        long maxTokens = in.path("max_completion_tokens").asLong(in.path("max_tokens").asLong(0));
        if (maxTokens <= 0) {
            maxTokens = maxOutput > 0 ? maxOutput : DEFAULT_MAX_TOKENS;
        }
        out.put("max_tokens", maxTokens);
        JsonNode n = in.get("n");
        if (n != null && !n.isNull() && n.asLong(1) != 1) {
            fidelity.unsupported("n", "Anthropic gives one choice per request");
        }
        JsonNode temperature = in.get("temperature");
        if (temperature != null && !temperature.isNull()) {
            if (temperature.asDouble() > 1) {
                fidelity.unsupported("temperature", "Anthropic's temperature goes from 0 to 1, and " + temperature.asText() + " is above it");
            } else {
                out.set("temperature", temperature);
            }
        }
        copy(in, out, "top_p", "top_p");
        List<String> stops = Texts.stops(in.get("stop"));
        if (!stops.isEmpty()) {
            ArrayNode s = out.putArray("stop_sequences");
            stops.forEach(s::add);
        }
        if (in.path("stream").asBoolean(false)) {
            out.put("stream", true);
        }
        if (in.path("user").isTextual()) {
            out.putObject("metadata").put("user_id", in.get("user").asText());
        }
        tools(in, out);
        responseFormat(in.get("response_format"), out);
        if (!in.hasNonNull("thinking")) {
            thinking(in.get("reasoning_effort"), out, maxTokens); // Anthropic's own thinking, passed through below, wins
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = in.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            String name = m.getKey();
            if (HANDLED.contains(name) || m.getValue().isNull()) {
                continue;
            }
            String why = UNSUPPORTED.get(name);
            if (why != null) {
                fidelity.unsupported(name, why);
            } else if (!out.has(name)) {
                out.set(name, m.getValue()); // Anthropic's own (top_k, thinking) or a newer one: theirs to judge
            }
        }
        return out;
    }

    // ---- messages ------------------------------------------------------------------------------

    private ArrayNode messages(JsonNode messages, ArrayNode system) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw Fidelity.invalid("messages", "Missing required parameter: 'messages' (a non-empty array).");
        }
        ArrayNode out = nodes.arrayNode();
        ObjectNode last = null;
        for (JsonNode m : messages) {
            String role = m.path("role").asText("");
            ArrayNode blocks;
            String as;
            switch (role) {
                case "system", "developer" -> {
                    system.addAll(textBlocks(m.get("content"), "messages[].content"));
                    continue;
                }
                case "user" -> {
                    as = "user";
                    blocks = userBlocks(m.get("content"));
                }
                case "assistant" -> {
                    as = "assistant";
                    blocks = assistantBlocks(m);
                }
                case "tool" -> {
                    as = "user";
                    blocks = nodes.arrayNode().add(toolResult(m));
                }
                default -> throw Fidelity.invalid("messages", "Unsupported message role '" + role + "'.");
            }
            if (blocks.isEmpty()) {
                continue; // an assistant turn with no text and no calls: Anthropic refuses empty content
            }
            if (last != null && last.get("role").asText().equals(as)) {
                ((ArrayNode) last.get("content")).addAll(blocks); // the API wants the roles to alternate
            } else {
                last = out.addObject();
                last.put("role", as);
                last.set("content", blocks);
            }
        }
        if (out.isEmpty()) {
            throw Fidelity.invalid("messages", "The request has no user or assistant message; Anthropic needs at least one.");
        }
        return out;
    }

    /** A string, or text parts: text blocks (empty text left out: Anthropic refuses it), each part's cache_control kept. */
    private ArrayNode textBlocks(JsonNode content, String param) {
        ArrayNode out = nodes.arrayNode();
        if (content == null || content.isNull()) {
            return out;
        }
        if (content.isTextual()) {
            if (!content.asText().isEmpty()) {
                out.addObject().put("type", "text").put("text", content.asText());
            }
            return out;
        }
        if (!content.isArray()) {
            throw Fidelity.invalid(param, "A message's content must be a string or an array of parts.");
        }
        for (JsonNode part : content) {
            if (!"text".equals(part.path("type").asText())) {
                throw Fidelity.invalid(param, "Only text parts may be given here, not '" + part.path("type").asText() + "'.");
            }
            out.add(text(part));
        }
        return out;
    }

    private ObjectNode text(JsonNode part) {
        ObjectNode b = nodes.objectNode().put("type", "text").put("text", part.path("text").asText(""));
        if (part.has("cache_control")) {
            b.set("cache_control", part.get("cache_control"));
        }
        return b;
    }

    private ArrayNode userBlocks(JsonNode content) {
        if (content == null || !content.isArray()) {
            return textBlocks(content, "messages[].content");
        }
        ArrayNode out = nodes.arrayNode();
        for (JsonNode part : content) {
            String type = part.path("type").asText();
            switch (type) {
                case "text" -> {
                    if (!part.path("text").asText("").isEmpty()) {
                        out.add(text(part));
                    }
                }
                case "image_url" -> out.add(image(part));
                case "file" -> out.add(document(part));
                default -> throw Fidelity.invalid("messages[].content", "Anthropic takes text, image_url and file parts, not '" + type + "'.");
            }
        }
        return out;
    }

    private ObjectNode image(JsonNode part) {
        JsonNode imageUrl = part.get("image_url");
        String url = imageUrl == null ? null : imageUrl.isTextual() ? imageUrl.asText() : imageUrl.path("url").asText(null);
        if (url == null) {
            throw Fidelity.invalid("messages[].content", "An image_url part needs image_url.url.");
        }
        ObjectNode b = nodes.objectNode().put("type", "image");
        ObjectNode source = b.putObject("source");
        DataUrl data = DataUrl.parse(url);
        if (data != null) {
            source.put("type", "base64").put("media_type", data.mediaType()).put("data", data.base64());
        } else {
            source.put("type", "url").put("url", url);
        }
        if (part.has("cache_control")) {
            b.set("cache_control", part.get("cache_control"));
        }
        return b;
    }

    private ObjectNode document(JsonNode part) {
        DataUrl data = DataUrl.parse(part.path("file").path("file_data").asText(null));
        if (data == null) {
            throw Fidelity.invalid("messages[].content", "A file part for Anthropic needs file.file_data as a base64 data URL (a file_id is OpenAI's own).");
        }
        ObjectNode b = nodes.objectNode().put("type", "document");
        b.putObject("source").put("type", "base64").put("media_type", data.mediaType()).put("data", data.base64());
        if (part.has("cache_control")) {
            b.set("cache_control", part.get("cache_control"));
        }
        return b;
    }

    private ArrayNode assistantBlocks(JsonNode m) {
        ArrayNode out = textBlocks(m.get("content"), "messages[].content");
        JsonNode calls = m.get("tool_calls");
        if (calls != null && calls.isArray()) {
            for (JsonNode call : calls) {
                JsonNode fn = call.path("function");
                ObjectNode b = out.addObject();
                b.put("type", "tool_use");
                b.put("id", call.path("id").asText());
                b.put("name", fn.path("name").asText());
                b.set("input", Texts.toolArguments(fn.path("arguments").asText(""), "Anthropic"));
            }
        }
        return out;
    }

    private ObjectNode toolResult(JsonNode m) {
        ObjectNode b = nodes.objectNode().put("type", "tool_result");
        b.put("tool_use_id", m.path("tool_call_id").asText());
        JsonNode content = m.get("content");
        if (content != null && content.isArray()) {
            b.set("content", textBlocks(content, "messages[].content"));
        } else {
            b.put("content", Texts.of(content));
        }
        return b;
    }

    // ---- tools, JSON mode, thinking -----------------------------------------------------------

    private void tools(ObjectNode in, ObjectNode out) {
        JsonNode tools = in.get("tools");
        if (tools != null && tools.isArray() && !tools.isEmpty()) {
            ArrayNode t = out.putArray("tools");
            for (JsonNode tool : tools) {
                if (!"function".equals(tool.path("type").asText("function"))) {
                    throw Fidelity.invalid("tools", "Anthropic takes function tools, not '" + tool.path("type").asText() + "'.");
                }
                JsonNode fn = tool.path("function");
                ObjectNode a = t.addObject();
                a.put("name", fn.path("name").asText());
                if (fn.hasNonNull("description")) {
                    a.put("description", fn.get("description").asText());
                }
                JsonNode schema = fn.get("parameters");
                a.set("input_schema", schema != null && schema.isObject() ? schema
                        : nodes.objectNode().put("type", "object").set("properties", nodes.objectNode()));
                if (tool.has("cache_control")) {
                    a.set("cache_control", tool.get("cache_control"));
                }
            }
        }
        JsonNode choice = in.get("tool_choice");
        ObjectNode c = null;
        if (choice != null && choice.isTextual()) {
            c = nodes.objectNode().put("type", switch (choice.asText()) {
                case "required" -> "any";
                case "none" -> "none";
                default -> "auto";
            });
        } else if (choice != null && choice.isObject()) {
            c = nodes.objectNode().put("type", "tool").put("name", choice.path("function").path("name").asText());
        }
        if (in.path("parallel_tool_calls").isBoolean() && !in.get("parallel_tool_calls").asBoolean() && out.has("tools")) {
            if (c == null) {
                c = nodes.objectNode().put("type", "auto");
            }
            if (!"none".equals(c.get("type").asText())) {
                c.put("disable_parallel_tool_use", true);
            }
        }
        if (c != null && out.has("tools")) {
            out.set("tool_choice", c);
        }
    }

    private void responseFormat(JsonNode format, ObjectNode out) {
        if (format == null || format.isNull()) {
            return;
        }
        String type = format.path("type").asText("text");
        JsonNode schema;
        switch (type) {
            case "text" -> {
                return;
            }
            case "json_object" -> schema = nodes.objectNode().put("type", "object");
            case "json_schema" -> {
                schema = format.path("json_schema").get("schema");
                if (schema == null || !schema.isObject()) {
                    throw Fidelity.invalid("response_format", "response_format.json_schema.schema must be a JSON schema object.");
                }
            }
            default -> throw Fidelity.invalid("response_format", "Unknown response_format type '" + type + "'.");
        }
        // Anthropic answers in JSON reliably when made to call a tool whose input is the answer
        ArrayNode tools = out.has("tools") ? (ArrayNode) out.get("tools") : out.putArray("tools");
        ObjectNode tool = tools.addObject();
        tool.put("name", JSON_TOOL);
        tool.put("description", "Give the answer as this tool's input.");
        tool.set("input_schema", schema);
        out.set("tool_choice", nodes.objectNode().put("type", "tool").put("name", JSON_TOOL));
        jsonMode = true;
    }

    /** {@code reasoning_effort} as an extended-thinking budget inside {@code max_tokens} (which counts thinking, as OpenAI's does). */
    private void thinking(JsonNode effort, ObjectNode out, long maxTokens) {
        if (effort == null || !effort.isTextual()) {
            return;
        }
        long budget = switch (effort.asText()) {
            case "minimal", "none" -> 0;
            case "low" -> 1024;
            case "medium" -> 4096;
            case "high" -> 16384;
            default -> throw Fidelity.invalid("reasoning_effort", "reasoning_effort must be minimal, low, medium or high.");
        };
        budget = Math.min(budget, maxTokens - 1);
        if (budget < MIN_THINKING_BUDGET) {
            return; // no thinking, or too little room for Anthropic's smallest budget
        }
        String choice = out.path("tool_choice").path("type").asText("auto");
        if (choice.equals("any") || choice.equals("tool")) {
            // Anthropic refuses thinking with a forced tool (JSON mode's too); the tool is what was asked for
            fidelity.unsupported("reasoning_effort", "Anthropic cannot think while a tool call is forced (JSON mode, tool_choice required or named)");
            return;
        }
        out.putObject("thinking").put("type", "enabled").put("budget_tokens", budget);
        if (out.has("temperature") && out.get("temperature").asDouble() != 1) {
            out.remove("temperature"); // thinking runs at temperature 1 only
            fidelity.unsupported("temperature", "Anthropic thinks at temperature 1 only");
        }
    }

    private static void copy(ObjectNode in, ObjectNode out, String from, String to) {
        JsonNode v = in.get(from);
        if (v != null && !v.isNull()) {
            out.set(to, v);
        }
    }
}
