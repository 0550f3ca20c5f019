package io.nemorouter.core.http;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.ArrayList;
import java.util.List;

import static io.nemorouter.core.http.HttpBytes.ascii;

/**
 * The few top-level fields of a request body that the gateway acts on. The body is walked once
 * with {@link JsonCursor}: the fields below are read, everything else is validated as it is
 * skipped (a malformed body is answered with 400 here, not by the upstream) and never
 * materialised. Byte spans are kept so that a field can be rewritten or removed without
 * re-serialising the body.
 */
public final class RequestFields {
    /** Bodies up to this size are read from {@link #SCRATCH}, a copy the thread keeps; larger ones (images) from a copy of their own. */
    private static final int SCRATCH_MAX = 64 * 1024;
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };
    private static final byte[] MODEL = ascii("model");
    private static final byte[] STREAM = ascii("stream");
    private static final byte[] STREAM_OPTIONS = ascii("stream_options");
    private static final byte[] INCLUDE_USAGE = ascii("include_usage");
    private static final byte[] NEMO_CACHE = ascii("nemo_cache");
    private static final byte[] TAGS = ascii("tags");
    private static final byte[] UTF8_BOM = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};

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

    /** The members the gateway reads; names are compared as bytes, or decoded first when they hold escapes. */
    private enum Member { MODEL, STREAM, STREAM_OPTIONS, NEMO_CACHE, TAGS, OTHER }

    /**
     * Parses {@code body}; returns null on success or the error to answer with.
     * Positions are relative to {@code body.readerIndex()}.
     */
    public OpenAiError parse(ByteBuf body) {
        int n = body.readableBytes();
        if (n == 0) {
            return OpenAiError.badRequest("invalid_json", null, "The request body is empty; expected a JSON object.");
        }
        byte[] bytes = scratch(n);
        body.getBytes(body.readerIndex(), bytes, 0, n);
        JsonCursor json = new JsonCursor(bytes, 0, n);
        try {
            return readObject(json, bytes, n);
        } catch (JsonCursor.Malformed e) {
            return OpenAiError.badRequest("invalid_json", null,
                    "The request body is not valid JSON: " + e.getMessage() + " at byte " + e.at + ".");
        }
    }

    /** The thread's array (grown as needed) for a body up to {@link #SCRATCH_MAX}, else a new one. */
    private static byte[] scratch(int n) {
        if (n > SCRATCH_MAX) {
            return new byte[n];
        }
        byte[] scratch = SCRATCH.get();
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, Math.min(SCRATCH_MAX, scratch.length * 2))];
            SCRATCH.set(scratch);
        }
        return scratch;
    }

    private OpenAiError readObject(JsonCursor json, byte[] bytes, int n) {
        if (n >= 3 && bytes[0] == UTF8_BOM[0] && bytes[1] == UTF8_BOM[1] && bytes[2] == UTF8_BOM[2]) {
            json.pos = 3; // a byte order mark may be ignored (RFC 8259, 8.1)
        }
        json.skipSpace();
        if (json.peek() != '{') {
            return OpenAiError.badRequest("invalid_json", null, "The request body must be a JSON object.");
        }
        if (json.enter('}')) {
            OpenAiError err = readMembers(json);
            if (err != null) {
                return err;
            }
        }
        json.skipSpace();
        if (!json.atEnd()) {
            return OpenAiError.badRequest("invalid_json", null, "The request body has data after the JSON object.");
        }
        return null;
    }

    /**
     * The members of the top-level object, through its closing brace. A run of gateway-only members
     * is recorded as one span: from its first name to the next kept member's name (taking the
     * commas between), or, when the run ends the object, from the comma before it to its last value.
     */
    private OpenAiError readMembers(JsonCursor json) {
        int commaBefore = -1;
        int runStart = -1;
        int runCommaBefore = -1;
        while (true) {
            json.toName();
            int nameStart = json.pos;
            Member member = member(json);
            json.toValue();
            boolean gatewayOnly = member == Member.NEMO_CACHE || member == Member.TAGS;
            if (gatewayOnly && runStart < 0) {
                runStart = nameStart;
                runCommaBefore = commaBefore;
            } else if (!gatewayOnly && runStart >= 0) {
                gatewayOnlySpans.add(new int[]{runStart, nameStart});
                runStart = -1;
            }
            OpenAiError err = readValue(json, member);
            if (err != null) {
                return err;
            }
            int valueEnd = json.pos;
            if (!json.next('}')) {
                if (runStart >= 0) {
                    gatewayOnlySpans.add(new int[]{runCommaBefore >= 0 ? runCommaBefore : runStart, valueEnd});
                }
                return null;
            }
            commaBefore = json.pos - 1;
        }
    }

    /** Reads the name at the cursor and says which member it is. */
    private static Member member(JsonCursor json) {
        Member m = json.stringIs(MODEL) ? Member.MODEL
                : json.stringIs(STREAM) ? Member.STREAM
                : json.stringIs(STREAM_OPTIONS) ? Member.STREAM_OPTIONS
                : json.stringIs(NEMO_CACHE) ? Member.NEMO_CACHE
                : json.stringIs(TAGS) ? Member.TAGS
                : null;
        if (m != null) {
            json.skipString();
            return m;
        }
        int start = json.pos;
        if (!json.skipString()) {
            return Member.OTHER;
        }
        json.pos = start; // escapes: "mod\u0065l" is still model
        return switch (json.readString()) {
            case "model" -> Member.MODEL;
            case "stream" -> Member.STREAM;
            case "stream_options" -> Member.STREAM_OPTIONS;
            case "nemo_cache" -> Member.NEMO_CACHE;
            case "tags" -> Member.TAGS;
            default -> Member.OTHER;
        };
    }

    private OpenAiError readValue(JsonCursor json, Member member) {
        switch (member) {
            case MODEL -> {
                if (json.peek() != '"') {
                    json.checkSkipped(1);
                    return OpenAiError.badRequest("invalid_type", "model", "`model` must be a string.");
                }
                modelStart = json.pos;
                model = json.readString();
                modelEnd = json.pos;
            }
            case STREAM -> {
                int v = json.readLiteral();
                if (v == JsonCursor.NOT_A_LITERAL) {
                    json.checkToken();
                    return OpenAiError.badRequest("invalid_type", "stream", "`stream` must be a boolean.");
                }
                if (v != JsonCursor.NULL) {
                    stream = v == JsonCursor.TRUE;
                }
            }
            case STREAM_OPTIONS -> {
                return readStreamOptions(json);
            }
            case NEMO_CACHE -> {
                int v = json.readLiteral();
                if (v == JsonCursor.NOT_A_LITERAL) {
                    json.checkSkipped(1);
                }
                if (v != JsonCursor.TRUE && v != JsonCursor.FALSE) {
                    return OpenAiError.badRequest("invalid_type", "nemo_cache", "`nemo_cache` must be a boolean.");
                }
                cache = v == JsonCursor.TRUE;
            }
            case TAGS -> {
                return readTags(json);
            }
            default -> json.skipValue(1);
        }
        return null;
    }

    /** Only {@code include_usage} matters; a value of another type there is passed on for the upstream to judge. */
    private OpenAiError readStreamOptions(JsonCursor json) {
        int literal = json.readLiteral();
        if (literal == JsonCursor.NULL) {
            return null;
        }
        if (literal != JsonCursor.NOT_A_LITERAL || json.peek() != '{') {
            if (literal == JsonCursor.NOT_A_LITERAL) {
                json.checkSkipped(1);
            }
            return OpenAiError.badRequest("invalid_type", "stream_options", "`stream_options` must be an object.");
        }
        if (!json.enter('}')) {
            return null;
        }
        do {
            json.toName();
            boolean isIncludeUsage;
            if (json.stringIs(INCLUDE_USAGE)) {
                json.skipString();
                isIncludeUsage = true;
            } else {
                isIncludeUsage = "include_usage".equals(json.readString());
            }
            json.toValue();
            int v = isIncludeUsage ? json.readLiteral() : JsonCursor.NOT_A_LITERAL;
            if (v == JsonCursor.TRUE || v == JsonCursor.FALSE) {
                includeUsage = v == JsonCursor.TRUE;
            } else if (v == JsonCursor.NOT_A_LITERAL) {
                json.skipValue(2);
            }
        } while (json.next('}'));
        return null;
    }

    private OpenAiError readTags(JsonCursor json) {
        if (json.peek() != '[') {
            json.checkSkipped(1);
            return OpenAiError.badRequest("invalid_type", "tags", "`tags` must be an array of strings.");
        }
        if (!json.enter(']')) {
            tags = List.of();
            return null;
        }
        List<String> out = new ArrayList<>(2);
        do {
            json.skipSpace();
            if (json.peek() != '"') {
                json.checkSkipped(2);
                return OpenAiError.badRequest("invalid_type", "tags", "`tags` must be an array of strings.");
            }
            out.add(json.readString());
        } while (json.next(']'));
        tags = List.copyOf(out);
        return null;
    }
}
