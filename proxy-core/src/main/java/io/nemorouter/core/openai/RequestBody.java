package io.nemorouter.core.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.internal.json.JsonCursor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.nemorouter.core.internal.http1.HttpBytes.ascii;

/**
 * The JSON body of a request. On the OpenAI endpoints, the few top-level members the gateway acts
 * on ({@code model}, {@code stream}, {@code stream_options.include_usage}, {@code nemo_cache},
 * {@code tags}) are read in one pass with {@link JsonCursor} as the request arrives: everything else
 * is validated as it is skipped (a malformed body is answered with 400 by the gateway, not the
 * upstream) and never materialised. Any other member is parsed on first ask ({@link #member},
 * {@link #json}), once, with Jackson.
 *
 * <p>Edits ({@link #set}, {@link #remove}) are top-level member changes that reach the upstream:
 * {@link #render} writes the original bytes with the gateway-only members ({@code nemo_cache},
 * {@code tags}) removed and the edits spliced in, as a composite of slices of the original and the
 * new bytes, so the body is never re-serialised. Confined to the exchange's event loop.
 */
public final class RequestBody {
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
    private static final byte[] MAX_TOKENS = ascii("max_tokens");
    private static final byte[] MAX_COMPLETION_TOKENS = ascii("max_completion_tokens");
    private static final byte[] N = ascii("n");
    private static final byte[] METADATA = ascii("metadata");
    private static final byte[] UTF8_BOM = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};
    /** The member that asks a stream for its usage event, as it goes before the closing brace. */
    private static final byte[] STREAM_OPTIONS_WITH_USAGE = ascii(",\"stream_options\":{\"include_usage\":true}");

    /** The body's bytes (owned by the exchange, which outlives this object's use). */
    private ByteBuf content;
    String model;
    /** Byte span of the {@code model} value (with quotes), relative to the body's reader index. */
    int modelStart = -1;
    int modelEnd = -1;
    /** Byte span of the {@code stream_options} value, or -1 when absent. */
    int streamOptionsStart = -1;
    int streamOptionsEnd = -1;
    /** Where the top-level object's closing brace is. */
    int objectEnd = -1;
    boolean stream;
    boolean includeUsage;
    /** {@code nemo_cache}: null when absent. */
    Boolean cache;
    long cacheTtlSeconds = -1;
    List<String> tags = List.of();
    /** {@code max_tokens} and {@code max_completion_tokens} when each is a plain count, else -1. */
    long maxTokens = -1;
    long maxCompletionTokens = -1;
    /** {@code n} when it is a plain count, else -1. */
    long choices = -1;
    /** Byte span of the {@code metadata} value, or -1 when absent. */
    int metadataStart = -1;
    int metadataEnd = -1;
    /** Gateway-only fields ({@code nemo_cache}, {@code tags}) that must not reach the upstream, as removable spans. */
    final List<int[]> gatewayOnlySpans = new ArrayList<>(0);

    /** The body as Jackson's tree, parsed on first ask. */
    private ObjectNode tree;
    /** Top-level members to set (raw JSON value) or remove (null), in the order asked; null when none. */
    private Map<String, byte[]> edits;

    /** Why the first pass refused the body (answered 400), or null. */
    private OpenAiError error;

    /** A body whose gateway fields are not read (extension routes): {@link #json} still parses it on demand. */
    public static RequestBody unparsed(ByteBuf content) {
        RequestBody b = new RequestBody();
        b.content = content;
        return b;
    }

    /**
     * An OpenAI request's body, its gateway fields read and the rest validated in one pass; see
     * {@link #error} for whether it was. {@code content} is not retained: it must outlive the body's use.
     */
    public static RequestBody read(ByteBuf content) {
        RequestBody b = new RequestBody();
        b.error = b.parse(content);
        if (b.error == null && b.model == null) {
            b.error = OpenAiError.badRequest("missing_required_parameter", "model", "You must provide a model parameter.");
        }
        return b;
    }

    /** The 400 to answer a body {@link #read} refused with, or null when it is fine. */
    public OpenAiError error() {
        return error;
    }

    // ---- the gateway's fields ------------------------------------------------------------------

    /** {@code model}; null only for a body that was not read as an OpenAI request. */
    public String model() {
        return model;
    }

    public boolean stream() {
        return stream;
    }

    /** {@code stream_options.include_usage}: whether the client asked for the usage event. */
    public boolean includeUsage() {
        return includeUsage;
    }

    /** {@code nemo_cache}: false to bypass the cache, true (or an object) to use it, null when absent. */
    public Boolean cache() {
        return cache;
    }

    /** {@code nemo_cache.ttl}: how long this answer may be kept, in seconds; -1 when not set. */
    public long cacheTtlSeconds() {
        return cacheTtlSeconds;
    }

    /** {@code tags}: the capability tags asked for; empty when absent. */
    public List<String> tags() {
        return tags;
    }

    /**
     * The answer's token ceiling the client set: {@code max_completion_tokens}, else
     * {@code max_tokens}; -1 when neither is a non-negative integer (absent, or a value the
     * upstream will judge). Read in the first pass, for limits and budget reservations.
     */
    public long maxOutputTokens() {
        return maxCompletionTokens >= 0 ? maxCompletionTokens : maxTokens;
    }

    /** {@code n}, the number of choices asked for: 1 when absent or not a plain count (the upstream judges those). */
    public long choices() {
        return choices > 0 ? choices : 1;
    }

    /**
     * The {@code metadata} member's JSON as the client sent it ({@code job_id}, {@code stage}, ...),
     * or null when it has none: a copy of its bytes, without parsing the rest of the body.
     */
    public String metadataJson() {
        if (metadataStart < 0 || content == null) {
            return null;
        }
        String raw = content.toString(content.readerIndex() + metadataStart, metadataEnd - metadataStart,
                java.nio.charset.StandardCharsets.UTF_8);
        return "null".equals(raw) ? null : raw;
    }

    // ---- any member, parsed on demand ----------------------------------------------------------

    /**
     * The whole body as a tree, parsed with Jackson on first call. Treat it as read-only: change
     * what goes upstream with {@link #set} and {@link #remove}.
     *
     * @throws InvalidBodyException when the body is empty, not JSON, or not an object (answered 400)
     */
    public ObjectNode json() {
        if (tree == null) {
            tree = OpenAiJson.parseObject(content);
        }
        return tree;
    }

    /** A top-level member as the client sent it, or null when absent. */
    public JsonNode member(String name) {
        return json().get(name);
    }

    // ---- edits ---------------------------------------------------------------------------------

    /** Sets top-level member {@code name} to {@code value} in what goes upstream. */
    public RequestBody set(String name, JsonNode value) {
        return setRaw(name, OpenAiJson.bytes(value));
    }

    /** Sets top-level member {@code name} to the JSON text {@code json} (not checked: it must be one valid value). */
    public RequestBody setRaw(String name, String json) {
        return setRaw(name, json.getBytes(StandardCharsets.UTF_8));
    }

    private RequestBody setRaw(String name, byte[] json) {
        edits().put(name, json);
        return this;
    }

    /**
     * Removes top-level member {@code name} from what goes upstream (a member only the gateway
     * understands, such as {@code metadata}). {@code model} cannot be removed.
     */
    public RequestBody remove(String name) {
        if ("model".equals(name)) {
            throw new IllegalArgumentException("the model member cannot be removed");
        }
        edits().put(name, null);
        return this;
    }

    /** Whether {@link #set} or {@link #remove} was called. */
    public boolean edited() {
        return edits != null;
    }

    /** The edits so far, to come back to with {@link #restoreEdits}: the gateway undoes one attempt's edits before the next. */
    public Object editsSnapshot() {
        return edits == null ? null : new LinkedHashMap<>(edits);
    }

    /** Back to the edits of a {@link #editsSnapshot}. */
    @SuppressWarnings("unchecked")
    public void restoreEdits(Object snapshot) {
        edits = snapshot == null ? null : new LinkedHashMap<>((Map<String, byte[]>) snapshot);
    }

    private Map<String, byte[]> edits() {
        if (edits == null) {
            edits = new LinkedHashMap<>(4);
        }
        return edits;
    }

    /**
     * The body for the upstream (owned by the caller): the original bytes with the gateway-only
     * members removed and the edits applied, then {@code model} when it is not null and differs,
     * and {@code stream_options.include_usage: true} when {@code includeUsage} and the client did
     * not ask for it. Without any of these, a retained view of the original: no copy.
     */
    public ByteBuf render(ByteBufAllocator alloc, String model, boolean includeUsage) {
        boolean renames = model != null && !model.equals(this.model);
        boolean addsUsage = includeUsage && !this.includeUsage;
        if (!renames && !addsUsage && edits == null && gatewayOnlySpans.isEmpty()) {
            return content.retainedDuplicate();
        }
        if (edits == null && (!addsUsage || streamOptionsStart < 0)) {
            // the usual edits (a renamed model, the usage event asked for, gateway-only members out) from
            // the first pass's spans and constant bytes: no map, no Jackson. On a stream's first byte,
            // with caches cold between requests, Jackson's share was some 15 µs (bench/fresh-stream.sh)
            BodyEdits splices = new BodyEdits();
            for (int[] span : gatewayOnlySpans) {
                splices.remove(span[0], span[1]);
            }
            if (renames) {
                splices.replace(modelStart, modelEnd, OpenAiJson.quoted(model));
            }
            if (addsUsage) {
                splices.insert(objectEnd, STREAM_OPTIONS_WITH_USAGE);
            }
            return splices.apply(alloc, content);
        }
        Map<String, byte[]> all = edits == null ? new LinkedHashMap<>(4) : new LinkedHashMap<>(edits);
        if (renames) {
            all.put("model", OpenAiJson.quoted(model));
        }
        if (addsUsage) {
            all.put("stream_options", streamOptionsWithUsage());
        }
        return (spansKnownFor(all.keySet()) ? fastSplices(all) : MemberSpans.scan(content).splices(all))
                .apply(alloc, content);
    }

    /**
     * The body as it goes upstream, as a tree to read, not to change: the client's own tree when
     * nothing changes it (no edits, no gateway-only members), else {@link #renderJson}'s copy. A
     * provider that re-encodes the request in another API's shape reads it; the copy it saves was a
     * tenth of a translated request's cost.
     */
    public ObjectNode upstreamView() {
        return edits == null && gatewayOnlySpans.isEmpty() && !json().has("nemo_cache") && !json().has("tags")
                ? json() : renderJson(null, false);
    }

    /** The same body as {@link #render}, as a tree (a copy; for providers that re-encode the request in another API's shape). */
    public ObjectNode renderJson(String model, boolean includeUsage) {
        ObjectNode out = json().deepCopy();
        out.remove("nemo_cache");
        out.remove("tags");
        if (edits != null) {
            edits.forEach((name, value) -> {
                if (value == null) {
                    out.remove(name);
                } else {
                    out.set(name, OpenAiJson.tree(value));
                }
            });
        }
        if (model != null) {
            out.put("model", model);
        }
        if (includeUsage) {
            JsonNode options = out.get("stream_options");
            (options instanceof ObjectNode o ? o : out.putObject("stream_options")).put("include_usage", true);
        }
        return out;
    }

    /** Whether every member in {@code names} is one the first pass kept the span of (or is absent and goes at the end). */
    private boolean spansKnownFor(Iterable<String> names) {
        for (String name : names) {
            if (!name.equals("model") && !name.equals("stream_options")) {
                return false;
            }
        }
        return true;
    }

    /** Edits of {@code model} and {@code stream_options} from the spans the first pass kept. */
    private BodyEdits fastSplices(Map<String, byte[]> all) {
        BodyEdits splices = new BodyEdits();
        for (int[] span : gatewayOnlySpans) {
            splices.remove(span[0], span[1]);
        }
        byte[] model = all.get("model");
        if (model != null) {
            splices.replace(modelStart, modelEnd, model);
        }
        byte[] options = all.get("stream_options");
        if (options != null) {
            if (streamOptionsStart >= 0) {
                splices.replace(streamOptionsStart, streamOptionsEnd, options);
            } else {
                splices.insert(objectEnd, MemberSpans.member("stream_options", options, true));
            }
        }
        return splices;
    }

    /** {@code stream_options} with {@code include_usage: true}, keeping any other option the client set. */
    private byte[] streamOptionsWithUsage() {
        JsonNode options = null;
        if (streamOptionsStart >= 0) { // parse the member alone, not the whole body
            byte[] span = new byte[streamOptionsEnd - streamOptionsStart];
            content.getBytes(content.readerIndex() + streamOptionsStart, span);
            options = OpenAiJson.tree(span);
        }
        ObjectNode o = options instanceof ObjectNode given ? given.deepCopy() : OpenAiJson.MAPPER.createObjectNode();
        o.put("include_usage", true);
        return OpenAiJson.bytes(o);
    }

    // ---- the first pass --------------------------------------------------------------------------

    /** The members the gateway reads; names are compared as bytes, or decoded first when they hold escapes. */
    private enum Member { MODEL, STREAM, STREAM_OPTIONS, NEMO_CACHE, TAGS, MAX_TOKENS, MAX_COMPLETION_TOKENS, N, METADATA, OTHER }

    /**
     * Parses {@code body}; returns null on success or the error to answer with.
     * Positions are relative to {@code body.readerIndex()}.
     */
    OpenAiError parse(ByteBuf body) {
        content = body;
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
        } else {
            objectEnd = json.pos - 1;
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
        RemovalRuns runs = new RemovalRuns(gatewayOnlySpans);
        int commaBefore = -1;
        while (true) {
            json.toName();
            int nameStart = json.pos;
            Member member = member(json);
            json.toValue();
            runs.member(nameStart, commaBefore, member == Member.NEMO_CACHE || member == Member.TAGS);
            OpenAiError err = readValue(json, member);
            if (err != null) {
                return err;
            }
            int valueEnd = json.pos;
            if (!json.next('}')) {
                runs.end(valueEnd);
                objectEnd = json.pos - 1;
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
                : json.stringIs(MAX_TOKENS) ? Member.MAX_TOKENS
                : json.stringIs(MAX_COMPLETION_TOKENS) ? Member.MAX_COMPLETION_TOKENS
                : json.stringIs(N) ? Member.N
                : json.stringIs(METADATA) ? Member.METADATA
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
            case "max_tokens" -> Member.MAX_TOKENS;
            case "max_completion_tokens" -> Member.MAX_COMPLETION_TOKENS;
            case "n" -> Member.N;
            case "metadata" -> Member.METADATA;
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
                streamOptionsStart = json.pos;
                OpenAiError err = readStreamOptions(json);
                streamOptionsEnd = json.pos;
                return err;
            }
            case NEMO_CACHE -> {
                if (json.peek() == '{') {
                    return readCacheOptions(json);
                }
                int v = json.readLiteral();
                if (v == JsonCursor.NOT_A_LITERAL) {
                    json.checkSkipped(1);
                }
                if (v != JsonCursor.TRUE && v != JsonCursor.FALSE) {
                    return OpenAiError.badRequest("invalid_type", "nemo_cache",
                            "`nemo_cache` must be a boolean or an object such as {\"ttl\": 600}.");
                }
                cache = v == JsonCursor.TRUE;
            }
            case TAGS -> {
                return readTags(json);
            }
            case MAX_TOKENS -> maxTokens = readCountOrSkip(json);
            case MAX_COMPLETION_TOKENS -> maxCompletionTokens = readCountOrSkip(json);
            case N -> choices = readCountOrSkip(json);
            case METADATA -> {
                metadataStart = json.pos;
                json.skipValue(1);
                metadataEnd = json.pos;
            }
            default -> json.skipValue(1);
        }
        return null;
    }

    /** {@code nemo_cache: {"ttl": seconds}}: use the cache, and keep this answer at most that long. */
    private OpenAiError readCacheOptions(JsonCursor json) {
        cache = Boolean.TRUE;
        if (!json.enter('}')) {
            return null;
        }
        do {
            json.toName();
            String name = json.readString();
            json.toValue();
            if (!name.equals("ttl")) {
                json.skipValue(2);
                return OpenAiError.badRequest("invalid_value", "nemo_cache." + name,
                        "`nemo_cache` takes `ttl` (seconds) only; got `" + name + "`.");
            }
            long ttl = json.readCount();
            if (ttl <= 0) {
                if (ttl < 0) {
                    json.skipValue(2); // not a count: the cursor did not move (a count of 0 was read)
                }
                return OpenAiError.badRequest("invalid_value", "nemo_cache.ttl", "`nemo_cache.ttl` must be a whole number of seconds above 0.");
            }
            cacheTtlSeconds = ttl;
        } while (json.next('}'));
        return null;
    }

    /** A count, or -1 with the value skipped (validated) for the upstream to judge. */
    private static long readCountOrSkip(JsonCursor json) {
        long v = json.readCount();
        if (v < 0) {
            json.skipValue(1);
        }
        return v;
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
