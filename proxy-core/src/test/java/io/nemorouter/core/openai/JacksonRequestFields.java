package io.nemorouter.core.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.util.concurrent.FastThreadLocal;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * REFERENCE for {@link RequestBodyDifferentialTest}: the implementation of {@link RequestBody} before its own
 * scanner, on Jackson's
 * streaming parser straight from the buffer; the rest of the body is tokenised (to reject
 * malformed JSON) but never materialised. Byte spans are kept so that a field can be
 * rewritten or removed without re-serialising the body.
 */
final class JacksonRequestFields {
    private static final JsonFactory JSON = new JsonFactory();
    /** Bodies up to this size are parsed from {@link #SCRATCH}, a copy the thread keeps; larger ones are streamed. */
    private static final int SCRATCH_MAX = 64 * 1024;
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };

    public String model;
    /** Byte span of the {@code model} value (with quotes), relative to the body's reader index. */
    public int modelStart = -1;
    public int modelEnd = -1;
    public boolean stream;
    public boolean includeUsage;
    /** {@code nemo_cache}: null when absent. */
    public Boolean cache;
    public List<String> tags = List.of();
    /** Gateway-only fields ({@code nemo_cache}, {@code tags}) that must not reach the upstream, as removable spans. */
    public final List<int[]> gatewayOnlySpans = new ArrayList<>(0);

    /**
     * Parses {@code body}; returns null on success or the error to answer with.
     * Positions are relative to {@code body.readerIndex()}.
     */
    public OpenAiError parse(ByteBuf body) {
        if (!body.isReadable()) {
            return OpenAiError.badRequest("invalid_json", null, "The request body is empty; expected a JSON object.");
        }
        // The blocking parser reports exact token start offsets; value ends are derived from the
        // start of the token that follows (see valueEndBefore).
        try (JsonParser p = parserFor(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return OpenAiError.badRequest("invalid_json", null, "The request body must be a JSON object.");
            }
            boolean modelPending = false;
            int removedNameStart = -1;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                int nameStart = (int) p.currentTokenLocation().getByteOffset();
                if (modelPending) {
                    modelEnd = valueEndBefore(body, nameStart);
                    modelPending = false;
                }
                String name = p.currentName();
                boolean removed = "nemo_cache".equals(name) || "tags".equals(name);
                if (removedNameStart >= 0 && !removed) {
                    // a run of removed fields ends: drop it up to this name, its trailing comma included
                    gatewayOnlySpans.add(new int[]{removedNameStart, nameStart});
                    removedNameStart = -1;
                }
                JsonToken v = p.nextToken();
                int valueStart = (int) p.currentTokenLocation().getByteOffset();
                OpenAiError err = switch (name) {
                    case "model" -> readModel(p, v, valueStart);
                    case "stream" -> readStream(p, v);
                    case "stream_options" -> readStreamOptions(p, v);
                    case "nemo_cache" -> readCache(p, v);
                    case "tags" -> readTags(p, v);
                    default -> {
                        p.skipChildren();
                        yield null;
                    }
                };
                if (err != null) {
                    return err;
                }
                modelPending |= "model".equals(name);
                if (removed && removedNameStart < 0) {
                    removedNameStart = nameStart;
                }
            }
            if (t != JsonToken.END_OBJECT) {
                return OpenAiError.badRequest("invalid_json", null, "The request body is not valid JSON.");
            }
            int objectEnd = (int) p.currentTokenLocation().getByteOffset();
            if (p.nextToken() != null) {
                return OpenAiError.badRequest("invalid_json", null, "The request body has data after the JSON object.");
            }
            if (modelPending) {
                modelEnd = valueEndBefore(body, objectEnd);
            }
            if (removedNameStart >= 0) {
                // the run reaches the end: take the comma before it instead of one after
                gatewayOnlySpans.add(new int[]{commaBefore(body, removedNameStart), valueEndBefore(body, objectEnd)});
            }
        } catch (IOException e) {
            return OpenAiError.badRequest("invalid_json", null, "The request body is not valid JSON: "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        return null;
    }

    /**
     * A parser over the body's bytes. Bodies up to {@link #SCRATCH_MAX} are copied into a buffer the
     * thread keeps, which Jackson reads as an array: cheaper than feeding it through an InputStream,
     * which copies into its own buffer anyway. Larger ones (images) are streamed.
     */
    private static JsonParser parserFor(ByteBuf body) throws IOException {
        int n = body.readableBytes();
        if (n > SCRATCH_MAX) {
            return JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()));
        }
        byte[] scratch = SCRATCH.get();
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, scratch.length * 2)];
            SCRATCH.set(scratch);
        }
        body.getBytes(body.readerIndex(), scratch, 0, n);
        return JSON.createParser(scratch, 0, n);
    }

    /** End of the value that precedes the token at {@code next}: back over white space and one comma. */
    private static int valueEndBefore(ByteBuf body, int next) {
        int base = body.readerIndex();
        int i = next - 1;
        while (i >= 0 && isSpace(body.getByte(base + i))) {
            i--;
        }
        if (i >= 0 && body.getByte(base + i) == ',') {
            i--;
            while (i >= 0 && isSpace(body.getByte(base + i))) {
                i--;
            }
        }
        return i + 1;
    }

    /** Where the comma before the field name at {@code nameStart} is, or {@code nameStart} for the first field. */
    private static int commaBefore(ByteBuf body, int nameStart) {
        int base = body.readerIndex();
        int i = nameStart - 1;
        while (i >= 0 && isSpace(body.getByte(base + i))) {
            i--;
        }
        return i >= 0 && body.getByte(base + i) == ',' ? i : nameStart;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    private OpenAiError readModel(JsonParser p, JsonToken v, int valueStart) throws IOException {
        if (v != JsonToken.VALUE_STRING) {
            p.skipChildren();
            return OpenAiError.badRequest("invalid_type", "model", "`model` must be a string.");
        }
        model = p.getText();
        modelStart = valueStart;
        return null;
    }

    private OpenAiError readStream(JsonParser p, JsonToken v) {
        if (v == JsonToken.VALUE_TRUE || v == JsonToken.VALUE_FALSE) {
            stream = v == JsonToken.VALUE_TRUE;
            return null;
        }
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        return OpenAiError.badRequest("invalid_type", "stream", "`stream` must be a boolean.");
    }

    private OpenAiError readStreamOptions(JsonParser p, JsonToken v) throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        if (v != JsonToken.START_OBJECT) {
            p.skipChildren();
            return OpenAiError.badRequest("invalid_type", "stream_options", "`stream_options` must be an object.");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken inner = p.nextToken();
            if ("include_usage".equals(name) && (inner == JsonToken.VALUE_TRUE || inner == JsonToken.VALUE_FALSE)) {
                includeUsage = inner == JsonToken.VALUE_TRUE;
            } else {
                p.skipChildren();
            }
        }
        return null;
    }

    private OpenAiError readCache(JsonParser p, JsonToken v) throws IOException {
        if (v == JsonToken.VALUE_TRUE || v == JsonToken.VALUE_FALSE) {
            cache = v == JsonToken.VALUE_TRUE;
            return null;
        }
        if (v == JsonToken.START_OBJECT) { // {"ttl": seconds}: a plain count above 0, nothing else
            cache = Boolean.TRUE;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                if (!name.equals("ttl")) {
                    return OpenAiError.badRequest("invalid_value", "nemo_cache." + name, "only ttl");
                }
                String text = t == JsonToken.VALUE_NUMBER_INT ? p.getText() : "";
                if (text.isEmpty() || text.startsWith("-") || text.length() > 18 || Long.parseLong(text) == 0) {
                    return OpenAiError.badRequest("invalid_value", "nemo_cache.ttl", "ttl above 0");
                }
            }
            return null;
        }
        p.skipChildren();
        return OpenAiError.badRequest("invalid_type", "nemo_cache", "`nemo_cache` must be a boolean.");
    }

    private OpenAiError readTags(JsonParser p, JsonToken v) throws IOException {
        if (v != JsonToken.START_ARRAY) {
            p.skipChildren();
            return OpenAiError.badRequest("invalid_type", "tags", "`tags` must be an array of strings.");
        }
        List<String> out = new ArrayList<>(2);
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_STRING) {
                p.skipChildren();
                return OpenAiError.badRequest("invalid_type", "tags", "`tags` must be an array of strings.");
            }
            out.add(p.getText());
        }
        tags = List.copyOf(out);
        return null;
    }
}
