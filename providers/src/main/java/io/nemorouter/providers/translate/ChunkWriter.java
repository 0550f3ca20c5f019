package io.nemorouter.providers.translate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.nemorouter.core.openai.OpenAiJson;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Writes OpenAI {@code chat.completion.chunk} events for one translated stream, each a whole
 * server-sent event ({@code data: {...}\n\n}) in a buffer of its own: a role chunk, content,
 * reasoning and tool-call deltas (of choice 0, or of the choice named, for {@code n} > 1), the finish, the usage chunk (empty {@code choices}, as OpenAI
 * sends it when asked) and {@code [DONE]}. The gateway keeps the usage chunk from a client that did
 * not ask for it, so a translator always writes it.
 */
public final class ChunkWriter {
    private static final JsonFactory JSON = OpenAiJson.MAPPER.getFactory();
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ByteBufAllocator alloc;
    private String id;
    private String model;
    private final long created;

    public ChunkWriter(ByteBufAllocator alloc, String id, String model, long createdSeconds) {
        this.alloc = alloc;
        this.id = id;
        this.model = model;
        this.created = createdSeconds;
    }

    /** The stream's id and model, once the upstream has said them (its first event). */
    public void identify(String id, String model) {
        if (id != null) {
            this.id = id;
        }
        if (model != null) {
            this.model = model;
        }
        prefix = null;
    }

    /** The first chunk: the assistant's role, empty content. */
    public ByteBuf role() {
        return role(0);
    }

    /** The first chunk of choice {@code choice} (an answer with {@code n} > 1 has several). */
    public ByteBuf role(int choice) {
        JsonGenerator g = start(choice);
        try {
            g.writeStringField("role", "assistant");
            g.writeStringField("content", "");
            return finish(g, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public ByteBuf content(String text) {
        return text(0, "content", text);
    }

    public ByteBuf content(int choice, String text) {
        return text(choice, "content", text);
    }

    /** Thinking text, as {@code reasoning_content} (the field OpenAI-compatible reasoning servers use). */
    public ByteBuf reasoning(String text) {
        return text(0, "reasoning_content", text);
    }

    public ByteBuf reasoning(int choice, String text) {
        return text(choice, "reasoning_content", text);
    }

    /**
     * A text delta, the stream's commonest chunk. For the first choice (nearly every stream), from
     * bytes made once per stream (everything up to the delta, and after it) around the escaped
     * text: no generator per chunk (a third of a chunk's cost).
     */
    private ByteBuf text(int choice, String field, String text) {
        if (choice != 0) {
            JsonGenerator g = start(choice);
            try {
                g.writeStringField(field, text);
                return finish(g, null);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        byte[] head = prefix();
        byte[] escaped = ESCAPE.quoteAsUTF8(text);
        ByteBuf out = alloc.buffer(head.length + field.length() + escaped.length + 6 + OPEN_SUFFIX.length);
        out.writeBytes(head).writeByte('"').writeCharSequence(field, StandardCharsets.US_ASCII);
        out.writeByte('"').writeByte(':').writeByte('"');
        return out.writeBytes(escaped).writeByte('"').writeBytes(OPEN_SUFFIX);
    }

    private static final com.fasterxml.jackson.core.io.JsonStringEncoder ESCAPE = com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance();
    /** What follows a delta in a chunk that does not finish the choice. */
    private static final byte[] OPEN_SUFFIX = "},\"logprobs\":null,\"finish_reason\":null}]}\n\n".getBytes(StandardCharsets.US_ASCII);
    /** {@code data: } and the first choice's chunk up to its delta's members, for the stream's id and model. */
    private byte[] prefix;

    private byte[] prefix() {
        if (prefix == null) {
            // a whole chunk with a placeholder delta, cut at the placeholder
            JsonGenerator g = start(0);
            ByteBuf template;
            try {
                g.writeStringField("_", "");
                template = finish(g, null);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            try {
                String text = template.toString(StandardCharsets.UTF_8);
                prefix = text.substring(0, text.lastIndexOf("\"_\":\"\"")).getBytes(StandardCharsets.UTF_8);
            } finally {
                template.release();
            }
        }
        return prefix;
    }

    /** A tool call begins: its index among the answer's calls, id and function name, no arguments yet. */
    public ByteBuf toolStart(int index, String callId, String name) {
        return toolChunk(0, index, callId, name, "");
    }

    /**
     * A whole tool call in one chunk (id, name and all its arguments), for an API that sends calls
     * complete rather than in pieces (Gemini's {@code functionCall}).
     */
    public ByteBuf toolCall(int choice, int index, String callId, String name, String arguments) {
        return toolChunk(choice, index, callId, name, arguments);
    }

    /** More of tool call {@code index}'s arguments (a piece of JSON text). */
    public ByteBuf toolArguments(int index, String piece) {
        return toolChunk(0, index, null, null, piece);
    }

    /** A {@code tool_calls} delta: with the call's id and name when it begins ({@code callId} not null), else arguments only. */
    private ByteBuf toolChunk(int choice, int index, String callId, String name, String arguments) {
        JsonGenerator g = start(choice);
        try {
            g.writeArrayFieldStart("tool_calls");
            g.writeStartObject();
            g.writeNumberField("index", index);
            if (callId != null) {
                g.writeStringField("id", callId);
                g.writeStringField("type", "function");
            }
            g.writeObjectFieldStart("function");
            if (callId != null) {
                g.writeStringField("name", name);
            }
            g.writeStringField("arguments", arguments);
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndArray();
            return finish(g, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last chunk of the choice: an empty delta and why it stopped. */
    public ByteBuf finishReason(String reason) {
        return finish(start(0), reason);
    }

    public ByteBuf finishReason(int choice, String reason) {
        return finish(start(choice), reason);
    }

    /** The usage chunk: no choices, the stream's tokens ({@code cached} of the prompt read from the provider's cache). */
    public ByteBuf usage(long prompt, long completion, long cached, long reasoning) {
        return usage(prompt, completion, cached, reasoning, 0);
    }

    /** The usage chunk, with {@code cacheWrite} of the prompt written to the provider's prompt cache (Anthropic's). */
    public ByteBuf usage(long prompt, long completion, long cached, long reasoning, long cacheWrite) {
        ByteBuf out = alloc.buffer(256);
        out.writeBytes(DATA);
        try (JsonGenerator g = JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(out))) {
            head(g);
            g.writeArrayFieldStart("choices");
            g.writeEndArray();
            Usages.write(g, prompt, completion, cached, reasoning, cacheWrite);
            g.writeEndObject();
        } catch (IOException e) {
            out.release();
            throw new UncheckedIOException(e);
        }
        return out.writeBytes(END);
    }

    public ByteBuf done() {
        return alloc.buffer(DONE.length).writeBytes(DONE);
    }

    // ---- one chunk ---------------------------------------------------------------------------

    private ByteBuf buffer;

    private JsonGenerator start() {
        return start(0);
    }

    private JsonGenerator start(int choice) {
        buffer = alloc.buffer(192);
        buffer.writeBytes(DATA);
        try {
            JsonGenerator g = JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(buffer));
            head(g);
            g.writeArrayFieldStart("choices");
            g.writeStartObject();
            g.writeNumberField("index", choice);
            g.writeObjectFieldStart("delta");
            return g;
        } catch (IOException e) {
            buffer.release();
            throw new UncheckedIOException(e);
        }
    }

    private void head(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", id);
        g.writeStringField("object", "chat.completion.chunk");
        g.writeNumberField("created", created);
        g.writeStringField("model", model);
    }

    private ByteBuf finish(JsonGenerator g, String finishReason) {
        ByteBuf out = buffer;
        buffer = null;
        try {
            g.writeEndObject(); // delta
            g.writeNullField("logprobs");
            if (finishReason == null) {
                g.writeNullField("finish_reason");
            } else {
                g.writeStringField("finish_reason", finishReason);
            }
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
            g.close();
        } catch (IOException e) {
            out.release();
            throw new UncheckedIOException(e);
        }
        return out.writeBytes(END);
    }
}
