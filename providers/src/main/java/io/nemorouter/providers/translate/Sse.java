package io.nemorouter.providers.translate;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Reading one whole server-sent event of a provider's stream. */
public final class Sse {
    private Sse() {
    }

    /**
     * The JSON of the event's {@code data:} line (an event with several joins them, as the format
     * says); null when it has none (a comment, a bare {@code event:} line) or its data is not JSON.
     */
    public static JsonNode data(ByteBuf event) {
        int from = event.readerIndex();
        int end = event.writerIndex();
        StringBuilder joined = null;
        int at = from;
        int first = -1;
        int firstEnd = -1;
        while (at < end) {
            int lineEnd = at;
            while (lineEnd < end && event.getByte(lineEnd) != '\n' && event.getByte(lineEnd) != '\r') {
                lineEnd++;
            }
            if (lineEnd - at >= 5 && event.getByte(at) == 'd' && event.getByte(at + 1) == 'a' && event.getByte(at + 2) == 't'
                    && event.getByte(at + 3) == 'a' && event.getByte(at + 4) == ':') {
                int v = at + 5;
                if (v < lineEnd && event.getByte(v) == ' ') {
                    v++;
                }
                if (first < 0) {
                    first = v;
                    firstEnd = lineEnd;
                } else {
                    if (joined == null) {
                        joined = new StringBuilder(event.toString(first, firstEnd - first, java.nio.charset.StandardCharsets.UTF_8));
                    }
                    joined.append('\n').append(event.toString(v, lineEnd - v, java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            at = lineEnd + 1;
        }
        if (first < 0) {
            return null;
        }
        try {
            if (joined != null) {
                return OpenAiJson.MAPPER.readTree(joined.toString());
            }
            if (event.hasArray()) {
                return OpenAiJson.MAPPER.readTree(event.array(), event.arrayOffset() + first, firstEnd - first);
            }
            byte[] bytes = new byte[firstEnd - first];
            event.getBytes(first, bytes);
            return OpenAiJson.MAPPER.readTree(bytes);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A streaming parser over the event's single {@code data:} line (the usual event), or over its
     * joined data lines; null when it has none. The caller closes it.
     */
    public static com.fasterxml.jackson.core.JsonParser dataParser(ByteBuf event) throws IOException {
        int from = event.readerIndex();
        int end = event.writerIndex();
        int at = from;
        int first = -1;
        int firstEnd = -1;
        boolean several = false;
        while (at < end) {
            int lineEnd = at;
            while (lineEnd < end && event.getByte(lineEnd) != '\n' && event.getByte(lineEnd) != '\r') {
                lineEnd++;
            }
            if (lineEnd - at >= 5 && event.getByte(at) == 'd' && event.getByte(at + 1) == 'a' && event.getByte(at + 2) == 't'
                    && event.getByte(at + 3) == 'a' && event.getByte(at + 4) == ':') {
                if (first >= 0) {
                    several = true;
                    break;
                }
                first = at + 5;
                if (first < lineEnd && event.getByte(first) == ' ') {
                    first++;
                }
                firstEnd = lineEnd;
            }
            at = lineEnd + 1;
        }
        if (first < 0) {
            return null;
        }
        var factory = OpenAiJson.MAPPER.getFactory();
        if (several) {
            JsonNode joined = data(event);
            return joined == null ? null : OpenAiJson.MAPPER.treeAsTokens(joined);
        }
        if (event.hasArray()) {
            return factory.createParser(event.array(), event.arrayOffset() + first, firstEnd - first);
        }
        byte[] bytes = new byte[firstEnd - first];
        event.getBytes(first, bytes);
        return factory.createParser(bytes);
    }
}
