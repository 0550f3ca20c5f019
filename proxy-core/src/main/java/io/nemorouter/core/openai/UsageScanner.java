package io.nemorouter.core.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteBufferFeeder;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Finds the {@code "usage"} object in an OpenAI-shaped response without parsing the rest:
 * OpenAI puts it last, so the search runs backwards from the end and only the small object
 * after the key is handed to Jackson.
 */
public final class UsageScanner {
    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] KEY = "\"usage\"".getBytes(StandardCharsets.US_ASCII);

    private UsageScanner() {
    }

    /** The usage in {@code body} (readable bytes), or null when there is none. */
    public static Usage scan(ByteBuf body) {
        int at = lastIndexOf(body, KEY);
        while (at >= 0) {
            Usage u = parseAfterKey(body, at + KEY.length);
            if (u != null) {
                return u;
            }
            at = lastIndexOf(body.slice(body.readerIndex(), at - body.readerIndex()), KEY);
            if (at >= 0) {
                at += body.readerIndex();
            }
        }
        return null;
    }

    /**
     * Where the member {@code ,"usage":null} is in a stream's chunk ({@code [start, end)}, absolute
     * indices, from its comma through {@code null}), or null when the chunk has no such member last
     * in it. OpenAI writes that member into every chunk of a stream that asked for the usage event.
     */
    public static int[] nullUsageMember(ByteBuf event) {
        int key = lastIndexOf(event, KEY);
        if (key < 0) {
            return null;
        }
        int i = key + KEY.length;
        int end = event.writerIndex();
        while (i < end && isSpace(event.getByte(i))) {
            i++;
        }
        if (i >= end || event.getByte(i) != ':') {
            return null;
        }
        i++;
        while (i < end && isSpace(event.getByte(i))) {
            i++;
        }
        if (i + 4 > end || event.getByte(i) != 'n' || event.getByte(i + 1) != 'u' || event.getByte(i + 2) != 'l'
                || event.getByte(i + 3) != 'l') {
            return null;
        }
        int comma = key - 1;
        while (comma >= event.readerIndex() && isSpace(event.getByte(comma))) {
            comma--;
        }
        if (comma < event.readerIndex() || event.getByte(comma) != ',') {
            return null;
        }
        return new int[]{comma, i + 4};
    }

    private static final byte[] CHOICES = "\"choices\"".getBytes(StandardCharsets.US_ASCII);

    /**
     * Whether a stream's event is the usage-only chunk ({@code "choices": []} with a usage object,
     * spaces allowed): the one the gateway asks for and drops for a client that did not, and a cache
     * leaves out of what it stores.
     */
    public static boolean isUsageOnly(ByteBuf event) {
        return hasEmptyChoices(event) && scan(event) != null;
    }

    /** Whether the event has {@code "choices": []} (spaces allowed). */
    public static boolean hasEmptyChoices(ByteBuf b) {
        int end = b.writerIndex();
        outer:
        for (int i = b.readerIndex(); i <= end - CHOICES.length; i++) {
            for (int k = 0; k < CHOICES.length; k++) {
                if (b.getByte(i + k) != CHOICES[k]) {
                    continue outer;
                }
            }
            int j = skipSpaces(b, i + CHOICES.length, end);
            if (j < end && b.getByte(j) == ':') {
                j = skipSpaces(b, j + 1, end);
                if (j < end && b.getByte(j) == '[') {
                    j = skipSpaces(b, j + 1, end);
                    return j < end && b.getByte(j) == ']';
                }
            }
        }
        return false;
    }

    private static int skipSpaces(ByteBuf b, int i, int end) {
        while (i < end && isSpace(b.getByte(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    /** Last index of {@code needle} in the readable bytes, or -1; one pass from the end, no per-byte bounds checks. */
    static int lastIndexOf(ByteBuf buf, byte[] needle) {
        int[] matched = {0};
        int at = buf.forEachByteDesc(b -> {
            int want = needle[needle.length - 1 - matched[0]];
            if (b == want) {
                return ++matched[0] < needle.length;
            }
            matched[0] = b == needle[needle.length - 1] ? 1 : 0;
            return true;
        });
        return at; // the index of the needle's first byte, where the match completed
    }

    private static Usage parseAfterKey(ByteBuf body, int from) {
        int i = from;
        int end = body.writerIndex();
        while (i < end && (body.getByte(i) == ' ' || body.getByte(i) == ':' || body.getByte(i) == '\n'
                || body.getByte(i) == '\r' || body.getByte(i) == '\t')) {
            i++;
        }
        if (i >= end || body.getByte(i) != '{') {
            return null; // "usage": null, as in streamed chunks before the last
        }
        int len = end - i;
        if (len <= FAST_LIMIT) {
            byte[] copy = new byte[len];
            body.getBytes(i, copy);
            Usage fast = FlatUsage.parse(copy);
            if (fast != FlatUsage.UNREADABLE) {
                return fast;
            }
        }
        return parseWithJackson(body, i, end);
    }

    /** Usage objects are a few hundred bytes at most; longer tails go to Jackson without a copy. */
    private static final int FAST_LIMIT = 1024;

    private static Usage parseWithJackson(ByteBuf body, int i, int end) {
        try (JsonParser p = JSON.createNonBlockingByteBufferParser()) {
            ByteBufferFeeder feeder = (ByteBufferFeeder) p.getNonBlockingInputFeeder();
            feeder.feedInput(body.nioBuffer(i, end - i));
            feeder.endOfInput();
            p.nextToken();
            long prompt = -1;
            long completion = 0;
            long total = -1;
            long cached = 0;
            long cacheWrite = 0;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (v == JsonToken.VALUE_NUMBER_INT) {
                    switch (name) {
                        case "prompt_tokens", "input_tokens" -> prompt = p.getLongValue();
                        case "completion_tokens", "output_tokens" -> completion = p.getLongValue();
                        case "total_tokens" -> total = p.getLongValue();
                        case "cache_creation_input_tokens" -> cacheWrite = p.getLongValue();
                        default -> { }
                    }
                } else if (v == JsonToken.START_OBJECT && ("prompt_tokens_details".equals(name) || "input_tokens_details".equals(name))) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String inner = p.currentName();
                        if (p.nextToken() == JsonToken.VALUE_NUMBER_INT && "cached_tokens".equals(inner)) {
                            cached = p.getLongValue();
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT || prompt < 0) {
                return null;
            }
            return new Usage(prompt, completion, total >= 0 ? total : prompt + completion, cached, false, cacheWrite);
        } catch (IOException e) {
            return null;
        }
    }
}
