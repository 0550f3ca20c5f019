package io.nemorouter.providers.anthropic;

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
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.HashMap;
import java.util.Map;

/**
 * Anthropic's answers as OpenAI's, for one exchange: a message as a {@code chat.completion} (text,
 * {@code tool_calls}, thinking as {@code reasoning_content}, the stop reason as a
 * {@code finish_reason}, usage with the prompt cache's reads and writes); a stream's events as
 * {@code chat.completion.chunk}s as they come, one chunk per text or tool-argument delta; an error
 * as OpenAI's envelope, {@code overloaded_error}'s 529 as a 503 so routing retries it elsewhere.
 */
final class AnthropicTranslator implements ResponseTranslator {
    /** Whether the request asked for JSON mode: known once it was encoded, after this translator was made. */
    private final java.util.function.BooleanSupplier jsonMode;
    private ChunkWriter chunks;
    /** Anthropic's content block index → its OpenAI tool call index; -1 for JSON mode's tool, whose input is content. */
    private final Map<Integer, Integer> toolCalls = new HashMap<>();
    private int nextToolCall;
    private long inputTokens;
    private long cacheRead;
    private long cacheWrite;
    private long outputTokens;
    private boolean stopped;

    AnthropicTranslator(java.util.function.BooleanSupplier jsonMode) {
        this.jsonMode = jsonMode;
    }

    @Override
    public void head(Exchange exchange, HttpResponse head) {
        if (head.status().code() == 529) {
            head.setStatus(HttpResponseStatus.SERVICE_UNAVAILABLE); // overloaded: OpenAI's clients and the router know 503
        }
    }

    // ---- a whole answer ------------------------------------------------------------------------

    @Override
    public ByteBuf body(Exchange exchange, int status, ByteBuf body) {
        try {
            JsonNode in = JsonBodies.read(body);
            ObjectNode out = status / 100 == 2 ? completion(in) : error(status, in);
            return JsonBodies.write(exchange.alloc(), out);
        } finally {
            body.release();
        }
    }

    private ObjectNode completion(JsonNode in) {
        ObjectNode out = OpenAiJson.MAPPER.createObjectNode();
        out.put("id", in.path("id").asText("msg"));
        out.put("object", "chat.completion");
        out.put("created", System.currentTimeMillis() / 1000);
        out.put("model", in.path("model").asText());
        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        StringBuilder text = new StringBuilder();
        StringBuilder thinking = new StringBuilder();
        ArrayNode calls = null;
        for (JsonNode block : in.path("content")) {
            switch (block.path("type").asText()) {
                case "text" -> text.append(block.path("text").asText());
                case "thinking" -> thinking.append(block.path("thinking").asText());
                case "tool_use" -> {
                    String arguments = block.path("input").toString();
                    if (jsonMode.getAsBoolean() && AnthropicRequest.JSON_TOOL.equals(block.path("name").asText())) {
                        text.append(arguments); // JSON mode's answer
                        continue;
                    }
                    if (calls == null) {
                        calls = OpenAiJson.MAPPER.createArrayNode();
                    }
                    ObjectNode call = calls.addObject();
                    call.put("id", block.path("id").asText());
                    call.put("type", "function");
                    call.putObject("function").put("name", block.path("name").asText()).put("arguments", arguments);
                }
                default -> {
                    // redacted thinking, server tool blocks: nothing OpenAI's shape can carry
                }
            }
        }
        if (text.isEmpty() && calls != null) {
            message.putNull("content");
        } else {
            message.put("content", text.toString());
        }
        if (!thinking.isEmpty()) {
            message.put("reasoning_content", thinking.toString());
        }
        if (calls != null) {
            message.set("tool_calls", calls);
        }
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(in.path("stop_reason").asText(null), calls != null));
        JsonNode u = in.path("usage");
        long read = u.path("cache_read_input_tokens").asLong(0);
        long write = u.path("cache_creation_input_tokens").asLong(0);
        ObjectNode usage = Usages.node(out, u.path("input_tokens").asLong(0) + read + write,
                u.path("output_tokens").asLong(0), read, 0);
        usage.put("cache_read_input_tokens", read);
        usage.put("cache_creation_input_tokens", write);
        return out;
    }

    /** Anthropic's stop reason as OpenAI's finish reason; JSON mode's forced tool call is a plain stop. */
    private String finishReason(String stop, boolean clientToolCalled) {
        if (stop == null) {
            return null;
        }
        return switch (stop) {
            case "max_tokens", "model_context_window_exceeded" -> "length";
            case "tool_use" -> jsonMode.getAsBoolean() && !clientToolCalled ? "stop" : "tool_calls";
            case "refusal" -> "content_filter";
            default -> "stop"; // end_turn, stop_sequence, pause_turn
        };
    }

    /** Anthropic's {@code {"type":"error","error":{"type","message"}}} as OpenAI's envelope. */
    private static ObjectNode error(int status, JsonNode in) {
        JsonNode e = in.path("error");
        String type = e.path("type").asText(null);
        String message = e.path("message").asText(null);
        ObjectNode out = OpenAiJson.MAPPER.createObjectNode();
        ObjectNode err = out.putObject("error");
        err.put("message", message != null ? message : "The Anthropic upstream answered " + status + ".");
        err.put("type", openAiType(type, status));
        err.putNull("param");
        err.put("code", type != null ? type : "upstream_status_" + status);
        return out;
    }

    static OpenAiError streamError(JsonNode e) {
        String type = e.path("type").asText("api_error");
        HttpResponseStatus status = switch (type) {
            case "overloaded_error" -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            case "rate_limit_error" -> HttpResponseStatus.TOO_MANY_REQUESTS;
            case "invalid_request_error" -> HttpResponseStatus.BAD_REQUEST;
            default -> HttpResponseStatus.BAD_GATEWAY;
        };
        return new OpenAiError(status, openAiType(type, status.code()), type, null,
                e.path("message").asText("The Anthropic upstream's stream failed (" + type + ")."));
    }

    private static String openAiType(String anthropicType, int status) {
        if (anthropicType == null) {
            return status / 100 == 4 ? "invalid_request_error" : "upstream_error";
        }
        return switch (anthropicType) {
            case "invalid_request_error", "not_found_error", "request_too_large" -> "invalid_request_error";
            case "authentication_error" -> "authentication_error";
            case "permission_error" -> "permission_error";
            case "rate_limit_error" -> "rate_limit_error";
            default -> "upstream_error"; // api_error, overloaded_error
        };
    }

    // ---- a stream --------------------------------------------------------------------------------

    @Override
    public void event(Exchange exchange, ByteBuf event, EventSink out) {
        JsonNode e = Sse.data(event);
        if (e == null) {
            return; // a comment, or an event without data
        }
        if (chunks == null) {
            chunks = new ChunkWriter(exchange.alloc(), "msg", exchange.body().model(), System.currentTimeMillis() / 1000);
        }
        switch (e.path("type").asText()) {
            case "message_start" -> {
                JsonNode m = e.path("message");
                chunks.identify(m.path("id").asText(null), m.path("model").asText(null));
                usage(m.path("usage"));
                out.event(chunks.role());
            }
            case "content_block_start" -> {
                JsonNode block = e.path("content_block");
                int index = e.path("index").asInt();
                if ("tool_use".equals(block.path("type").asText())) {
                    if (jsonMode.getAsBoolean() && AnthropicRequest.JSON_TOOL.equals(block.path("name").asText())) {
                        toolCalls.put(index, -1);
                    } else {
                        int call = nextToolCall++;
                        toolCalls.put(index, call);
                        out.event(chunks.toolStart(call, block.path("id").asText(), block.path("name").asText()));
                    }
                } else if ("text".equals(block.path("type").asText()) && !block.path("text").asText("").isEmpty()) {
                    out.event(chunks.content(block.get("text").asText()));
                }
            }
            case "content_block_delta" -> {
                JsonNode d = e.path("delta");
                switch (d.path("type").asText()) {
                    case "text_delta" -> out.event(chunks.content(d.path("text").asText()));
                    case "thinking_delta" -> out.event(chunks.reasoning(d.path("thinking").asText()));
                    case "input_json_delta" -> {
                        Integer call = toolCalls.get(e.path("index").asInt());
                        String piece = d.path("partial_json").asText();
                        if (call == null || piece.isEmpty()) {
                            return;
                        }
                        out.event(call < 0 ? chunks.content(piece) : chunks.toolArguments(call, piece));
                    }
                    default -> {
                        // signature and citation deltas: nothing OpenAI's chunks carry
                    }
                }
            }
            case "message_delta" -> {
                usage(e.path("usage"));
                String reason = finishReason(e.path("delta").path("stop_reason").asText(null), nextToolCall > 0);
                if (reason != null) {
                    out.event(chunks.finishReason(reason));
                }
            }
            case "message_stop" -> {
                stopped = true;
                out.event(chunks.usage(inputTokens + cacheRead + cacheWrite, outputTokens, cacheRead, 0, cacheWrite));
                out.event(chunks.done());
            }
            case "error" -> out.fail(streamError(e.path("error")));
            default -> {
                // ping, content_block_stop: nothing to say
            }
        }
    }

    /** Anthropic's counts come in two parts: the prompt's at the start, the output's (cumulative) at the end. */
    private void usage(JsonNode u) {
        if (u.has("input_tokens")) {
            inputTokens = u.path("input_tokens").asLong(inputTokens);
        }
        if (u.has("cache_read_input_tokens")) {
            cacheRead = u.path("cache_read_input_tokens").asLong(cacheRead);
        }
        if (u.has("cache_creation_input_tokens")) {
            cacheWrite = u.path("cache_creation_input_tokens").asLong(cacheWrite);
        }
        if (u.has("output_tokens")) {
            outputTokens = u.path("output_tokens").asLong(outputTokens);
        }
    }

    @Override
    public void end(Exchange exchange, EventSink out) {
        if (!stopped) {
            out.fail(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_stream_broken",
                    "The Anthropic upstream's stream ended before its message_stop event."));
        }
    }

}
