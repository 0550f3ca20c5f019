package io.nemorouter.providers.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.openai.OpenAiError;

import java.util.Set;

/**
 * A Responses API request as a chat completions request: {@code instructions} as the system
 * message; {@code input} (a string, or items: messages with input_text / input_image / input_file
 * parts, earlier outputs, {@code function_call} and {@code function_call_output} items) as
 * messages, function calls joining the assistant turn before them; {@code max_output_tokens} as
 * {@code max_completion_tokens}; function tools and {@code tool_choice} in chat's shape;
 * {@code text.format} as {@code response_format}; {@code reasoning.effort} as
 * {@code reasoning_effort}; {@code cache_control} on input parts kept (Anthropic's prompt cache); a stream
 * asks for its usage event.
 */
final class ResponsesRequest {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Members with the same name and meaning in both APIs. */
    private static final Set<String> SAME = Set.of("model", "temperature", "top_p", "parallel_tool_calls", "user", "stream",
            "metadata", "tags", "nemo_cache", "nemo_cache_ttl", "top_logprobs", "service_tier");
    /** Members that shape how OpenAI stores or runs a response, with no chat counterpart: not sent on. */
    private static final Set<String> RESPONSES_ONLY = Set.of("store", "include", "truncation", "background", "prompt_cache_key",
            "safety_identifier", "max_tool_calls", "stream_options");

    /** A request the bridge cannot carry: a 400. */
    static final class Refused extends RuntimeException {
        final OpenAiError error;

        Refused(String param, String message) {
            super(message, null, false, false);
            this.error = OpenAiError.badRequest("unsupported_parameter", param, message);
        }
    }

    private ResponsesRequest() {
    }

    static ObjectNode toChat(ObjectNode in) {
        ObjectNode out = NODES.objectNode();
        ArrayNode messages = out.putArray("messages");
        JsonNode instructions = in.get("instructions");
        if (instructions != null && instructions.isTextual()) {
            messages.addObject().put("role", "system").put("content", instructions.asText());
        }
        input(in.get("input"), messages);
        for (var it = in.fields(); it.hasNext(); ) {
            var m = it.next();
            String name = m.getKey();
            JsonNode v = m.getValue();
            switch (name) {
                case "input", "instructions" -> {
                }
                case "max_output_tokens" -> out.set("max_completion_tokens", v);
                case "tools" -> tools(v, out);
                case "tool_choice" -> toolChoice(v, out);
                case "text" -> format(v.get("format"), out);
                case "reasoning" -> {
                    if (v.path("effort").isTextual()) {
                        out.put("reasoning_effort", v.get("effort").asText());
                    }
                }
                case "previous_response_id", "conversation" -> {
                    if (!v.isNull()) {
                        throw new Refused(name, "This model is reached through the gateway's translation to chat completions,"
                                + " which keeps no conversation state: send the whole conversation in 'input' instead of '" + name + "'.");
                    }
                }
                case "prompt" -> throw new Refused(name, "Stored prompt templates are OpenAI's own: send the text in 'input'.");
                default -> {
                    if (SAME.contains(name)) {
                        out.set(name, v);
                    } else if (!RESPONSES_ONLY.contains(name)) {
                        out.set(name, v); // a provider's own member: passed on, its translator judges it
                    }
                }
            }
        }
        if (in.path("stream").asBoolean(false)) {
            out.putObject("stream_options").put("include_usage", true); // response.completed carries the usage
        }
        return out;
    }

    private static void input(JsonNode input, ArrayNode messages) {
        if (input == null || input.isNull()) {
            throw new Refused("input", "Missing required parameter: 'input'.");
        }
        if (input.isTextual()) {
            messages.addObject().put("role", "user").put("content", input.asText());
            return;
        }
        if (!input.isArray()) {
            throw new Refused("input", "'input' must be a string or an array of input items.");
        }
        ObjectNode lastAssistant = null;
        for (JsonNode item : input) {
            String type = item.path("type").asText("message");
            switch (type) {
                case "message" -> {
                    String role = item.path("role").asText("user");
                    ObjectNode m = messages.addObject();
                    m.put("role", role);
                    m.set("content", content(item.get("content"), role));
                    lastAssistant = role.equals("assistant") ? m : null;
                }
                case "function_call" -> {
                    if (lastAssistant == null) {
                        lastAssistant = messages.addObject().put("role", "assistant");
                        lastAssistant.putNull("content");
                    }
                    ArrayNode calls = lastAssistant.has("tool_calls") ? (ArrayNode) lastAssistant.get("tool_calls")
                            : lastAssistant.putArray("tool_calls");
                    ObjectNode call = calls.addObject();
                    call.put("id", item.path("call_id").asText());
                    call.put("type", "function");
                    call.putObject("function").put("name", item.path("name").asText()).put("arguments", item.path("arguments").asText(""));
                }
                case "function_call_output" -> {
                    JsonNode output = item.get("output");
                    messages.addObject().put("role", "tool").put("tool_call_id", item.path("call_id").asText())
                            .put("content", output == null ? "" : output.isTextual() ? output.asText() : output.toString());
                    lastAssistant = null;
                }
                case "reasoning" -> {
                    // the model's earlier thinking: chat has no place for it
                }
                default -> throw new Refused("input", "Input items of type '" + type + "' cannot be carried to this model.");
            }
        }
    }

    /** A message's content: a string, or input_text / output_text / input_image / input_file parts as chat parts. */
    private static JsonNode content(JsonNode content, String role) {
        if (content == null || content.isNull() || content.isTextual()) {
            return content == null ? NODES.textNode("") : content;
        }
        ArrayNode parts = NODES.arrayNode();
        StringBuilder assistantText = role.equals("assistant") ? new StringBuilder() : null;
        for (JsonNode part : content) {
            int before = parts.size();
            switch (part.path("type").asText()) {
                case "input_text", "output_text", "text" -> {
                    if (assistantText != null) {
                        assistantText.append(part.path("text").asText());
                    } else {
                        parts.addObject().put("type", "text").put("text", part.path("text").asText());
                    }
                }
                case "input_image" -> {
                    if (!part.path("image_url").isTextual()) {
                        throw new Refused("input", "An input_image needs image_url (a URL or a data URL); file_id is OpenAI's own.");
                    }
                    ObjectNode url = parts.addObject().put("type", "image_url").putObject("image_url");
                    url.put("url", part.get("image_url").asText());
                    if (part.path("detail").isTextual()) {
                        url.put("detail", part.get("detail").asText());
                    }
                }
                case "input_file" -> {
                    if (!part.path("file_data").isTextual()) {
                        throw new Refused("input", "An input_file needs file_data (a data URL); file_id is OpenAI's own.");
                    }
                    ObjectNode file = parts.addObject().put("type", "file").putObject("file");
                    file.put("file_data", part.get("file_data").asText());
                    if (part.path("filename").isTextual()) {
                        file.put("filename", part.get("filename").asText());
                    }
                }
                case "refusal" -> {
                    if (assistantText != null) {
                        assistantText.append(part.path("refusal").asText());
                    }
                }
                default -> throw new Refused("input", "Content parts of type '" + part.path("type").asText() + "' cannot be carried to this model.");
            }
            if (parts.size() > before && part.has("cache_control")) {
                ((ObjectNode) parts.get(before)).set("cache_control", part.get("cache_control")); // Anthropic's prompt cache, as on chat's parts
            }
        }
        return assistantText != null ? NODES.textNode(assistantText.toString()) : parts;
    }

    private static void tools(JsonNode tools, ObjectNode out) {
        if (tools == null || !tools.isArray() || tools.isEmpty()) {
            return;
        }
        ArrayNode t = out.putArray("tools");
        for (JsonNode tool : tools) {
            String type = tool.path("type").asText();
            if (!type.equals("function")) {
                throw new Refused("tools", "The '" + type + "' tool is OpenAI's own; through translation only function tools reach this model.");
            }
            ObjectNode fn = t.addObject().put("type", "function").putObject("function");
            fn.put("name", tool.path("name").asText());
            for (String member : new String[]{"description", "parameters", "strict"}) {
                if (tool.has(member) && !tool.get(member).isNull()) {
                    fn.set(member, tool.get(member));
                }
            }
        }
    }

    private static void toolChoice(JsonNode choice, ObjectNode out) {
        if (choice.isTextual()) {
            out.set("tool_choice", choice);
        } else if (choice.isObject() && "function".equals(choice.path("type").asText())) {
            out.putObject("tool_choice").put("type", "function").putObject("function").put("name", choice.path("name").asText());
        } else if (choice.isObject()) {
            throw new Refused("tool_choice", "Only function tool choices reach this model through translation.");
        }
    }

    private static void format(JsonNode format, ObjectNode out) {
        if (format == null || format.isNull()) {
            return;
        }
        switch (format.path("type").asText("text")) {
            case "text" -> {
            }
            case "json_object" -> out.putObject("response_format").put("type", "json_object");
            case "json_schema" -> {
                ObjectNode rf = out.putObject("response_format").put("type", "json_schema");
                ObjectNode js = rf.putObject("json_schema");
                js.put("name", format.path("name").asText("response"));
                if (format.has("schema")) {
                    js.set("schema", format.get("schema"));
                }
                if (format.has("strict")) {
                    js.set("strict", format.get("strict"));
                }
            }
            default -> throw new Refused("text.format", "Unknown text.format type '" + format.path("type").asText() + "'.");
        }
    }
}
