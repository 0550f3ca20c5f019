package io.nemorouter.providers.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.provider.EventSink;
import io.nemorouter.core.provider.ResponseTranslator;
import io.nemorouter.providers.translate.JsonBodies;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Chat completions answers as Responses API answers, for one exchange: a {@code chat.completion}
 * as a {@code response} (a message item with its {@code output_text}, a {@code function_call} item
 * per tool call, usage as input / output tokens); a chunk stream as the Responses event stream
 * ({@code response.created}, {@code response.output_item.added}, {@code response.output_text.delta},
 * {@code response.function_call_arguments.delta}, {@code response.reasoning_summary_text.delta} for
 * thinking, the {@code .done} events, {@code response.completed} with the whole response), one event
 * per chunk as it arrives; text after a tool call is a message item of its own. Errors are OpenAI's envelope in both
 * APIs and pass through.
 */
final class ResponsesTranslator implements ResponseTranslator {
    private final JsonNode request;
    private final long created = System.currentTimeMillis() / 1000;
    private String id;
    private String model;
    // ---- a stream's state ----
    private boolean started;
    private boolean finished;
    private int sequence;
    private final List<ObjectNode> output = new ArrayList<>();
    /** The message item being written, its index in {@link #output}, and its text so far. */
    private ObjectNode message;
    private int messageIndex = -1;
    private StringBuilder text;
    /** Open function calls by the chat stream's tool-call index. */
    private final List<ObjectNode> calls = new ArrayList<>();
    private final List<StringBuilder> arguments = new ArrayList<>();
    private final List<Integer> callIndexes = new ArrayList<>();
    private String finishReason;
    private JsonNode usage;
    /** The reasoning item being written (thinking text, streamed as its summary), its index in {@link #output}, its text so far. */
    private ObjectNode reasoningItem;
    private int reasoningIndex;
    private StringBuilder reasoningText;

    ResponsesTranslator(Exchange exchange) {
        JsonNode r;
        try {
            r = exchange.body().json();
        } catch (RuntimeException e) {
            r = OpenAiJson.MAPPER.createObjectNode();
        }
        this.request = r;
    }

    // ---- a whole answer ------------------------------------------------------------------------

    @Override
    public ByteBuf body(Exchange exchange, int status, ByteBuf body) {
        if (status / 100 != 2) {
            return body; // OpenAI's error envelope is the Responses API's too
        }
        try {
            return JsonBodies.write(exchange.alloc(), whole(JsonBodies.read(body)));
        } finally {
            body.release();
        }
    }

    private ObjectNode whole(JsonNode chat) {
        id = "resp_" + stripPrefix(chat.path("id").asText("gateway"));
        model = chat.path("model").asText(request.path("model").asText());
        JsonNode choice = chat.path("choices").path(0);
        JsonNode message = choice.path("message");
        List<ObjectNode> items = new ArrayList<>();
        String content = message.path("content").isTextual() ? message.get("content").asText() : null;
        if (message.path("reasoning_content").isTextual()) {
            items.add(reasoning(message.get("reasoning_content").asText()));
        }
        if (content != null && !content.isEmpty()) {
            items.add(messageItem(content, "completed"));
        }
        for (JsonNode call : message.path("tool_calls")) {
            ObjectNode item = functionCall(call.path("id").asText(), call.path("function").path("name").asText(), "completed");
            item.put("arguments", call.path("function").path("arguments").asText(""));
            items.add(item);
        }
        return response(finishReasonStatus(choice.path("finish_reason").asText(null)), items, chat.get("usage"),
                choice.path("finish_reason").asText(null));
    }

    // ---- a stream --------------------------------------------------------------------------------

    @Override
    public void event(Exchange exchange, ByteBuf event, EventSink out) {
        if (finished) {
            return;
        }
        if (isDone(event)) {
            complete(exchange, out);
            return;
        }
        ChatChunk chunk = ChatChunk.read(event);
        if (chunk == null) {
            return;
        }
        if (chunk.error() != null) {
            JsonNode e = chunk.error();
            out.fail(new OpenAiError(HttpResponseStatus.BAD_GATEWAY, e.path("type").asText("upstream_error"),
                    e.path("code").asText(null), null, e.path("message").asText("The upstream's stream failed.")));
            finished = true;
            return;
        }
        if (!started) {
            started = true;
            id = "resp_" + stripPrefix(chunk.id() == null ? "gateway" : chunk.id());
            model = chunk.model() != null ? chunk.model() : request.path("model").asText();
            emit(exchange, out, "response.created", o -> o.set("response", response("in_progress", List.of(), null, null)));
            emit(exchange, out, "response.in_progress", o -> o.set("response", response("in_progress", List.of(), null, null)));
        }
        if (chunk.usage() != null) {
            usage = chunk.usage();
        }
        if (!chunk.choice()) {
            return;
        }
        if (chunk.reasoning() != null && !chunk.reasoning().isEmpty()) {
            reasoningDelta(exchange, out, chunk.reasoning());
        }
        String piece = chunk.content() == null ? "" : chunk.content();
        if (!piece.isEmpty()) {
            openMessage(exchange, out);
            text.append(piece);
            out.event(textDelta(exchange, piece));
        }
        if (chunk.toolCalls() != null) {
            toolCalls(exchange, out, chunk.toolCalls());
        }
        if (chunk.finishReason() != null) {
            finishReason = chunk.finishReason();
        }
    }

    private void toolCalls(Exchange exchange, EventSink out, JsonNode toolCalls) {
        for (JsonNode call : toolCalls) {
            int index = call.path("index").asInt(0);
            int at = callIndexes.indexOf(index);
            if (at < 0) {
                closeReasoning(exchange, out);
                closeMessage(exchange, out);
                ObjectNode item = functionCall(call.path("id").asText("call_" + index), call.path("function").path("name").asText(), "in_progress");
                item.put("arguments", "");
                output.add(item);
                calls.add(item);
                arguments.add(new StringBuilder());
                callIndexes.add(index);
                at = calls.size() - 1;
                int outputIndex = output.size() - 1;
                emit(exchange, out, "response.output_item.added", o -> o.put("output_index", outputIndex).set("item", item.deepCopy()));
            }
            String args = call.path("function").path("arguments").asText("");
            if (!args.isEmpty()) {
                arguments.get(at).append(args);
                ObjectNode item = calls.get(at);
                int outputIndex = outputIndex(item);
                emit(exchange, out, "response.function_call_arguments.delta", o -> o.put("item_id", item.get("id").asText())
                        .put("output_index", outputIndex).put("delta", args));
            }
        }
    }

    @Override
    public void end(Exchange exchange, EventSink out) {
        if (!finished && started && finishReason != null) {
            complete(exchange, out); // a chat stream without [DONE], but finished: complete it
        } else if (!finished) {
            out.fail(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_stream_broken",
                    "The upstream's stream ended before the answer was complete."));
        }
    }

    private void complete(Exchange exchange, EventSink out) {
        if (!started) {
            out.fail(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_stream_broken", "The upstream's stream was empty."));
            finished = true;
            return;
        }
        closeReasoning(exchange, out);
        closeMessage(exchange, out);
        for (int i = 0; i < calls.size(); i++) {
            ObjectNode item = calls.get(i);
            String args = arguments.get(i).toString();
            int outputIndex = outputIndex(item);
            item.put("arguments", args).put("status", "completed");
            emit(exchange, out, "response.function_call_arguments.done", o -> o.put("item_id", item.get("id").asText())
                    .put("output_index", outputIndex).put("arguments", args));
            emit(exchange, out, "response.output_item.done", o -> o.put("output_index", outputIndex).set("item", item.deepCopy()));
        }
        String status = finishReasonStatus(finishReason);
        ObjectNode response = response(status, output, usage, finishReason);
        emit(exchange, out, status.equals("incomplete") ? "response.incomplete" : "response.completed", o -> o.set("response", response));
        finished = true;
    }

    private void openMessage(Exchange exchange, EventSink out) {
        if (message != null && !message.path("status").asText().equals("completed")) {
            return;
        }
        closeReasoning(exchange, out);
        boolean later = message != null; // text after a tool call: a message item of its own, after the call
        message = messageItem("", "in_progress");
        if (later) {
            message.put("id", message.get("id").asText() + "_" + output.size());
        }
        ((ArrayNode) message.get("content")).removeAll();
        text = new StringBuilder();
        output.add(message);
        messageIndex = output.size() - 1;
        ObjectNode added = message.deepCopy();
        emit(exchange, out, "response.output_item.added", o -> o.put("output_index", messageIndex).set("item", added));
        emit(exchange, out, "response.content_part.added", o -> o.put("item_id", message.get("id").asText())
                .put("output_index", messageIndex).put("content_index", 0).set("part", textPart("")));
    }

    private void closeMessage(Exchange exchange, EventSink out) {
        if (message == null || message.path("status").asText().equals("completed")) {
            return;
        }
        String all = text.toString();
        String itemId = message.get("id").asText();
        emit(exchange, out, "response.output_text.done", o -> o.put("item_id", itemId).put("output_index", messageIndex)
                .put("content_index", 0).put("text", all));
        emit(exchange, out, "response.content_part.done", o -> o.put("item_id", itemId).put("output_index", messageIndex)
                .put("content_index", 0).set("part", textPart(all)));
        message.put("status", "completed");
        ((ArrayNode) message.get("content")).add(textPart(all));
        ObjectNode done = message.deepCopy();
        emit(exchange, out, "response.output_item.done", o -> o.put("output_index", messageIndex).set("item", done));
    }

    /**
     * Thinking text (chat's {@code reasoning_content}): a reasoning item whose summary is the text,
     * as a whole answer's is, opened by its first piece.
     */
    private void reasoningDelta(Exchange exchange, EventSink out, String piece) {
        if (reasoningItem == null) {
            closeMessage(exchange, out);
            reasoningItem = OpenAiJson.MAPPER.createObjectNode();
            reasoningItem.put("type", "reasoning");
            reasoningItem.put("id", "rs_" + stripPrefix(id) + "_" + output.size());
            reasoningItem.putArray("summary");
            reasoningText = new StringBuilder();
            output.add(reasoningItem);
            reasoningIndex = output.size() - 1;
            ObjectNode added = reasoningItem.deepCopy();
            emit(exchange, out, "response.output_item.added", o -> o.put("output_index", reasoningIndex).set("item", added));
            emit(exchange, out, "response.reasoning_summary_part.added", o -> o.put("item_id", reasoningItem.get("id").asText())
                    .put("output_index", reasoningIndex).put("summary_index", 0).set("part", summaryPart("")));
        }
        reasoningText.append(piece);
        emit(exchange, out, "response.reasoning_summary_text.delta", o -> o.put("item_id", reasoningItem.get("id").asText())
                .put("output_index", reasoningIndex).put("summary_index", 0).put("delta", piece));
    }

    /** Ends the reasoning item being written, if any: its text is complete once the answer or a call begins. */
    private void closeReasoning(Exchange exchange, EventSink out) {
        if (reasoningItem == null) {
            return;
        }
        String all = reasoningText.toString();
        String itemId = reasoningItem.get("id").asText();
        int index = reasoningIndex;
        emit(exchange, out, "response.reasoning_summary_text.done", o -> o.put("item_id", itemId).put("output_index", index)
                .put("summary_index", 0).put("text", all));
        emit(exchange, out, "response.reasoning_summary_part.done", o -> o.put("item_id", itemId).put("output_index", index)
                .put("summary_index", 0).set("part", summaryPart(all)));
        ((ArrayNode) reasoningItem.get("summary")).add(summaryPart(all));
        ObjectNode done = reasoningItem.deepCopy();
        emit(exchange, out, "response.output_item.done", o -> o.put("output_index", index).set("item", done));
        reasoningItem = null;
    }

    private static ObjectNode summaryPart(String text) {
        return OpenAiJson.MAPPER.createObjectNode().put("type", "summary_text").put("text", text);
    }

    private static final byte[] DELTA_HEAD = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\""
            .getBytes(StandardCharsets.US_ASCII);
    private static final com.fasterxml.jackson.core.io.JsonStringEncoder ESCAPE = com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance();

    /**
     * A text delta, the stream's commonest event, written directly (what {@link #emit} would write,
     * member for member): no tree and no generator per chunk.
     */
    private ByteBuf textDelta(Exchange exchange, String piece) {
        byte[] escaped = ESCAPE.quoteAsUTF8(piece);
        byte[] itemId = ESCAPE.quoteAsUTF8(message.get("id").asText());
        ByteBuf b = exchange.alloc().buffer(DELTA_HEAD.length + itemId.length + escaped.length + 96);
        b.writeBytes(DELTA_HEAD).writeBytes(itemId);
        b.writeCharSequence("\",\"output_index\":" + messageIndex + ",\"content_index\":0,\"delta\":\"", StandardCharsets.US_ASCII);
        b.writeBytes(escaped);
        b.writeCharSequence("\",\"sequence_number\":" + sequence++ + "}\n\n", StandardCharsets.US_ASCII);
        return b;
    }

    /** One Responses event: {@code event: <type>} and its data with its type and sequence number. */
    private void emit(Exchange exchange, EventSink out, String type, java.util.function.Consumer<ObjectNode> fill) {
        ObjectNode data = OpenAiJson.MAPPER.createObjectNode();
        data.put("type", type);
        fill.accept(data);
        data.put("sequence_number", sequence++);
        ByteBuf b = exchange.alloc().buffer(256);
        b.writeCharSequence("event: " + type + "\ndata: ", StandardCharsets.US_ASCII);
        try {
            OpenAiJson.MAPPER.writeValue((java.io.OutputStream) new ByteBufOutputStream(b), data);
        } catch (IOException e) {
            b.release();
            throw new UncheckedIOException(e);
        }
        b.writeCharSequence("\n\n", StandardCharsets.US_ASCII);
        out.event(b);
    }

    // ---- shapes ----------------------------------------------------------------------------------

    private ObjectNode response(String status, List<ObjectNode> items, JsonNode chatUsage, String finish) {
        ObjectNode r = OpenAiJson.MAPPER.createObjectNode();
        r.put("id", id);
        r.put("object", "response");
        r.put("created_at", created);
        r.put("status", status);
        r.putNull("error");
        if ("incomplete".equals(status)) {
            r.putObject("incomplete_details").put("reason", "length".equals(finish) ? "max_output_tokens" : "content_filter");
        } else {
            r.putNull("incomplete_details");
        }
        copyOrNull(r, "instructions");
        copyOrNull(r, "max_output_tokens");
        r.put("model", model);
        ArrayNode out = r.putArray("output");
        items.forEach(out::add);
        r.put("parallel_tool_calls", request.path("parallel_tool_calls").asBoolean(true));
        copyOrNull(r, "previous_response_id");
        r.putObject("reasoning").set("effort", request.path("reasoning").path("effort").isTextual()
                ? request.path("reasoning").get("effort") : OpenAiJson.MAPPER.nullNode());
        r.put("store", false);
        copyOrNull(r, "temperature");
        r.set("text", request.has("text") ? request.get("text") : OpenAiJson.MAPPER.createObjectNode().set("format",
                OpenAiJson.MAPPER.createObjectNode().put("type", "text")));
        r.set("tool_choice", request.has("tool_choice") ? request.get("tool_choice") : OpenAiJson.MAPPER.getNodeFactory().textNode("auto"));
        r.set("tools", request.has("tools") ? request.get("tools") : OpenAiJson.MAPPER.createArrayNode());
        copyOrNull(r, "top_p");
        r.put("truncation", "disabled");
        if (chatUsage != null && !chatUsage.isNull()) {
            ObjectNode u = r.putObject("usage");
            long in = chatUsage.path("prompt_tokens").asLong();
            long outTokens = chatUsage.path("completion_tokens").asLong();
            u.put("input_tokens", in);
            u.putObject("input_tokens_details").put("cached_tokens", chatUsage.path("prompt_tokens_details").path("cached_tokens").asLong(0));
            u.put("output_tokens", outTokens);
            u.putObject("output_tokens_details").put("reasoning_tokens",
                    chatUsage.path("completion_tokens_details").path("reasoning_tokens").asLong(0));
            u.put("total_tokens", in + outTokens);
            long cacheWrite = chatUsage.path("cache_creation_input_tokens").asLong(0);
            if (cacheWrite > 0) {
                u.put("cache_creation_input_tokens", cacheWrite); // as in chat's usage: the gateway prices writes above input
            }
        } else {
            r.putNull("usage");
        }
        copyOrNull(r, "user");
        r.set("metadata", request.has("metadata") ? request.get("metadata") : OpenAiJson.MAPPER.createObjectNode());
        return r;
    }

    private void copyOrNull(ObjectNode r, String name) {
        JsonNode v = request.get(name);
        if (v == null) {
            r.putNull(name);
        } else {
            r.set(name, v);
        }
    }

    private ObjectNode messageItem(String content, String status) {
        ObjectNode m = OpenAiJson.MAPPER.createObjectNode();
        m.put("type", "message");
        m.put("id", "msg_" + stripPrefix(id));
        m.put("status", status);
        m.put("role", "assistant");
        m.putArray("content").add(textPart(content));
        return m;
    }

    private static ObjectNode textPart(String text) {
        ObjectNode p = OpenAiJson.MAPPER.createObjectNode();
        p.put("type", "output_text");
        p.put("text", text);
        p.putArray("annotations");
        return p;
    }

    private static ObjectNode functionCall(String callId, String name, String status) {
        ObjectNode f = OpenAiJson.MAPPER.createObjectNode();
        f.put("type", "function_call");
        f.put("id", "fc_" + stripPrefix(callId));
        f.put("call_id", callId);
        f.put("name", name);
        f.put("status", status);
        return f;
    }

    private static ObjectNode reasoning(String text) {
        ObjectNode r = OpenAiJson.MAPPER.createObjectNode();
        r.put("type", "reasoning");
        r.put("id", "rs_" + Long.toHexString(text.hashCode() & 0xffffffffL));
        ArrayNode summary = r.putArray("summary");
        summary.add(summaryPart(text));
        return r;
    }

    /** Where {@code item} is in the output, by identity: two calls alike in every member are still two items. */
    private int outputIndex(ObjectNode item) {
        for (int i = 0; i < output.size(); i++) {
            if (output.get(i) == item) {
                return i;
            }
        }
        return -1;
    }

    private static String finishReasonStatus(String finish) {
        return "length".equals(finish) || "content_filter".equals(finish) ? "incomplete" : "completed";
    }

    /** An id without its API's prefix ({@code chatcmpl-}, {@code msg_}, {@code call_}), to carry under another. */
    private static String stripPrefix(String id) {
        int cut = Math.max(id.indexOf('-'), id.indexOf('_'));
        return cut >= 0 && cut < id.length() - 1 ? id.substring(cut + 1) : id;
    }

    private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

    /** Whether the event is {@code data: [DONE]} (by its bytes: every chunk is asked). */
    private static boolean isDone(ByteBuf event) {
        int from = event.readerIndex();
        int end = event.writerIndex();
        while (end > from && Character.isWhitespace(event.getByte(end - 1))) {
            end--;
        }
        if (end - from < DONE.length + 5 || event.getByte(end - 1) != ']') {
            return false;
        }
        for (int i = 0; i < DONE.length; i++) {
            if (event.getByte(end - DONE.length + i) != DONE[i]) {
                return false;
            }
        }
        String head = event.toString(from, end - from - DONE.length, StandardCharsets.US_ASCII).trim();
        return head.equals("data:");
    }
}
