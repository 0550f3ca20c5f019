package io.nemorouter.providers.mock;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A deterministic fake LLM speaking OpenAI's wire format: the same request always gets the same
 * content, ids and vectors. Chat answers echo the last user message; usage is estimated like a
 * tokenizer would (about four characters a token); streaming follows OpenAI's event sequence,
 * including {@code stream_options.include_usage}. Thread-safe (no mutable state).
 */
public final class MockLlm {
    // the gateway's mapper: no string-length limit below the body limit (a long document, a base64 image)
    private static final ObjectMapper MAPPER = io.nemorouter.core.openai.OpenAiJson.MAPPER;
    private static final JsonFactory JSON = MAPPER.getFactory();
    private static final int ECHO_WORDS = 48;

    /** A request the mock refuses, as OpenAI would (400). */
    public static final class BadRequest extends Exception {
        public final String param;
        public final String code;

        BadRequest(String param, String message) {
            this(param, "model".equals(param) ? "model_not_supported" : "invalid_value", message);
        }

        BadRequest(String param, String code, String message) {
            super(message, null, false, false);
            this.param = param;
            this.code = code;
        }
    }

    /** One chat answer, before it is written as JSON or as stream events. */
    public record ChatAnswer(String id, long created, String model, List<String> pieces, String finishReason,
                             long promptTokens, long completionTokens) {
    }

    private final MockSettings settings;

    public MockLlm(MockSettings settings) {
        this.settings = settings;
    }

    public MockSettings settings() {
        return settings;
    }

    /** Whether {@code model} creates embeddings rather than chat answers: as set, or by its name ({@code text-embedding-004}). */
    public boolean isEmbeddingModel(String model) {
        return switch (settings.kind()) {
            case EMBEDDING -> true;
            case CHAT -> false;
            case AUTO -> model.toLowerCase(java.util.Locale.ROOT).contains("embed");
        };
    }

    // ---- chat ---------------------------------------------------------------------------------

    public ChatAnswer chat(ByteBuf body, String model) throws BadRequest {
        JsonNode req = parse(body);
        JsonNode messages = req.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw new BadRequest("messages", "Missing required parameter: 'messages' (a non-empty array).");
        }
        long promptTokens = 3;
        String lastUser = "";
        for (JsonNode m : messages) {
            if (!m.isObject() || !m.path("role").isTextual()) {
                throw new BadRequest("messages", "Each message must be an object with a string 'role'.");
            }
            String text = text(m.get("content"));
            promptTokens += 4 + tokens(text);
            if ("user".equals(m.get("role").asText())) {
                lastUser = text;
            }
        }
        long maxTokens = req.path("max_completion_tokens").asLong(req.path("max_tokens").asLong(Long.MAX_VALUE));
        if (maxTokens <= 0) {
            throw new BadRequest("max_tokens", "max_tokens must be at least 1.");
        }
        List<String> words = answerWords(model, lastUser);
        String finish = "stop";
        if (words.size() > maxTokens) {
            words = words.subList(0, (int) maxTokens);
            finish = "length";
        }
        String id = "chatcmpl-mock" + Long.toHexString(fnv(body));
        return new ChatAnswer(id, System.currentTimeMillis() / 1000, model, split(words, settings.chunks()), finish,
                promptTokens, words.size());
    }

    private static List<String> answerWords(String model, String lastUser) {
        List<String> words = new ArrayList<>();
        for (String w : ("This is a mock answer from " + model + ". You said:").split(" ")) {
            words.add(w);
        }
        int n = 0;
        for (String w : lastUser.trim().split("\\s+")) {
            if (w.isEmpty()) {
                continue;
            }
            if (n++ == ECHO_WORDS) {
                words.add("…");
                break;
            }
            words.add(w);
        }
        return words;
    }

    /** Splits the words into {@code chunks} consecutive pieces that concatenate to the full text. */
    private static List<String> split(List<String> words, int chunks) {
        int parts = Math.max(1, Math.min(chunks, words.size()));
        List<String> out = new ArrayList<>(parts);
        int at = 0;
        for (int p = 0; p < parts; p++) {
            int end = (int) ((long) words.size() * (p + 1) / parts);
            StringBuilder b = new StringBuilder();
            for (int i = at; i < end; i++) {
                if (i > 0) {
                    b.append(' ');
                }
                b.append(words.get(i));
            }
            out.add(b.toString());
            at = end;
        }
        return out;
    }

    public byte[] chatJson(ChatAnswer a) {
        return write(g -> {
            g.writeStartObject();
            header(g, a, "chat.completion");
            g.writeArrayFieldStart("choices");
            g.writeStartObject();
            g.writeNumberField("index", 0);
            g.writeObjectFieldStart("message");
            g.writeStringField("role", "assistant");
            g.writeStringField("content", String.join("", a.pieces()));
            g.writeNullField("refusal");
            g.writeEndObject();
            g.writeNullField("logprobs");
            g.writeStringField("finish_reason", a.finishReason());
            g.writeEndObject();
            g.writeEndArray();
            usage(g, a.promptTokens(), a.completionTokens());
            g.writeEndObject();
        });
    }

    /**
     * The answer as server-sent events, in OpenAI's order: a role delta, the content deltas,
     * a finish delta, the usage chunk (only with {@code include_usage}; every earlier chunk then
     * carries {@code "usage": null}), and {@code [DONE]}.
     */
    public List<byte[]> streamEvents(ChatAnswer a, boolean includeUsage) {
        return streamEvents(a, includeUsage, includeUsage);
    }

    /**
     * As {@link #streamEvents(ChatAnswer, boolean)}, with the usage event sent when {@code usageEvent}
     * even if the chunks do not carry {@code "usage": null} (the gateway wants the usage, the client did not ask).
     */
    public List<byte[]> streamEvents(ChatAnswer a, boolean includeUsage, boolean usageEvent) {
        List<byte[]> events = new ArrayList<>(a.pieces().size() + 4);
        events.add(chunk(a, includeUsage, "assistant", "", null));
        for (String piece : a.pieces()) {
            events.add(chunk(a, includeUsage, null, piece, null));
        }
        events.add(chunk(a, includeUsage, null, null, a.finishReason()));
        if (usageEvent) {
            events.add(event(write(g -> {
                g.writeStartObject();
                header(g, a, "chat.completion.chunk");
                g.writeArrayFieldStart("choices");
                g.writeEndArray();
                usage(g, a.promptTokens(), a.completionTokens());
                g.writeEndObject();
            })));
        }
        events.add("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII));
        return events;
    }

    private byte[] chunk(ChatAnswer a, boolean includeUsage, String role, String content, String finish) {
        return event(write(g -> {
            g.writeStartObject();
            header(g, a, "chat.completion.chunk");
            g.writeArrayFieldStart("choices");
            g.writeStartObject();
            g.writeNumberField("index", 0);
            g.writeObjectFieldStart("delta");
            if (role != null) {
                g.writeStringField("role", role);
            }
            if (content != null) {
                g.writeStringField("content", content);
            }
            g.writeEndObject();
            g.writeNullField("logprobs");
            if (finish != null) {
                g.writeStringField("finish_reason", finish);
            } else {
                g.writeNullField("finish_reason");
            }
            g.writeEndObject();
            g.writeEndArray();
            if (includeUsage) {
                g.writeNullField("usage");
            }
            g.writeEndObject();
        }));
    }

    private static void header(JsonGenerator g, ChatAnswer a, String object) throws IOException {
        g.writeStringField("id", a.id());
        g.writeStringField("object", object);
        g.writeNumberField("created", a.created());
        g.writeStringField("model", a.model());
        g.writeStringField("system_fingerprint", "fp_nemo_mock");
    }

    private static void usage(JsonGenerator g, long prompt, long completion) throws IOException {
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", prompt);
        g.writeNumberField("completion_tokens", completion);
        g.writeNumberField("total_tokens", prompt + completion);
        g.writeEndObject();
    }

    private static byte[] event(byte[] json) {
        byte[] out = new byte[json.length + 8];
        System.arraycopy("data: ".getBytes(StandardCharsets.US_ASCII), 0, out, 0, 6);
        System.arraycopy(json, 0, out, 6, json.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        return out;
    }

    // ---- embeddings ---------------------------------------------------------------------------

    public byte[] embeddings(ByteBuf body, String model) throws BadRequest {
        JsonNode req = parse(body);
        List<String> inputs = inputs(req.get("input"));
        int dims = settings.dimensions();
        JsonNode d = req.get("dimensions");
        if (d != null && !d.isNull()) {
            if (!d.canConvertToInt() || d.asInt() < 1 || d.asInt() > settings.dimensions()) {
                throw new BadRequest("dimensions", "dimensions must be between 1 and " + settings.dimensions() + ".");
            }
            dims = d.asInt();
        }
        String format = req.path("encoding_format").asText("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw new BadRequest("encoding_format", "encoding_format must be 'float' or 'base64'.");
        }
        final int dimensions = dims;
        long tokens = 0;
        for (String s : inputs) {
            tokens += Math.max(1, tokens(s));
        }
        final long promptTokens = tokens;
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (int i = 0; i < inputs.size(); i++) {
                float[] v = vector(inputs.get(i), dimensions);
                g.writeStartObject();
                g.writeStringField("object", "embedding");
                g.writeNumberField("index", i);
                g.writeFieldName("embedding");
                if (format.equals("base64")) {
                    ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    for (float f : v) {
                        buf.putFloat(f);
                    }
                    g.writeString(Base64.getEncoder().encodeToString(buf.array()));
                } else {
                    g.writeStartArray();
                    for (float f : v) {
                        g.writeNumber(f);
                    }
                    g.writeEndArray();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeStringField("model", model);
            g.writeObjectFieldStart("usage");
            g.writeNumberField("prompt_tokens", promptTokens);
            g.writeNumberField("total_tokens", promptTokens);
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    private static List<String> inputs(JsonNode input) throws BadRequest {
        if (input == null || input.isNull()) {
            throw new BadRequest("input", "Missing required parameter: 'input'.");
        }
        List<String> out = new ArrayList<>();
        if (input.isTextual()) {
            out.add(input.asText());
        } else if (input.isArray() && !input.isEmpty()) {
            if (input.get(0).isNumber()) {
                out.add(input.toString()); // one pre-tokenised input
            } else {
                for (JsonNode n : (ArrayNode) input) {
                    if (n.isTextual()) {
                        out.add(n.asText());
                    } else if (n.isArray()) {
                        out.add(n.toString());
                    } else {
                        throw new BadRequest("input", "'input' must be a string, an array of strings or of token arrays.");
                    }
                }
            }
        } else {
            throw new BadRequest("input", "'input' must be a non-empty string or array.");
        }
        for (String s : out) {
            if (s.isEmpty()) {
                throw new BadRequest("input", "'input' cannot contain an empty string.");
            }
        }
        return out;
    }

    /** A unit vector seeded by the text: equal inputs give equal vectors, different ones differ. */
    static float[] vector(String text, int dims) {
        SplittableRandom r = new SplittableRandom(fnv(text.getBytes(StandardCharsets.UTF_8)));
        float[] v = new float[dims];
        double norm = 0;
        for (int i = 0; i < dims; i++) {
            double x = r.nextDouble(-1, 1);
            v[i] = (float) x;
            norm += x * x;
        }
        float inv = (float) (1 / Math.sqrt(norm));
        for (int i = 0; i < dims; i++) {
            v[i] *= inv;
        }
        return v;
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static JsonNode parse(ByteBuf body) throws BadRequest {
        try {
            JsonNode n = MAPPER.readTree((java.io.InputStream) new ByteBufInputStream(body.duplicate()));
            if (n == null || !n.isObject()) {
                throw new BadRequest(null, "invalid_json", "The request body must be a JSON object.");
            }
            return n;
        } catch (IOException e) {
            throw new BadRequest(null, "invalid_json", "The request body is not valid JSON.");
        }
    }

    /** Message content as text: a string, or the text parts of a content array (images count as 85 tokens' worth). */
    private static String text(JsonNode content) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder b = new StringBuilder();
        if (content.isArray()) {
            for (JsonNode part : content) {
                if (part.path("type").asText().equals("text")) {
                    b.append(part.path("text").asText()).append(' ');
                } else {
                    b.append(" ".repeat(340)); // an image or audio part: a fixed prompt cost
                }
            }
        }
        return b.toString();
    }

    static long tokens(String text) {
        return (text.length() + 3) / 4;
    }

    /** One pass with a processor, not a call per byte: cheaper on any buffer, and far cheaper on one the leak detector watches. */
    private static long fnv(ByteBuf body) {
        long[] h = {0xcbf29ce484222325L};
        body.forEachByte(b -> {
            h[0] = (h[0] ^ (b & 0xff)) * 0x100000001b3L;
            return true;
        });
        return h[0];
    }

    private static long fnv(byte[] bytes) {
        long h = 0xcbf29ce484222325L;
        for (byte b : bytes) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    private interface Writer {
        void write(JsonGenerator g) throws IOException;
    }

    private static byte[] write(Writer w) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            w.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
