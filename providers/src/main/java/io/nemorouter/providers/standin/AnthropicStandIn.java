package io.nemorouter.providers.standin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nemorouter.providers.translate.Texts;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}) as its reference describes it, strict where
 * the real one is: {@code x-api-key} and {@code anthropic-version} required, {@code max_tokens}
 * required, no {@code system} role among the messages, roles alternating, no empty text blocks,
 * no members the API does not define ("Extra inputs are not permitted"), temperature at most 1.
 * Answers a message or its stream of events ({@code message_start}, {@code content_block_*},
 * {@code message_delta}, {@code message_stop}, a {@code ping}); a prompt marked with
 * {@code cache_control} is written to the prompt cache the first time and read from it after.
 */
final class AnthropicStandIn implements StandInServer.Api {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Set<String> MEMBERS = Set.of("model", "messages", "max_tokens", "system", "temperature", "top_p",
            "top_k", "stop_sequences", "stream", "tools", "tool_choice", "metadata", "thinking", "service_tier");

    private final String key;
    private final long delayMillis;
    /** Prompts already in the "prompt cache". */
    private final Set<String> cached = ConcurrentHashMap.newKeySet();
    private int ids;

    AnthropicStandIn(String key, long delayMillis) {
        this.key = key;
        this.delayMillis = delayMillis;
    }

    @Override
    public void answer(StandInServer.Request r, StandInServer.Reply reply) {
        if (!"POST".equals(r.method()) || !r.uri().startsWith("/v1/messages")) {
            reply.json(404, error("not_found_error", "Not found"));
            return;
        }
        String given = r.headers().get("x-api-key");
        if (given == null || (key != null && !key.equals(given))) {
            reply.json(401, error("authentication_error", "invalid x-api-key"));
            return;
        }
        if (r.headers().get("anthropic-version") == null) {
            reply.json(400, error("invalid_request_error", "anthropic-version: header is required"));
            return;
        }
        JsonNode req = r.json();
        String problem = problem(req);
        if (problem != null) {
            reply.json(400, error("invalid_request_error", problem));
            return;
        }
        String model = req.get("model").asText();
        int fail = FakeModel.failStatus(model);
        if (fail != 0) {
            reply.json(fail, error(errorType(fail), "Scripted failure of " + model + "."));
            return;
        }
        Message m = message(req);
        if (req.path("stream").asBoolean(false)) {
            reply.events(events(m, FakeModel.breaksMidStream(model)), delayMillis);
        } else {
            reply.json(200, whole(m).toString());
        }
    }

    /** What the real API would refuse, or null. */
    private static String problem(JsonNode req) {
        if (!req.isObject()) {
            return "body: Input should be an object";
        }
        for (var it = req.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!MEMBERS.contains(name)) {
                return name + ": Extra inputs are not permitted";
            }
        }
        if (!req.path("model").isTextual()) {
            return "model: Field required";
        }
        if (!req.path("max_tokens").canConvertToLong() || req.path("max_tokens").asLong() < 1) {
            return "max_tokens: Field required";
        }
        if (req.path("temperature").asDouble(0) > 1) {
            return "temperature: Input should be less than or equal to 1";
        }
        JsonNode messages = req.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            return "messages: Field required";
        }
        String previous = null;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String role = m.path("role").asText();
            if (!role.equals("user") && !role.equals("assistant")) {
                return "messages." + i + ".role: Input should be 'user' or 'assistant'";
            }
            if (role.equals(previous)) {
                return "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"" + role + "\" roles in a row";
            }
            previous = role;
            JsonNode content = m.get("content");
            if (content == null || (content.isTextual() && content.asText().isEmpty()) || (content.isArray() && content.isEmpty())) {
                return "messages." + i + ": all messages must have non-empty content";
            }
            if (content.isArray()) {
                for (JsonNode block : content) {
                    if ("text".equals(block.path("type").asText()) && block.path("text").asText("").isEmpty()) {
                        return "messages." + i + ": text content blocks must be non-empty";
                    }
                }
            }
        }
        return null;
    }

    /** What the model says: a text (and a thought), or a tool call, and why it stopped. */
    private record Message(String id, String model, String thinking, String text, String toolId, String toolName,
                           JsonNode toolInput, String stopReason, String stopSequence, long input, long cacheRead,
                           long cacheWrite, long output) {
    }

    private Message message(JsonNode req) {
        String model = req.get("model").asText();
        JsonNode last = req.get("messages").get(req.get("messages").size() - 1);
        StringBuilder lastUser = new StringBuilder();
        String toolResult = null;
        int images = 0;
        JsonNode content = last.get("content");
        if (content.isTextual()) {
            lastUser.append(content.asText());
        } else {
            for (JsonNode block : content) {
                switch (block.path("type").asText()) {
                    case "text" -> lastUser.append(block.path("text").asText());
                    case "image", "document" -> images++;
                    case "tool_result" -> toolResult = Texts.of(block.get("content"));
                    default -> {
                    }
                }
            }
        }
        String prompt = Texts.of(req.get("system")) + allText(req.get("messages"));
        long input = 3 + FakeModel.tokens(prompt);
        long cacheRead = 0;
        long cacheWrite = 0;
        if (req.toString().contains("\"cache_control\"")) {
            String prefix = Texts.of(req.get("system"));
            long prefixTokens = Math.min(input, FakeModel.tokens(prefix));
            if (cached.add(prefix)) {
                cacheWrite = prefixTokens;
            } else {
                cacheRead = prefixTokens;
            }
            input -= prefixTokens;
        }
        String id = "msg_standin" + (++ids);
        JsonNode tools = req.get("tools");
        String choice = req.path("tool_choice").path("type").asText("auto");
        if (tools != null && tools.isArray() && !tools.isEmpty() && !"none".equals(choice) && toolResult == null) {
            JsonNode tool = tools.get(0);
            if ("tool".equals(choice)) {
                for (JsonNode t : tools) {
                    if (t.path("name").asText().equals(req.path("tool_choice").path("name").asText())) {
                        tool = t;
                    }
                }
            }
            ObjectNode args = FakeModel.arguments(tool.get("input_schema"));
            return new Message(id, model, null, null, "toolu_standin" + ids, tool.path("name").asText(), args, "tool_use", null,
                    input, cacheRead, cacheWrite, FakeModel.tokens(args.toString()));
        }
        String text = FakeModel.answer(model, lastUser.toString(), images, toolResult);
        String stopReason = "end_turn";
        String stopSequence = null;
        JsonNode stops = req.get("stop_sequences");
        if (stops != null && stops.isArray()) {
            String cut = FakeModel.cutAtStop(text, stops.elements());
            if (cut != null) {
                for (JsonNode s : stops) {
                    if (text.startsWith(s.asText(), cut.length())) {
                        stopSequence = s.asText();
                    }
                }
                text = cut;
                stopReason = "stop_sequence";
            }
        }
        List<String> pieces = FakeModel.pieces(text);
        long max = req.get("max_tokens").asLong();
        if (pieces.size() > max) {
            text = String.join("", pieces.subList(0, (int) max));
            stopReason = "max_tokens";
            stopSequence = null;
        }
        String thinking = req.path("thinking").path("type").asText("").equals("enabled") ? "Thinking about: " + lastUser : null;
        return new Message(id, model, thinking, text, null, null, null, stopReason, stopSequence, input, cacheRead, cacheWrite,
                FakeModel.pieces(text).size() + (thinking == null ? 0 : FakeModel.tokens(thinking)));
    }

    private static String allText(JsonNode messages) {
        StringBuilder b = new StringBuilder();
        for (JsonNode m : messages) {
            b.append(Texts.of(m.get("content")));
        }
        return b.toString();
    }

    private static ObjectNode whole(Message m) {
        ObjectNode out = NODES.objectNode();
        out.put("id", m.id());
        out.put("type", "message");
        out.put("role", "assistant");
        out.put("model", m.model());
        ArrayNode content = out.putArray("content");
        if (m.thinking() != null) {
            content.addObject().put("type", "thinking").put("thinking", m.thinking()).put("signature", "c2lnbmF0dXJl");
        }
        if (m.toolName() != null) {
            content.addObject().put("type", "tool_use").put("id", m.toolId()).put("name", m.toolName()).set("input", m.toolInput());
        } else {
            content.addObject().put("type", "text").put("text", m.text());
        }
        out.put("stop_reason", m.stopReason());
        if (m.stopSequence() == null) {
            out.putNull("stop_sequence");
        } else {
            out.put("stop_sequence", m.stopSequence());
        }
        usage(out.putObject("usage"), m, m.output());
        return out;
    }

    private static void usage(ObjectNode u, Message m, long output) {
        u.put("input_tokens", m.input());
        u.put("cache_creation_input_tokens", m.cacheWrite());
        u.put("cache_read_input_tokens", m.cacheRead());
        u.put("output_tokens", output);
    }

    private static List<String> events(Message m, boolean breaks) {
        List<String> out = new ArrayList<>();
        ObjectNode start = NODES.objectNode().put("type", "message_start");
        ObjectNode msg = start.putObject("message");
        msg.put("id", m.id()).put("type", "message").put("role", "assistant").put("model", m.model());
        msg.putArray("content");
        msg.putNull("stop_reason");
        msg.putNull("stop_sequence");
        usage(msg.putObject("usage"), m, 1);
        out.add(event("message_start", start));
        out.add(event("ping", NODES.objectNode().put("type", "ping")));
        int index = 0;
        if (m.thinking() != null) {
            out.add(blockStart(index, NODES.objectNode().put("type", "thinking").put("thinking", "")));
            out.add(delta(index, NODES.objectNode().put("type", "thinking_delta").put("thinking", m.thinking())));
            out.add(delta(index, NODES.objectNode().put("type", "signature_delta").put("signature", "c2lnbmF0dXJl")));
            out.add(blockStop(index++));
        }
        if (m.toolName() != null) {
            ObjectNode block = NODES.objectNode().put("type", "tool_use").put("id", m.toolId()).put("name", m.toolName());
            block.putObject("input");
            out.add(blockStart(index, block));
            String json = m.toolInput().toString();
            int third = Math.max(1, json.length() / 3);
            for (int from = 0; from < json.length(); from += third) {
                out.add(delta(index, NODES.objectNode().put("type", "input_json_delta")
                        .put("partial_json", json.substring(from, Math.min(json.length(), from + third)))));
            }
        } else {
            out.add(blockStart(index, NODES.objectNode().put("type", "text").put("text", "")));
            List<String> pieces = FakeModel.pieces(m.text());
            for (int i = 0; i < pieces.size(); i++) {
                out.add(delta(index, NODES.objectNode().put("type", "text_delta").put("text", pieces.get(i))));
                if (breaks && i == 0) {
                    ObjectNode err = NODES.objectNode().put("type", "error");
                    err.putObject("error").put("type", "overloaded_error").put("message", "Overloaded");
                    out.add(event("error", err));
                    return out;
                }
            }
        }
        out.add(blockStop(index));
        ObjectNode end = NODES.objectNode().put("type", "message_delta");
        end.putObject("delta").put("stop_reason", m.stopReason()).put("stop_sequence", m.stopSequence());
        end.putObject("usage").put("output_tokens", m.output());
        out.add(event("message_delta", end));
        out.add(event("message_stop", NODES.objectNode().put("type", "message_stop")));
        return out;
    }

    private static String blockStart(int index, ObjectNode block) {
        ObjectNode e = NODES.objectNode().put("type", "content_block_start").put("index", index);
        e.set("content_block", block);
        return event("content_block_start", e);
    }

    private static String delta(int index, ObjectNode delta) {
        ObjectNode e = NODES.objectNode().put("type", "content_block_delta").put("index", index);
        e.set("delta", delta);
        return event("content_block_delta", e);
    }

    private static String blockStop(int index) {
        return event("content_block_stop", NODES.objectNode().put("type", "content_block_stop").put("index", index));
    }

    private static String event(String name, ObjectNode data) {
        return "event: " + name + "\ndata: " + data + "\n\n";
    }

    static String error(String type, String message) {
        ObjectNode out = NODES.objectNode().put("type", "error");
        out.putObject("error").put("type", type).put("message", message);
        return out.toString();
    }

    private static String errorType(int status) {
        return switch (status) {
            case 400 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 529 -> "overloaded_error";
            default -> "api_error";
        };
    }
}
