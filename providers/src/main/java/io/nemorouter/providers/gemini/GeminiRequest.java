package io.nemorouter.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.providers.translate.DataUrl;
import io.nemorouter.providers.translate.Fidelity;
import io.nemorouter.providers.translate.Texts;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An OpenAI chat request in the shape of Gemini's {@code GenerateContentRequest} (the Gemini API's
 * and Vertex AI's alike): system and developer messages as {@code systemInstruction}; the turns as
 * {@code contents} of roles {@code user} and {@code model}, consecutive turns of one role merged;
 * images as {@code inlineData} (data URLs) or {@code fileData} (other URLs); the assistant's tool
 * calls as {@code functionCall} parts and tool messages as {@code functionResponse} parts of a user
 * turn (Gemini matches them by function name, so the name is looked up from the call's id); the
 * sampling members in {@code generationConfig}; tools as {@code functionDeclarations} and
 * {@code tool_choice} as {@code toolConfig}. OpenAI members Gemini cannot honour go to
 * {@link Fidelity}; members OpenAI does not define ({@code safetySettings}, {@code cachedContent},
 * Vertex's {@code labels}) pass through as they are, Gemini's to judge.
 */
final class GeminiRequest {
    /** Members read here, or the gateway's and OpenAI's own that have no meaning upstream. */
    private static final Set<String> HANDLED = Set.of("model", "messages", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "top_k", "stop", "n", "presence_penalty", "frequency_penalty", "seed", "stream",
            "stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort",
            "user", "metadata", "store", "tags", "nemo_cache", "nemo_cache_ttl", "generationConfig");
    /** OpenAI members Gemini has nothing for (or that this translation does not carry). */
    private static final Map<String, String> UNSUPPORTED = Map.ofEntries(
            Map.entry("logit_bias", "Gemini has no logit bias"),
            Map.entry("logprobs", "log probabilities are not translated from Gemini's answer"),
            Map.entry("top_logprobs", "log probabilities are not translated from Gemini's answer"),
            Map.entry("service_tier", "Gemini's tiers are not OpenAI's"),
            Map.entry("modalities", "this translation answers text only"),
            Map.entry("audio", "this translation answers text only"),
            Map.entry("prediction", "Gemini has no predicted outputs"),
            Map.entry("web_search_options", "Gemini's search grounding is a tool of its own ({googleSearch: {}})"),
            Map.entry("functions", "use 'tools'"),
            Map.entry("function_call", "use 'tool_choice'"),
            Map.entry("verbosity", "Gemini has no verbosity setting"));

    private final JsonNodeFactory nodes = JsonNodeFactory.instance;
    private final Fidelity fidelity;

    GeminiRequest(Fidelity fidelity) {
        this.fidelity = fidelity;
    }

    /** The GenerateContentRequest for {@code in} (the client's body with the filters' edits). */
    ObjectNode encode(ObjectNode in) {
        ObjectNode out = nodes.objectNode();
        ArrayNode system = nodes.arrayNode();
        out.set("contents", contents(in.get("messages"), system));
        if (!system.isEmpty()) {
            out.putObject("systemInstruction").set("parts", system);
        }
        tools(in, out);
        ObjectNode config = generationConfig(in);
        if (!config.isEmpty()) {
            out.set("generationConfig", config);
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
                out.set(name, m.getValue()); // Gemini's own (safetySettings, cachedContent, labels) or a newer one
            }
        }
        return out;
    }

    // ---- contents ------------------------------------------------------------------------------

    private ArrayNode contents(JsonNode messages, ArrayNode system) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw Fidelity.invalid("messages", "Missing required parameter: 'messages' (a non-empty array).");
        }
        ArrayNode out = nodes.arrayNode();
        Map<String, String> callNames = new HashMap<>(); // tool_call_id → function name, from the assistant's calls
        ObjectNode last = null;
        for (JsonNode m : messages) {
            String role = m.path("role").asText("");
            ArrayNode parts;
            String as;
            switch (role) {
                case "system", "developer" -> {
                    system.addAll(textParts(m.get("content")));
                    continue;
                }
                case "user" -> {
                    as = "user";
                    parts = userParts(m.get("content"));
                }
                case "assistant" -> {
                    as = "model";
                    parts = modelParts(m, callNames);
                }
                case "tool" -> {
                    as = "user";
                    parts = nodes.arrayNode().add(functionResponse(m, callNames));
                }
                default -> throw Fidelity.invalid("messages", "Unsupported message role '" + role + "'.");
            }
            if (parts.isEmpty()) {
                continue; // Gemini refuses a turn without parts
            }
            if (last != null && last.get("role").asText().equals(as)) {
                ((ArrayNode) last.get("parts")).addAll(parts);
            } else {
                last = out.addObject();
                last.put("role", as);
                last.set("parts", parts);
            }
        }
        if (out.isEmpty()) {
            throw Fidelity.invalid("messages", "The request has no user or assistant message; Gemini needs at least one.");
        }
        return out;
    }

    /** A string, or text parts: text parts (empty text left out). */
    private ArrayNode textParts(JsonNode content) {
        ArrayNode out = nodes.arrayNode();
        if (content == null || content.isNull()) {
            return out;
        }
        if (content.isTextual()) {
            addText(out, content.asText());
            return out;
        }
        if (!content.isArray()) {
            throw Fidelity.invalid("messages[].content", "A message's content must be a string or an array of parts.");
        }
        for (JsonNode part : content) {
            if (!"text".equals(part.path("type").asText())) {
                throw Fidelity.invalid("messages[].content", "Only text parts may be given here, not '" + part.path("type").asText() + "'.");
            }
            addText(out, part.path("text").asText(""));
        }
        return out;
    }

    private void addText(ArrayNode parts, String text) {
        if (!text.isEmpty()) {
            parts.addObject().put("text", text);
        }
    }

    private ArrayNode userParts(JsonNode content) {
        if (content == null || !content.isArray()) {
            return textParts(content);
        }
        ArrayNode out = nodes.arrayNode();
        for (JsonNode part : content) {
            String type = part.path("type").asText();
            switch (type) {
                case "text" -> addText(out, part.path("text").asText(""));
                case "image_url" -> out.add(image(part));
                case "input_audio" -> out.add(audio(part));
                case "file" -> out.add(file(part));
                default -> throw Fidelity.invalid("messages[].content",
                        "Gemini takes text, image_url, input_audio and file parts, not '" + type + "'.");
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
        DataUrl data = DataUrl.parse(url);
        ObjectNode p = nodes.objectNode();
        if (data != null) {
            p.putObject("inlineData").put("mimeType", data.mediaType()).put("data", data.base64());
        } else {
            p.putObject("fileData").put("mimeType", mimeTypeOf(url)).put("fileUri", url);
        }
        return p;
    }

    /** An image's type from its URL's extension (Gemini wants one with a file URI); JPEG when it has none we know. */
    static String mimeTypeOf(String url) {
        String path = url;
        int cut = indexOfAny(path, '?', '#');
        if (cut >= 0) {
            path = path.substring(0, cut);
        }
        int dot = path.lastIndexOf('.');
        String ext = dot < 0 || dot < path.lastIndexOf('/') ? "" : path.substring(dot + 1).toLowerCase(Locale.ROOT);
        return switch (ext) {
            case "png" -> "image/png";
            case "gif" -> "image/gif";
            case "webp" -> "image/webp";
            case "heic" -> "image/heic";
            case "heif" -> "image/heif";
            case "pdf" -> "application/pdf";
            default -> "image/jpeg";
        };
    }

    private static int indexOfAny(String s, char a, char b) {
        int i = s.indexOf(a);
        int j = s.indexOf(b);
        return i < 0 ? j : j < 0 ? i : Math.min(i, j);
    }

    private ObjectNode audio(JsonNode part) {
        JsonNode a = part.path("input_audio");
        String data = a.path("data").asText(null);
        if (data == null) {
            throw Fidelity.invalid("messages[].content", "An input_audio part needs input_audio.data (base64).");
        }
        ObjectNode p = nodes.objectNode();
        p.putObject("inlineData").put("mimeType", "audio/" + a.path("format").asText("wav")).put("data", data);
        return p;
    }

    private ObjectNode file(JsonNode part) {
        DataUrl data = DataUrl.parse(part.path("file").path("file_data").asText(null));
        if (data == null) {
            throw Fidelity.invalid("messages[].content", "A file part for Gemini needs file.file_data as a base64 data URL (a file_id is OpenAI's own).");
        }
        ObjectNode p = nodes.objectNode();
        p.putObject("inlineData").put("mimeType", data.mediaType()).put("data", data.base64());
        return p;
    }

    private ArrayNode modelParts(JsonNode m, Map<String, String> callNames) {
        ArrayNode out = textParts(m.get("content"));
        JsonNode calls = m.get("tool_calls");
        if (calls != null && calls.isArray()) {
            for (JsonNode call : calls) {
                JsonNode fn = call.path("function");
                String name = fn.path("name").asText();
                callNames.put(call.path("id").asText(), name);
                ObjectNode c = out.addObject().putObject("functionCall");
                c.put("name", name);
                c.set("args", Texts.toolArguments(fn.path("arguments").asText(""), "Gemini"));
            }
        }
        return out;
    }

    private ObjectNode functionResponse(JsonNode m, Map<String, String> callNames) {
        String id = m.path("tool_call_id").asText();
        String name = callNames.get(id);
        if (name == null) {
            name = m.path("name").asText(null); // an old-style message that names its function itself
        }
        if (name == null) {
            throw Fidelity.invalid("messages", "The tool message for tool_call_id '" + id
                    + "' answers no tool call of an earlier assistant message; Gemini needs the function's name.");
        }
        String text = Texts.of(m.get("content"));
        JsonNode parsed = json(text);
        ObjectNode p = nodes.objectNode();
        ObjectNode r = p.putObject("functionResponse");
        r.put("name", name);
        ObjectNode response = r.putObject("response");
        if (parsed != null && parsed.isObject()) {
            response.set("content", parsed);
        } else {
            response.put("content", text);
        }
        return p;
    }

    private static JsonNode json(String text) {
        try {
            return OpenAiJson.MAPPER.readTree(text);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return null;
        }
    }

    // ---- tools ---------------------------------------------------------------------------------

    private void tools(ObjectNode in, ObjectNode out) {
        JsonNode tools = in.get("tools");
        boolean any = tools != null && tools.isArray() && !tools.isEmpty();
        if (any) {
            ArrayNode declarations = out.putArray("tools").addObject().putArray("functionDeclarations");
            for (JsonNode tool : tools) {
                if (!"function".equals(tool.path("type").asText("function"))) {
                    throw Fidelity.invalid("tools", "Gemini takes function tools here, not '" + tool.path("type").asText() + "'.");
                }
                JsonNode fn = tool.path("function");
                ObjectNode d = declarations.addObject();
                d.put("name", fn.path("name").asText());
                if (fn.hasNonNull("description")) {
                    d.put("description", fn.get("description").asText());
                }
                JsonNode schema = fn.get("parameters");
                if (schema != null && schema.isObject() && !schema.path("properties").isEmpty()) {
                    d.set("parameters", GeminiSchemas.clean(schema)); // Gemini refuses an object schema without properties
                }
            }
        }
        JsonNode choice = in.get("tool_choice");
        ObjectNode calling = null;
        if (choice != null && choice.isTextual()) {
            calling = nodes.objectNode().put("mode", switch (choice.asText()) {
                case "required" -> "ANY";
                case "none" -> "NONE";
                default -> "AUTO";
            });
        } else if (choice != null && choice.isObject()) {
            calling = nodes.objectNode().put("mode", "ANY");
            calling.putArray("allowedFunctionNames").add(choice.path("function").path("name").asText());
        }
        if (calling != null && any) {
            out.putObject("toolConfig").set("functionCallingConfig", calling);
        }
        if (any && in.path("parallel_tool_calls").isBoolean() && !in.get("parallel_tool_calls").asBoolean()) {
            fidelity.unsupported("parallel_tool_calls", "Gemini cannot be told to call one function at a time");
        }
    }

    // ---- generationConfig ----------------------------------------------------------------------

    private ObjectNode generationConfig(ObjectNode in) {
        ObjectNode c = nodes.objectNode();
        copy(in, c, "temperature", "temperature");
        copy(in, c, "top_p", "topP");
        copy(in, c, "top_k", "topK");
        JsonNode max = in.hasNonNull("max_completion_tokens") ? in.get("max_completion_tokens") : in.get("max_tokens");
        if (max != null && !max.isNull()) {
            c.set("maxOutputTokens", max);
        }
        List<String> stops = Texts.stops(in.get("stop"));
        if (!stops.isEmpty()) {
            ArrayNode s = c.putArray("stopSequences");
            stops.forEach(s::add);
        }
        JsonNode n = in.get("n");
        if (n != null && !n.isNull() && n.asLong(1) != 1) {
            c.set("candidateCount", n);
        }
        copy(in, c, "presence_penalty", "presencePenalty");
        copy(in, c, "frequency_penalty", "frequencyPenalty");
        copy(in, c, "seed", "seed");
        responseFormat(in.get("response_format"), c);
        thinking(in.get("reasoning_effort"), c);
        JsonNode own = in.get("generationConfig"); // Gemini's own members, sent as they are where OpenAI's did not say
        if (own != null && own.isObject()) {
            own.fields().forEachRemaining(m -> {
                if (!c.has(m.getKey())) {
                    c.set(m.getKey(), m.getValue());
                }
            });
        }
        return c;
    }

    private void responseFormat(JsonNode format, ObjectNode c) {
        if (format == null || format.isNull()) {
            return;
        }
        String type = format.path("type").asText("text");
        switch (type) {
            case "text" -> {
            }
            case "json_object" -> c.put("responseMimeType", "application/json");
            case "json_schema" -> {
                JsonNode schema = format.path("json_schema").get("schema");
                if (schema == null || !schema.isObject()) {
                    throw Fidelity.invalid("response_format", "response_format.json_schema.schema must be a JSON schema object.");
                }
                c.put("responseMimeType", "application/json");
                c.set("responseSchema", GeminiSchemas.clean(schema));
            }
            default -> throw Fidelity.invalid("response_format", "Unknown response_format type '" + type + "'.");
        }
    }

    /** {@code reasoning_effort} as a thinking budget, thoughts included in the answer (as {@code reasoning_content}). */
    private void thinking(JsonNode effort, ObjectNode c) {
        if (effort == null || !effort.isTextual()) {
            return;
        }
        int budget = switch (effort.asText()) {
            case "minimal", "none" -> 0;
            case "low" -> 1024;
            case "medium" -> 8192;
            case "high" -> 24576;
            default -> throw Fidelity.invalid("reasoning_effort", "reasoning_effort must be minimal, low, medium or high.");
        };
        ObjectNode t = c.putObject("thinkingConfig").put("thinkingBudget", budget);
        if (budget > 0) {
            t.put("includeThoughts", true);
        }
    }

    private static void copy(ObjectNode in, ObjectNode out, String from, String to) {
        JsonNode v = in.get(from);
        if (v != null && !v.isNull()) {
            out.set(to, v);
        }
    }
}
