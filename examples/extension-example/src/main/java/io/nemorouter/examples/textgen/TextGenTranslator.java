package io.nemorouter.examples.textgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.core.openai.OpenAiJson;
import io.nemorouter.core.provider.EventSink;
import io.nemorouter.core.provider.ResponseTranslator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * TextGen answers as OpenAI's: a whole {@code {"text", "input_tokens", "output_tokens"}} becomes a
 * {@code chat.completion} with its usage; an error body {@code {"error": "..."}} becomes OpenAI's
 * envelope with the same status; a stream's {@code {"token"}} events become
 * {@code chat.completion.chunk}s (the first with the assistant role), and its closing
 * {@code {"done"}} event the finish chunk, the usage event and {@code [DONE]}. The gateway reads the
 * usage from what this returns and keeps the usage event from a client that did not ask for it.
 * One per exchange: a stream's translation has state (has the role gone out yet).
 */
final class TextGenTranslator implements ResponseTranslator {
    private final String id;
    private final String model;
    private final long created = System.currentTimeMillis() / 1000;
    private boolean roleSent;

    TextGenTranslator(String requestId, String model) {
        this.id = "chatcmpl-textgen-" + requestId;
        this.model = model;
    }

    @Override
    public ByteBuf body(Exchange exchange, int status, ByteBuf body) {
        try {
            JsonNode in = OpenAiJson.MAPPER.readTree(body.toString(StandardCharsets.UTF_8));
            if (status >= 400 || in.has("error")) {
                return bytes(new OpenAiError(HttpResponseStatus.valueOf(status), status >= 500 ? "server_error"
                        : "invalid_request_error", null, null, "TextGen: " + in.path("error").asText("error " + status)).json());
            }
            ObjectNode out = header("chat.completion");
            ObjectNode choice = out.putArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", in.path("text").asText());
            choice.put("finish_reason", "stop");
            usage(out, in);
            return bytes(out.toString());
        } catch (IOException e) {
            return bytes(OpenAiError.upstream(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_response",
                    "TextGen answered with something that is not JSON.").json());
        } finally {
            body.release();
        }
    }

    @Override
    public void event(Exchange exchange, ByteBuf event, EventSink out) {
        String text = event.toString(StandardCharsets.UTF_8).trim();
        if (!text.startsWith("data:")) {
            return; // comments, keep-alives
        }
        JsonNode in;
        try {
            in = OpenAiJson.MAPPER.readTree(text.substring(5).trim());
        } catch (IOException e) {
            return; // not ours to judge: the stream goes on
        }
        if (in.has("token")) {
            ObjectNode delta = chunk(null);
            if (!roleSent) {
                delta.put("role", "assistant");
                roleSent = true;
            }
            delta.put("content", in.path("token").asText());
            send(out, lastChunk);
        } else if (in.path("done").asBoolean(false)) {
            chunk("stop");
            send(out, lastChunk);
            ObjectNode usage = header("chat.completion.chunk");
            usage.putArray("choices");
            usage(usage, in);
            send(out, usage);
            out.event(Unpooled.wrappedBuffer("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII)));
        }
    }

    private ObjectNode lastChunk;

    /** A new chunk with one choice; returns its delta. {@code finish} null while the answer goes on. */
    private ObjectNode chunk(String finish) {
        lastChunk = header("chat.completion.chunk");
        ArrayNode choices = lastChunk.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        return delta;
    }

    private ObjectNode header(String object) {
        ObjectNode o = OpenAiJson.MAPPER.createObjectNode();
        o.put("id", id).put("object", object).put("created", created).put("model", model);
        return o;
    }

    private static void usage(ObjectNode out, JsonNode in) {
        long prompt = in.path("input_tokens").asLong();
        long completion = in.path("output_tokens").asLong();
        out.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
    }

    private static void send(EventSink out, ObjectNode json) {
        out.event(bytes("data: " + json + "\n\n")); // ownership passes to the sink
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.UTF_8));
    }
}
