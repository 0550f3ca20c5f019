package io.nemorouter.providers.translate;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.openai.OpenAiJson;
import io.netty.buffer.ByteBuf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Reading one whole server-sent event of a provider's stream. */
public final class Sse {
    private Sse() {
    }

    /**
     * The JSON of the event's {@code data:} line (an event with several joins them, as the format
     * says); null when it has none (a comment, a bare {@code event:} line) or its data is not JSON.
     */
    public static JsonNode data(ByteBuf event) {
        try (JsonParser p = dataParser(event)) {
            return p == null ? null : p.readValueAsTree();
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A streaming parser over the event's data (its one {@code data:} line, the usual event, read
     * in place; several joined); null when it has none. The caller closes it.
     */
    public static JsonParser dataParser(ByteBuf event) throws IOException {
        int end = event.writerIndex();
        int first = -1;
        int firstEnd = -1;
        StringBuilder joined = null;
        for (int at = event.readerIndex(); at < end; ) {
            int lineEnd = at;
            while (lineEnd < end && event.getByte(lineEnd) != '\n' && event.getByte(lineEnd) != '\r') {
                lineEnd++;
            }
            if (lineEnd - at >= 5 && event.getByte(at) == 'd' && event.getByte(at + 1) == 'a' && event.getByte(at + 2) == 't'
                    && event.getByte(at + 3) == 'a' && event.getByte(at + 4) == ':') {
                int v = at + 5 < lineEnd && event.getByte(at + 5) == ' ' ? at + 6 : at + 5;
                if (first < 0) {
                    first = v;
                    firstEnd = lineEnd;
                } else {
                    if (joined == null) {
                        joined = new StringBuilder(event.toString(first, firstEnd - first, StandardCharsets.UTF_8));
                    }
                    joined.append('\n').append(event.toString(v, lineEnd - v, StandardCharsets.UTF_8));
                }
            }
            at = lineEnd + 1;
        }
        if (first < 0) {
            return null;
        }
        var factory = OpenAiJson.MAPPER.getFactory(); // the gateway's limits, and the mapper as codec for trees
        if (joined != null) {
            return factory.createParser(joined.toString());
        }
        if (event.hasArray()) {
            return factory.createParser(event.array(), event.arrayOffset() + first, firstEnd - first);
        }
        byte[] bytes = new byte[firstEnd - first];
        event.getBytes(first, bytes);
        return factory.createParser(bytes);
    }
}
