package io.nemorouter.providers.gemini;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.provider.EventSink;
import io.nemorouter.core.provider.ResponseTranslator;
import io.nemorouter.providers.translate.ChunkWriter;
import io.nemorouter.providers.translate.JsonBodies;
import io.nemorouter.providers.translate.Sse;
import io.nemorouter.providers.translate.Usages;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gemini's chat answers as OpenAI's, for one exchange (the Gemini API's and Vertex AI's are one
 * shape): a {@code GenerateContentResponse} as a {@code chat.completion}, each candidate a choice
 * (text parts joined, {@code thought} parts as {@code reasoning_content}, {@code functionCall} parts
 * as {@code tool_calls}, the finish reason mapped, usage from {@code usageMetadata}); a stream, whose
 * every event is a whole GenerateContentResponse, as one chunk per part, the finish, then the usage
 * chunk and {@code [DONE]} when it ends; an error as OpenAI's envelope, Google's status name as its
 * {@code code}.
 */
final class GeminiTranslator implements ResponseTranslator {
    private final String provider;
    private ChunkWriter chunks;
    /** A stream's choices by candidate index: how many tool calls each has had, and whether it finished. */
    private final Map<Integer, StreamChoice> choices = new HashMap<>();
    private JsonNode usage;
    /** One stream's or answer's prefix for the tool call ids Gemini does not give. */
    private final String callIds = "call_" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16) + "_";

    private static final class StreamChoice {
        int toolCalls;
        boolean finished;
    }

    GeminiTranslator(String provider) {
        this.provider = provider;
    }

    // ---- a whole answer ------------------------------------------------------------------------

    @Override
    public ByteBuf body(Exchange exchange, int status, ByteBuf body) {
        try {
            JsonNode in = JsonBodies.read(body);
            ObjectNode out = status / 100 == 2 ? completion(in, exchange.body().model()) : error(status, in, provider);
            return JsonBodies.write(exchange.alloc(), out);
        } finally {
            body.release();
        }
    }

    ObjectNode completion(JsonNode in, String requestedModel) {
        ObjectNode out = OpenAiJson.MAPPER.createObjectNode();
        out.put("id", in.path("responseId").asText("gemini-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 8)));
        out.put("object", "chat.completion");
        out.put("created", System.currentTimeMillis() / 1000);
        out.put("model", in.path("modelVersion").asText(requestedModel));
        ArrayNode list = out.putArray("choices");
        JsonNode candidates = in.path("candidates");
        if (candidates.isEmpty()) {
            // the prompt itself was blocked (promptFeedback.blockReason): no candidate, nothing said
            ObjectNode choice = list.addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", "").putNull("refusal");
            choice.putNull("logprobs");
            choice.put("finish_reason", in.path("promptFeedback").has("blockReason") ? "content_filter" : "stop");
        }
        for (int i = 0; i < candidates.size(); i++) {
            list.add(choice(candidates.get(i), i));
        }
        usage(out, in.path("usageMetadata"));
        return out;
    }

    private ObjectNode choice(JsonNode candidate, int position) {
        ObjectNode choice = OpenAiJson.MAPPER.createObjectNode();
        choice.put("index", candidate.path("index").asInt(position));
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        StringBuilder text = new StringBuilder();
        StringBuilder thought = new StringBuilder();
        ArrayNode calls = null;
        for (JsonNode part : candidate.path("content").path("parts")) {
            if (part.has("functionCall")) {
                if (calls == null) {
                    calls = OpenAiJson.MAPPER.createArrayNode();
                }
                JsonNode fn = part.get("functionCall");
                ObjectNode call = calls.addObject();
                call.put("id", fn.path("id").asText(callIds + calls.size()));
                call.put("type", "function");
                call.putObject("function").put("name", fn.path("name").asText()).put("arguments", arguments(fn));
            } else if (part.path("thought").asBoolean(false)) {
                thought.append(part.path("text").asText(""));
            } else if (part.has("text")) {
                text.append(part.get("text").asText());
            }
        }
        if (text.isEmpty() && calls != null) {
            message.putNull("content");
        } else {
            message.put("content", text.toString());
        }
        if (!thought.isEmpty()) {
            message.put("reasoning_content", thought.toString());
        }
        if (calls != null) {
            message.set("tool_calls", calls);
        }
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(candidate.path("finishReason").asText(null), calls != null));
        return choice;
    }

    private static String arguments(JsonNode functionCall) {
        JsonNode args = functionCall.get("args");
        return args == null || args.isNull() ? "{}" : args.toString();
    }

    /** Gemini's finish reason as OpenAI's; null while the candidate goes on. */
    static String finishReason(String reason, boolean toolCalled) {
        if (reason == null || reason.isEmpty()) {
            return null;
        }
        if (toolCalled && !"MAX_TOKENS".equals(reason)) {
            return "tool_calls";
        }
        return switch (reason) {
            case "MAX_TOKENS" -> "length";
            case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE" -> "content_filter";
            default -> "stop"; // STOP, OTHER, MALFORMED_FUNCTION_CALL, FINISH_REASON_UNSPECIFIED
        };
    }

    /** OpenAI's usage from Gemini's {@code usageMetadata}: the prompt includes its cached part, the completion its thoughts. */
    private static void usage(ObjectNode out, JsonNode u) {
        long thoughts = u.path("thoughtsTokenCount").asLong(0);
        Usages.node(out, u.path("promptTokenCount").asLong(0), u.path("candidatesTokenCount").asLong(0) + thoughts,
                u.path("cachedContentTokenCount").asLong(0), thoughts);
    }

    /** Google's {@code {"error":{"code","message","status"}}} as OpenAI's envelope, Google's status name as the code. */
    static ObjectNode error(int status, JsonNode in, String provider) {
        JsonNode e = (in.isArray() ? in.path(0) : in).path("error"); // a JSON-array stream's error comes in an array
        String name = e.path("status").asText(null);
        String message = e.path("message").asText(null);
        ObjectNode out = OpenAiJson.MAPPER.createObjectNode();
        ObjectNode err = out.putObject("error");
        err.put("message", message != null ? message : "The " + provider + " upstream answered " + status + ".");
        err.put("type", status / 100 == 4 ? "invalid_request_error" : "upstream_error");
        err.putNull("param");
        err.put("code", name != null ? name : "upstream_status_" + status);
        return out;
    }

    private OpenAiError streamError(JsonNode e) {
        int code = e.path("code").asInt(502);
        HttpResponseStatus status = code >= 400 && code <= 599 ? HttpResponseStatus.valueOf(code) : HttpResponseStatus.BAD_GATEWAY;
        return new OpenAiError(status, code / 100 == 4 ? "invalid_request_error" : "upstream_error",
                e.path("status").asText("upstream_stream_error"), null,
                e.path("message").asText("The " + provider + " upstream's stream failed."));
    }

    // ---- a stream --------------------------------------------------------------------------------

    @Override
    public void event(Exchange exchange, ByteBuf event, EventSink out) {
        JsonNode e = Sse.data(event);
        if (e == null) {
            return; // a comment, or an event without data
        }
        if (e.has("error")) {
            out.fail(streamError(e.get("error")));
            return;
        }
        if (chunks == null) {
            chunks = new ChunkWriter(exchange.alloc(), "gemini", exchange.body().model(), System.currentTimeMillis() / 1000);
            chunks.identify(e.path("responseId").asText(null), e.path("modelVersion").asText(null));
        }
        if (e.has("usageMetadata")) {
            usage = e.get("usageMetadata"); // cumulative: the last one counts
        }
        JsonNode candidates = e.path("candidates");
        if (candidates.isEmpty() && e.path("promptFeedback").has("blockReason")) {
            StreamChoice c = start(0, out);
            c.finished = true;
            out.event(chunks.finishReason(0, "content_filter"));
            return;
        }
        for (int i = 0; i < candidates.size(); i++) {
            JsonNode candidate = candidates.get(i);
            int index = candidate.path("index").asInt(i);
            StreamChoice c = start(index, out);
            for (JsonNode part : candidate.path("content").path("parts")) {
                if (part.has("functionCall")) {
                    JsonNode fn = part.get("functionCall");
                    int call = c.toolCalls++;
                    out.event(chunks.toolCall(index, call, fn.path("id").asText(callIds + call), fn.path("name").asText(), arguments(fn)));
                } else if (part.path("text").isTextual() && !part.get("text").asText().isEmpty()) {
                    String text = part.get("text").asText();
                    out.event(part.path("thought").asBoolean(false) ? chunks.reasoning(index, text) : chunks.content(index, text));
                }
            }
            String reason = finishReason(candidate.path("finishReason").asText(null), c.toolCalls > 0);
            if (reason != null && !c.finished) {
                c.finished = true;
                out.event(chunks.finishReason(index, reason));
            }
        }
    }

    /** Choice {@code index}'s state, its role chunk written the first time it is seen. */
    private StreamChoice start(int index, EventSink out) {
        StreamChoice c = choices.get(index);
        if (c == null) {
            c = new StreamChoice();
            choices.put(index, c);
            out.event(chunks.role(index));
        }
        return c;
    }

    @Override
    public void end(Exchange exchange, EventSink out) {
        boolean finished = !choices.isEmpty();
        for (StreamChoice c : choices.values()) {
            finished &= c.finished;
        }
        if (!finished) {
            out.fail(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_stream_broken",
                    "The " + provider + " upstream's stream ended before its finishReason."));
            return;
        }
        JsonNode u = usage == null ? OpenAiJson.MAPPER.createObjectNode() : usage;
        long thoughts = u.path("thoughtsTokenCount").asLong(0);
        out.event(chunks.usage(u.path("promptTokenCount").asLong(0), u.path("candidatesTokenCount").asLong(0) + thoughts,
                u.path("cachedContentTokenCount").asLong(0), thoughts));
        out.event(chunks.done());
    }
}
